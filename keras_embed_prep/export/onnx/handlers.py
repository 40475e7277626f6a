"""tf2onnx extensions: op handlers and graph rewrites for what tf2onnx gets wrong on these graphs."""

from __future__ import annotations

import numpy as np


def drop_subnormal_workaround(g, ops):
    """Replace ``blocks.floats.float32_to_float64`` by the plain cast it stands for.

    TensorFlow's CPU kernels flush float32 subnormals to zero, so the graph rebuilds
    them from their bits (``Bitcast``, ``BitwiseAnd``: ops ONNX does not have). onnxruntime
    casts subnormals exactly, so ``where(subnormal(bits(x)), rebuilt, cast(x))`` is
    ``cast(x)`` there. Matched on its structure: the ``else`` branch casts ``x`` to
    float64 and the condition reads ``Bitcast(x)``; anything else is left alone (and an
    unconverted ``Bitcast`` is then refused by name).
    """
    from onnx import TensorProto

    for node in ops:
        if node.type not in ("Select", "SelectV2") or len(node.input) != 3:
            continue
        cast = node.inputs[2]
        if cast is None or cast.type != "Cast" or g.get_dtype(cast.output[0]) != TensorProto.DOUBLE:
            continue
        source = _skip_identity(g, cast.input[0])
        if any(
            n.type == "Bitcast" and _skip_identity(g, n.input[0]) == source
            for n in _ancestors(node.inputs[0], depth=4)
        ):
            g.replace_all_inputs(node.output[0], cast.output[0], ops=ops)
    return ops


def exact_select(g, ops):
    """Make every ``Select`` an ONNX ``Where``.

    tf2onnx turns a float ``Select`` into ``cond * a + (1 - cond) * b`` unless it sees a
    NaN coming: wrong wherever the branch not taken is NaN or infinite (a missing value
    replaced, an overflow guarded), which here is by design.
    """
    for node in ops:
        if node.type in ("Select", "SelectV2"):
            node.set_attr("handles_nan", True)
    return ops


def _skip_identity(g, name: str) -> str:
    node = g.get_node_by_output(name)
    while node is not None and node.type == "Identity":
        name = node.input[0]
        node = g.get_node_by_output(name)
    return name


def _ancestors(node, depth: int):
    frontier, seen = [node], []
    for _ in range(depth):
        frontier = [p for n in frontier if n is not None for p in n.inputs if p is not None]
        seen.extend(frontier)
    return seen


def floor_mod(ctx, node, name, args):
    """TF ``FloorMod`` exactly: ``r = fmod(x, y)``, plus ``y`` where ``r`` and ``y`` differ in sign.

    That is TensorFlow's own formula for floats; tf2onnx's ``x - floor(x / y) * y``
    rounds differently (and differs from scikit-learn by up to ``y`` at the seams of
    a periodic spline). Integers take ONNX ``Mod``, which is floor-mod for them.
    """
    from onnx import TensorProto
    from tf2onnx import utils

    x, y = node.input
    outputs, shape, dtype = node.output, ctx.get_shape(node.output[0]), ctx.get_dtype(node.output[0])
    ctx.remove_node(node.name)
    if dtype not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
        ctx.make_node("Mod", [x, y], attr={"fmod": 0}, outputs=outputs, name=name, shapes=[shape])
        return

    def op(kind, inputs, **attr):
        return ctx.make_node(kind, inputs, attr=attr, name=utils.make_name(f"{name}_{kind}")).output[0]

    zero = ctx.make_const(utils.make_name(f"{name}_zero"), np.zeros((), utils.map_onnx_to_numpy_type(dtype)))
    rest = op("Mod", [x, y], fmod=1)
    signs_differ = op("Xor", [op("Less", [rest, zero.output[0]]), op("Less", [y, zero.output[0]])])
    shift = op("And", [op("Not", [op("Equal", [rest, zero.output[0]])]), signs_differ])
    ctx.make_node("Where", [shift, op("Add", [rest, y]), rest], outputs=outputs, name=name, shapes=[shape])


def string_equality(g, ops):
    """``Equal`` / ``NotEqual`` of a text tensor with one constant string, as a table lookup.

    ONNX compares strings from opset 19 only, and tf2onnx (opset 18 at most) casts text
    to integers instead, which fails at run time. A ``CategoryMapper`` over the one
    string is the same test, exactly. Other text comparisons are left for tf2onnx.
    """
    from onnx import TensorProto
    from tf2onnx import constants, utils

    for node in list(ops):
        if node.type not in ("Equal", "NotEqual") or g.get_dtype(node.input[0]) != TensorProto.STRING:
            continue
        constant = [i for i, n in enumerate(node.inputs) if n is not None and n.is_const()]
        if len(constant) != 1:
            continue
        value = node.inputs[constant[0]].get_tensor_value(as_list=False)
        if np.size(value) != 1:
            continue
        text = np.asarray(value).ravel()[0]
        text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        hit, miss = (1, 0) if node.type == "Equal" else (0, 1)
        found = g.make_node(
            "CategoryMapper",
            [node.input[1 - constant[0]]],
            attr={"cats_strings": [text], "cats_int64s": [hit], "default_int64": miss},
            domain=constants.AI_ONNX_ML_DOMAIN,
            name=utils.make_name(f"{node.name}_lookup"),
        )
        outputs, shape = node.output, g.get_shape(node.output[0])
        g.remove_node(node.name)
        g.make_node(
            "Cast",
            [found.output[0]],
            attr={"to": TensorProto.BOOL},
            outputs=outputs,
            shapes=[shape],
            dtypes=[TensorProto.BOOL],
            name=utils.make_name(f"{node.name}_equal"),
        )
    return ops


