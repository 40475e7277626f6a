"""``export(model, path, format="onnx")``: the ONNX conversion, its repairs and its checks.

tf2onnx is driven through its own API with repairs for what it gets wrong on these
graphs (searchsorted, ``where`` on floats, text compared with the missing-value
sentinel, ``FloorMod``, the subnormal-safe cast, and the inference-time checks it
silently drops); the result is run with onnxruntime and compared with the Keras model
before anything is written. See docs/serving.md for what converts.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import re
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .columns import MISSING
from .errors import ExportError, InputError, MissingDependencyError
from .export import _serving, signature_keys
from .inputs import to_inputs
from .verify import ParityReport, compare

#: ONNX opset of ``format="onnx"`` (the highest tf2onnx 1.17 writes is 18).
ONNX_OPSET = 17
#: TensorFlow ops that make inference fail on purpose (see ``checks.fail_if_any``).
_CHECK_OPS = {"Assert", "CheckNumerics", "CheckNumericsV2"}


def _import_optional(name: str):
    """Import an optional dependency (a seam for tests that simulate its absence)."""
    return importlib.import_module(name)


def _onnx_tools():
    """``(onnx, onnxruntime)`` once tf2onnx imports too, or MissingDependencyError: what to install."""
    modules = []
    for name in ("tf2onnx", "onnx", "onnxruntime"):
        try:
            modules.append(_import_optional(name))
        except ImportError as exc:
            raise MissingDependencyError(
                f"export(format='onnx') needs tf2onnx, onnx and onnxruntime; importing {name!r} failed "
                f"({exc}). Install them with: pip install keras-embed-prep[onnx]"
            ) from exc
    return modules[1], modules[2]


def export_onnx(model, path: Path, *, sample, rtol: float, atol: float) -> ParityReport:
    onnx, ort = _onnx_tools()
    specs, serve = _serving(model)
    concrete = tf.function(serve, input_signature=[specs]).get_concrete_function()
    # The Keras side first: tf2onnx's freezing leaves the traced function unusable.
    rows = _numpy_inputs(model, _probe_inputs(model) if sample is None else _sample_inputs(sample, model))
    accepted, rejected = _split_rows(concrete, rows)
    if _check_reasons(model) and sample is not None:  # also trip the checks with probe rows
        rejected = _concat_rows([rejected, _split_rows(concrete, _probe_inputs(model))[1]])
    if not _size(accepted):
        raise ExportError(
            f"The Keras model {model.name!r} fails on every {'sample' if sample is not None else 'probe'} "
            "row (its inference-time checks reject them), so the ONNX file cannot be checked. Nothing was "
            "written; pass sample= rows that the model accepts."
        )
    expected = _eager_outputs(model, accepted)

    proto, log, checks = _tf2onnx_convert(model, concrete)
    _refuse_unconverted(onnx, proto, log)
    try:
        onnx.checker.check_model(proto)
        options = ort.SessionOptions()
        options.log_severity_level = 4  # the rows that must fail would log each failure as an error
        session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # any rejection of the graph, reported with what tf2onnx logged
        raise ExportError(
            f"The ONNX graph of {model.name!r} converted but onnx or onnxruntime rejects it "
            f"({type(exc).__name__}: {_first_line(exc)}). Nothing was written.{_log_tail(log)}"
        ) from exc
    report = _onnx_parity(model, session, accepted, expected, rtol=rtol, atol=atol)
    _check_rejections(model, session, _take(rejected, np.arange(min(_size(rejected), 8))), checks)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(proto.SerializeToString())
    return report


def _check_reasons(model) -> dict[str, str]:
    """Layer name -> reason, for each lookup built to fail (``num_oov_indices=0``, not inverted)."""
    found = {}
    layers = {layer.name: layer for layer in _walk_layers(model)}
    for layer in layers.values():
        if (
            isinstance(layer, (keras.layers.StringLookup, keras.layers.IntegerLookup))
            and layer.num_oov_indices == 0
            and not layer.invert
        ):
            partner = layers.get(f"{layer.name}_reason")  # checks.fail_if_any's reason table
            reasons = [str(r) for r in partner.get_vocabulary()[1:]] if partner is not None else []
            found[layer.name] = "; ".join(dict.fromkeys(reasons)) or layer.name
    return found


def _walk_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if isinstance(layer, keras.Model):
            yield from _walk_layers(layer)


def _gate_checks(graph_def, reasons: dict[str, str]) -> list[str]:
    """Make each ``tf.Assert`` fail in onnxruntime too; return the checks kept.

    An inference-time check (``checks.fail_if_any``) is an ``Assert`` that guards an
    ``Identity`` through a control dependency, and tf2onnx drops control dependencies: the
    exported model would answer where scikit-learn raises. So the guarded tensor ``t``
    becomes ``Reshape(t, Shape(t) * (1 + failed))``: unchanged while the check holds, an
    impossible reshape for any non-empty batch when it fails, which every onnxruntime
    execution provider rejects with an error naming the node. The node is named after the
    check's reason. Any other check op, or an ``Assert`` of another shape, is refused by name.
    """
    from tensorflow.core.framework import attr_value_pb2, types_pb2

    def attr(**kwargs):
        return attr_value_pb2.AttrValue(**kwargs)

    int64 = attr(type=types_pb2.DT_INT64)
    nodes = list(graph_def.node)
    refused = [n.name for n in nodes if n.op in _CHECK_OPS - {"Assert"}]
    kept = []
    for check in (n for n in nodes if n.op == "Assert"):
        after = [n for n in nodes if f"^{check.name}" in n.input]
        for n in after:  # other checks and no-ops only wait for it: the order does not matter
            if n.op in _CHECK_OPS | {"NoOp"}:
                n.input.remove(f"^{check.name}")
        guarded = [n for n in after if n.op not in _CHECK_OPS | {"NoOp"}]
        if not guarded or any(n.op != "Identity" or "T" not in n.attr for n in guarded):
            refused.append(check.name)
            continue
        scope = check.name.split("/Assert")[0]
        reason = next(
            (text for name, text in reasons.items() if re.search(rf"(^|/){re.escape(name)}(_\d+)?$", scope)),
            scope,
        )
        label = re.sub(r"[^A-Za-z0-9_.\-]+", "_", reason).strip("_")[:200]
        for k, node in enumerate(guarded):
            node.input.remove(f"^{check.name}")
            base, dtype = f"{scope}/gate_{k}", attr(type=node.attr["T"].type)
            added = [
                ("failed", "LogicalNot", [check.input[0]], {}),
                ("flag", "Cast", [f"{base}/failed"], {"SrcT": attr(type=types_pb2.DT_BOOL), "DstT": int64}),
                (
                    "one",
                    "Const",
                    [],
                    {"dtype": int64, "value": attr(tensor=tf.make_tensor_proto(1, tf.int64))},
                ),
                ("factor", "AddV2", [f"{base}/flag", f"{base}/one"], {"T": int64}),
                ("shape", "Shape", [node.name], {"T": dtype, "out_type": int64}),
                ("impossible_if_failed", "Mul", [f"{base}/shape", f"{base}/factor"], {"T": int64}),
            ]
            gate = f"{base}/check_failed_{label}"
            for consumer in graph_def.node:  # read the gated tensor, not the raw one
                consumer.input[:] = [
                    gate if i in (node.name, f"{node.name}:0") else i for i in consumer.input
                ]
            for suffix, op, inputs, attrs in added:
                _add_node(graph_def, f"{base}/{suffix}", op, inputs, attrs)
            _add_node(
                graph_def,
                gate,
                "Reshape",
                [node.name, f"{base}/impossible_if_failed"],
                {"T": dtype, "Tshape": int64},
            )
        graph_def.node.remove(check)
        kept.append(reason)
    if refused:
        raise ExportError(
            f"export(format='onnx') cannot keep {len(refused)} inference-time check(s) of this model "
            f"({', '.join(refused[:6])}): ONNX has no op that fails on purpose, and these are not of the "
            "form it can translate, so the exported model would answer where the Keras model fails. "
            "Nothing was written; export(format='saved_model') keeps them."
        )
    return kept


def _add_node(graph_def, name: str, op: str, inputs, attrs) -> None:
    node = graph_def.node.add()
    node.name, node.op = name, op
    node.input.extend(inputs)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)


class _Log(logging.Handler):
    """Collects tf2onnx's log records of level WARNING and above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage().splitlines()[0][:300])


def _tf2onnx_convert(model, concrete):
    """The ONNX proto of ``concrete`` and tf2onnx's warnings and errors.

    tf2onnx's public ``from_function`` cannot convert these graphs: it loses the lookup
    tables, and its fallback shape inference crashes on a lookup output whose shape
    TensorFlow leaves unknown. So this is ``from_keras`` by hand: freeze with the tables
    (``tf_loader.from_trackable``), give each lookup output its keys' shape, convert with
    the handlers below, optimize.
    """
    internal = {id(t) for t in concrete.graph.internal_captures}
    input_names = [t.name for t in concrete.inputs if id(t) not in internal]
    output_names = [t.name for t in concrete.outputs]
    log = _Log()
    logger, tf_logger = logging.getLogger("tf2onnx"), tf.get_logger()
    logger.addHandler(log)
    levels = logger.level, tf_logger.level
    logger.setLevel(logging.WARNING)
    tf_logger.setLevel(logging.ERROR)  # "Issue encountered when serializing table_initializer"
    try:
        from tf2onnx import optimizer, tf_loader, tfonnx
        from tf2onnx.convert import tensor_names_from_structed

        renames = tensor_names_from_structed(concrete, input_names, output_names)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            frozen, tables = tf_loader.from_trackable(model, concrete, input_names, output_names, False)
            checks = _gate_checks(frozen, _check_reasons(model))
            present = {n.name for n in frozen.node}
            shapes = {
                op.outputs[0].name: op.inputs[1].shape.as_list()
                for op in concrete.graph.get_operations()
                if op.type == "LookupTableFindV2" and op.name in present and op.inputs[1].shape.rank
            }
            with tf.Graph().as_default() as graph:
                tf.graph_util.import_graph_def(frozen, name="")
                g = tfonnx.process_tf_graph(
                    graph,
                    continue_on_error=True,
                    opset=ONNX_OPSET,
                    input_names=input_names,
                    output_names=output_names,
                    shape_override=shapes,
                    initialized_tables=tables,
                    tensors_to_rename=renames,
                    custom_op_handlers={
                        "LowerBound": (_search_sorted, []),
                        "UpperBound": (_search_sorted, []),
                        "FloorMod": (_floor_mod, []),
                    },
                    custom_rewriter=[_drop_subnormal_workaround, _string_equality, _exact_select],
                )
                g = optimizer.optimize_graph(g, catch_errors=True)
                proto = g.make_model(f"{model.name}, exported by keras_embed_prep")
    except ExportError:
        raise
    except Exception as exc:  # tf2onnx failed outright: report it with what it logged
        raise ExportError(
            f"tf2onnx could not convert {model.name!r} ({type(exc).__name__}: {_first_line(exc)}). "
            f"Nothing was written; export(format='saved_model') keeps every op.{_log_tail(log.lines)}"
        ) from exc
    finally:
        logger.removeHandler(log)
        logger.setLevel(levels[0])
        tf_logger.setLevel(levels[1])
    return proto, log.lines, checks


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [""])[0][:400]