def search_sorted(ctx, node, name, args):
    """TF ``LowerBound`` / ``UpperBound`` (``searchsorted``) in standard ONNX ops.

    ``out[r, j]`` counts the entries of row ``r`` of the sorted sequence that are ``<``
    (lower) or ``<=`` (upper) ``values[r, j]``; NaN counts none, as in TensorFlow. A
    constant 1-D sequence (what ``keras.ops.searchsorted`` makes) of integers searched by
    integers, over a key range of at most ``_DIRECT_LIMIT``, becomes one ``Gather`` in the
    precomputed counts (``_direct_counts``; the category lookups' flat index). Other constant
    1-D sequences become a branchless binary search: ``ceil(log2(n + 1))`` rounds of
    gather-and-compare over the values, exact, and linear in the number of values. Any
    other sequence is compared with every value at once (``rows * m * n`` booleans).
    """
    from onnx import TensorProto
    from tf2onnx import utils
    from tf2onnx.graph_builder import GraphBuilder

    compare_op = "Less" if node.type == "LowerBound" else "LessOrEqual"
    sequence, values = node.inputs[0], node.input[1]
    outputs, out_dtype = node.output, ctx.get_dtype(node.output[0])
    shape = ctx.get_shape(node.output[0])
    table = sequence.get_tensor_value(as_list=False) if sequence.is_const() else None
    ctx.remove_node(node.name)

    def const(value):
        return ctx.make_const(utils.make_name(f"{name}_c"), np.asarray(value)).output[0]

    def op(kind, inputs, **attr):
        return ctx.make_node(kind, inputs, attr=attr, name=utils.make_name(f"{name}_{kind}")).output[0]

    if table is not None and table.ndim == 2 and table.shape[0] == 1 and table.shape[1] > 0:
        n = int(table.shape[1])
    else:
        n = 0
    kind = _INTEGERS.get(ctx.get_dtype(values))
    direct = _direct_counts(table[0], compare_op, kind) if n and kind is not None else None
    if direct is not None:
        # Integer values over a constant integer sequence: one lookup in the counts of every
        # value in [first - 1, last + 1], values outside clipped to its ends (which count 0 and n).
        low, counts = direct
        clipped = op("Clip", [values, const(kind(low)), const(kind(low + counts.size - 1))])
        count = op("Gather", [const(counts), op("Sub", [clipped, const(kind(low))])])
    elif n:
        entries, limit = const(table[0]), const(np.int64(n))
        position = const(np.int64(0))
        for step in (1 << k for k in reversed(range(n.bit_length()))):
            candidate = op("Add", [position, const(np.int64(step))])
            index = op("Sub", [op("Min", [candidate, limit]), const(np.int64(1))])
            hit = op(compare_op, [op("Gather", [entries, index]), values])
            inside = op("LessOrEqual", [candidate, limit])
            position = op("Where", [op("And", [hit, inside]), candidate, position])
        count = position
    else:
        builder = GraphBuilder(ctx)
        rows = builder.make_unsqueeze({"data": sequence.output[0], "axes": [1]})
        cells = builder.make_unsqueeze({"data": values, "axes": [2]})
        hits = op("Cast", [op(compare_op, [rows, cells])], to=TensorProto.INT64)
        count = builder.make_reduce_sum({"data": hits, "axes": [2], "keepdims": 0, "noop_with_empty_axes": 1})
    ctx.make_node("Cast", [count], attr={"to": out_dtype}, outputs=outputs, name=name, shapes=[shape])


#: Integer ONNX types a search can read through a table of counts.
_INTEGERS = {6: np.int32, 7: np.int64}  # TensorProto.INT32, TensorProto.INT64
#: Most entries in such a table (int32: 4 MiB); a longer key range keeps the binary search.
_DIRECT_LIMIT = 1 << 20


def _direct_counts(sequence: np.ndarray, compare_op: str, kind):
    """``(first, counts)`` with ``counts[i]`` the searchsorted count of ``first + i``, or None.

    For integer keys ``k`` and an integer value ``v``, ``searchsorted(k, v)`` is a step
    function of ``v`` that is 0 below ``k[0]`` and ``n`` above ``k[-1]``: a table of its
    values over ``[k[0] - 1, k[-1] + 1]`` read at ``clip(v, k[0] - 1, k[-1] + 1)`` is exact, and
    one ``Gather`` instead of ``ceil(log2(n + 1))`` rounds of seven ops.
    """
    if sequence.dtype.kind not in "iu" or sequence.size == 0:
        return None
    first, last = int(sequence[0]), int(sequence[-1])
    if last - first + 3 > _DIRECT_LIMIT or first <= np.iinfo(kind).min or last >= np.iinfo(kind).max:
        return None
    side = "left" if compare_op == "Less" else "right"
    counts = np.searchsorted(sequence, np.arange(first - 1, last + 2, dtype=np.int64), side=side)
    return first - 1, counts.astype(np.int32 if sequence.size < 2**31 else np.int64)


#: tf2onnx ``custom_op_handlers``: TensorFlow ops that tf2onnx translates wrongly or not at all.
OP_HANDLERS = {
    "LowerBound": (search_sorted, []),
    "UpperBound": (search_sorted, []),
    "FloorMod": (floor_mod, []),
}
#: tf2onnx ``custom_rewriter``: graph rewrites, applied in this order.
REWRITERS = [drop_subnormal_workaround, string_equality, exact_select]