def _log_tail(lines: list[str]) -> str:
    errors = [line for line in lines if line]
    return "" if not errors else " tf2onnx reported: " + " | ".join(errors[-5:])


def _refuse_unconverted(onnx, proto, log: list[str]) -> None:
    """Raise, naming them, if nodes are left that no ONNX domain defines (TensorFlow ops)."""
    left = [n for n in proto.graph.node if not onnx.defs.has(n.op_type, n.domain)]
    if not left:
        return
    counts = Counter(n.op_type for n in left)
    where = sorted({n.name.rsplit("/", 1)[0] for n in left})
    raise ExportError(
        f"export(format='onnx'): {sum(counts.values())} TensorFlow op(s) have no ONNX translation: "
        + ", ".join(f"{op} (x{k})" for op, k in sorted(counts.items()))
        + f". They come from {', '.join(where[:6])}{' ...' if len(where) > 6 else ''}. Nothing was "
        "written; export(format='saved_model') keeps every op (docs/serving.md lists what converts)."
        + _log_tail([line for line in log if "not supported" not in line])
    )


# --- tf2onnx extensions ------------------------------------------------------------------------


def _drop_subnormal_workaround(g, ops):
    """Replace ``floats.float32_to_float64`` by the plain cast it stands for.

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


def _exact_select(g, ops):
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


def _floor_mod(ctx, node, name, args):
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


def _string_equality(g, ops):
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


def _search_sorted(ctx, node, name, args):
    """TF ``LowerBound`` / ``UpperBound`` (``searchsorted``) in standard ONNX ops.

    ``out[r, j]`` counts the entries of row ``r`` of the sorted sequence that are ``<``
    (lower) or ``<=`` (upper) ``values[r, j]``; NaN counts none, as in TensorFlow. A
    constant 1-D sequence (what ``keras.ops.searchsorted`` makes) becomes a branchless
    binary search: ``ceil(log2(n + 1))`` rounds of gather-and-compare over the values,
    exact, and linear in the number of values. Any other sequence is compared with
    every value at once (``rows * m * n`` booleans).
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


# --- probes and parity --------------------------------------------------------------------------


def _sample_inputs(sample, model):
    if isinstance(sample, dict):
        missing = [t.name for t in model.inputs if t.name not in sample]
        if missing:
            raise InputError(
                f"The sample for {model.name!r} lacks inputs {missing}. Pass raw rows (a DataFrame or "
                "array, converted with to_inputs) or the dict that to_inputs returns."
            )
        return {t.name: sample[t.name] for t in model.inputs}
    if isinstance(sample, tf.Tensor):  # a text array as to_inputs returns it
        return {model.inputs[0].name: sample}
    return to_inputs(sample, model)


def _numpy_inputs(model, inputs) -> dict[str, np.ndarray]:
    """Inputs by model input name as numpy: float32 numbers, text as an object array of str."""
    if not isinstance(inputs, dict):
        inputs = {model.inputs[0].name: inputs}
    out = {}
    for tensor in model.inputs:
        value = _as_numpy(inputs[tensor.name])
        out[tensor.name] = value if tensor.dtype == "string" else value.astype(np.float32)
    return out


#: Numeric probe values: edges of float32 and of the preprocessing (NaN, subnormal, -0.0, ...).
_PROBE_NUMBERS = np.array(
    [0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 10.0, -100.0, 1e3, 1e-3, 1e6 + 0.5, -1e6, 1e-40, -0.0, np.nan, 7.0],
    dtype=np.float32,
)


def _vocabulary(model) -> list[str]:
    words = set()
    for layer in _walk_layers(model):
        if isinstance(layer, keras.layers.StringLookup) and not layer.invert and layer.num_oov_indices:
            words.update(str(w) for w in layer.get_vocabulary(include_special_tokens=False))
    return sorted(words)


def _probe_inputs(model, max_rows: int = 4096) -> dict[str, np.ndarray]:
    """Probe rows for every input, by model input name.

    The first 16 rows hold the edge values (:data:`_PROBE_NUMBERS`; for text the
    missing-value sentinel, an unseen value and ""), shifted from column to column; the
    other rows are ordinary: small integers (integer-coded categories) and normal draws
    of magnitudes 1e-3 to 1e3, and for text every category of the model's
    ``StringLookup`` vocabularies in turn (up to ``max_rows`` rows).
    """
    rng = np.random.default_rng(0)
    words = _vocabulary(model) or ["a"]
    special = [MISSING, "__never_seen_at_fit__", ""]
    edge = len(_PROBE_NUMBERS)
    rows = int(min(max(64, edge + len(words)), max_rows))
    feeds = {}
    for position, tensor in enumerate(model.inputs):
        width = int(tensor.shape[-1]) if len(tensor.shape) == 2 else 1
        columns = []
        for j in range(width):
            offset = 7 * position + 3 * j
            if tensor.dtype == "string":
                order = rng.permutation(len(words))
                values = np.array(
                    [words[order[(i + offset) % len(words)]] for i in range(rows)], dtype=object
                )
                for k, text in enumerate(special):
                    values[(offset + 5 * k) % edge] = text
            else:
                values = np.where(
                    rng.random(rows) < 0.5,
                    rng.integers(-3, 10, size=rows),
                    rng.normal(size=rows) * 10.0 ** rng.integers(-3, 4, size=rows),
                )
                values[:edge] = np.roll(_PROBE_NUMBERS, offset)
                values = values.astype(np.float32)
            columns.append(values)
        block = np.stack(columns, axis=1)
        feeds[tensor.name] = block if len(tensor.shape) == 2 else block[:, 0]
    return feeds


def _as_numpy(value) -> np.ndarray:
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    if array.dtype.kind in "OSU":
        flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(array.shape)
    return array


def _size(rows: dict[str, np.ndarray]) -> int:
    return len(next(iter(rows.values())))


def _take(rows: dict[str, np.ndarray], index) -> dict[str, np.ndarray]:
    return {k: v[np.asarray(index, dtype=np.int64)] for k, v in rows.items()}


def _concat_rows(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _keras_outputs(concrete, rows) -> dict[str, np.ndarray]:
    outputs = concrete({k: tf.constant(v) for k, v in rows.items()})
    return {k: _as_numpy(v) for k, v in outputs.items()}


def _eager_outputs(model, rows) -> dict[str, np.ndarray]:
    """The Keras model called eagerly: the reference.

    Not the traced function, whose fused kernels can differ on NaN (TensorFlow's fused
    ``MatMul + BiasAdd + Relu`` turns a NaN into 0; eager Keras and onnxruntime keep it).
    """
    tensors = {k: tf.constant(v) for k, v in rows.items()}
    single = len(model.inputs) == 1 and len(model.inputs[0].shape) == 2
    outputs = model(tensors[model.inputs[0].name] if single else tensors)
    if isinstance(outputs, dict):
        return {k: _as_numpy(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {f"output_{i}": _as_numpy(v) for i, v in enumerate(outputs)}
    return {"output_0": _as_numpy(outputs)}


def _split_rows(concrete, rows, budget: int = 256):
    """``(accepted, rejected)``: the rows the Keras model answers and those its checks reject.

    One call for all rows; if a check fails, halves are tried in turn down to single rows
    (at most ``budget`` calls; rows not settled by then are left out of both).
    """
    accepted, rejected, pending, calls = [], [], [np.arange(_size(rows))], 0
    while pending and calls < budget:
        index = pending.pop()
        calls += 1
        try:
            _keras_outputs(concrete, _take(rows, index))
        except tf.errors.InvalidArgumentError:
            if len(index) == 1:
                rejected.extend(index)
            else:
                pending += [index[len(index) // 2 :], index[: len(index) // 2]]
            continue
        accepted.extend(index)
    return _take(rows, sorted(accepted)), _take(rows, sorted(rejected))


def _ort_feed(model, rows) -> dict[str, np.ndarray]:
    keys = signature_keys(model)
    return {keys[name]: value for name, value in rows.items()}


def _check_rejections(model, session, rejected, checks: list[str]) -> None:
    """Each row that the Keras model's checks reject must make onnxruntime fail too."""
    for i in range(_size(rejected)):
        row = _take(rejected, [i])
        try:
            session.run(None, _ort_feed(model, row))
        except Exception:  # the failure is the expected outcome
            continue
        raise ExportError(
            f"The Keras model {model.name!r} fails on a row where the ONNX file answers: an inference-time "
            f"check ({'; '.join(checks) or 'unknown'}) did not survive the conversion. Row: "
            f"{str({k: v.tolist() for k, v in row.items()})[:300]}. Nothing was written; "
            "export(format='saved_model') keeps the checks."
        )


def _onnx_parity(model, session, rows, expected, *, rtol: float, atol: float) -> ParityReport:
    """onnxruntime on ``rows`` against the Keras model's ``expected`` outputs.

    Raises ExportError naming the worst output column if they differ.
    """
    names = [o.name for o in session.get_outputs()]
    try:
        got = dict(zip(names, session.run(None, _ort_feed(model, rows)), strict=True))
    except Exception as exc:  # onnxruntime refused rows the Keras model accepts
        raise ExportError(
            f"onnxruntime failed on rows that the Keras model {model.name!r} accepts "
            f"({type(exc).__name__}: {_first_line(exc)}). Nothing was written."
        ) from exc
    if sorted(got) != sorted(expected):
        raise ExportError(
            f"The ONNX graph of {model.name!r} has outputs {sorted(got)}, the model {sorted(expected)}. "
            "Nothing was written."
        )
    reports = []
    for key, ref in expected.items():
        ours = _as_numpy(got[key]).reshape(ref.shape)
        if ref.dtype == object:
            differ = int((ours.astype(str) != ref.astype(str)).sum())
            if differ:
                raise ExportError(
                    f"The ONNX export of {model.name!r} differs from the Keras model in output {key!r}: "
                    f"{differ} of {ref.size} labels differ. Nothing was written."
                )
            continue
        columns = [f"{key}[{j}]" for j in range(1 if ref.ndim == 1 else int(np.prod(ref.shape[1:])))]
        flat = (ref.reshape(len(ref), -1), ours.reshape(len(ours), -1)) if ref.ndim > 1 else (ref, ours)
        reports.append(compare(flat[1], flat[0], rtol=rtol, atol=atol, columns=columns))
    report = (
        _joined(reports) if reports else compare(np.zeros((0, 1)), np.zeros((0, 1)), rtol=rtol, atol=atol)
    )
    if not report.passed:
        bad = report.violations + report.nan_mismatches
        worst = int(
            np.argmax(np.where(bad > 0, np.inf, report.max_abs_error) if bad.any() else report.max_abs_error)
        )
        raise ExportError(
            f"The ONNX export of {model.name!r} differs from the Keras model on {report.rows} probe rows: "
            f"worst column {report.columns[worst]}, max abs error {report.max_abs_error[worst]:.3g}, "
            f"max rel error {report.max_rel_error[worst]:.3g}, {int(report.violations[worst])} value(s) over "
            f"|d| <= {atol:g} + {rtol:g}*|ref| and {int(report.nan_mismatches[worst])} NaN mismatch(es). "
            f"Nothing was written.\n{report}"
        )
    return report


def _joined(reports: list[ParityReport]) -> ParityReport:
    """One report over the columns of several outputs (same rows)."""
    return ParityReport(
        rows=reports[0].rows,
        max_abs_error=np.concatenate([r.max_abs_error for r in reports]),
        max_rel_error=np.concatenate([r.max_rel_error for r in reports]),
        nan_mismatches=np.concatenate([r.nan_mismatches for r in reports]),
        violations=np.concatenate([r.violations for r in reports]),
        rtol=reports[0].rtol,
        atol=reports[0].atol,
        columns=[c for r in reports for c in r.columns],
    )
