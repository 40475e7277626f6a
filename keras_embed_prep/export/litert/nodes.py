"""TensorFlow ops that LiteRT has no built-in kernel for, rewritten in ones it has.

Only exact rewrites live here; an op left over is refused by name when the graph converts
(``driver``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_INT32 = tf.int32.as_datatype_enum


def rewrite(graph_def) -> None:
    """Rewrite, in place, every op of :data:`REWRITES` that the graph holds."""
    for node in list(graph_def.node):
        handler = REWRITES.get(node.op)
        if handler is not None:
            handler(graph_def, node)


def _dense_bincount(graph_def, node) -> None:
    """``DenseBincount`` of ``(batch, n)`` indices (a one-hot of bins) as ``OneHot`` then ``Max``/``Sum``.

    ``bincount(x, size, binary_output=True)[b, v]`` is 1 where some ``x[b, j] == v``: the
    maximum over ``j`` of ``one_hot(x[b, j], size)``; without ``binary_output``, the sum (the
    count). Weighted counts are left alone (and refused as an unsupported op).
    """
    weights = graph_def_node(graph_def, node.input[2])
    if weights is None or weights.op != "Const" or tf.make_ndarray(weights.attr["value"].tensor).size:
        return
    dtype = node.attr["T"].type
    base = node.name
    _const(graph_def, f"{base}/on", np.ones((), tf.dtypes.as_dtype(dtype).as_numpy_dtype))
    _const(graph_def, f"{base}/off", np.zeros((), tf.dtypes.as_dtype(dtype).as_numpy_dtype))
    _const(graph_def, f"{base}/axis", np.array(1, dtype=np.int32))
    hot = graph_def.node.add()
    hot.name, hot.op = f"{base}/one_hot", "OneHot"
    hot.input.extend([node.input[0], node.input[1], f"{base}/on", f"{base}/off"])
    hot.attr["T"].type = dtype
    hot.attr["TI"].type = node.attr["Tidx"].type
    hot.attr["axis"].i = -1
    _reduce(node, "Max" if node.attr["binary_output"].b else "Sum", hot.name, f"{base}/axis", dtype)


def _reduce(node, op: str, source: str, axis: str, dtype) -> None:
    """Make ``node`` the reduction ``op`` (``Max``, ``Sum``) of ``source`` over ``axis``, axis dropped."""
    node.op = op
    del node.input[:]
    node.input.extend([source, axis])
    node.attr.clear()
    node.attr["T"].type = dtype
    node.attr["Tidx"].type = _INT32
    node.attr["keep_dims"].b = False


def _bias_add(graph_def, node) -> None:
    """``BiasAdd`` (channels last) as ``AddV2``: the same sum, broadcast along the last axis.

    The converter leaves some ``BiasAdd`` nodes (those it cannot fuse) as TensorFlow ops.
    """
    if node.attr["data_format"].s not in (b"", b"NHWC"):
        return
    dtype = node.attr["T"].type
    node.op = "AddV2"
    node.attr.clear()
    node.attr["T"].type = dtype


def _search(graph_def, node) -> None:
    """``LowerBound``/``UpperBound`` (``searchsorted``) of a constant table as compare-and-count.

    ``searchsorted(table, v, side="left")`` counts the entries ``< v`` (``"right"``: ``<= v``), so
    ``(rows, k)`` tables and ``(batch, m)`` values become one ``(batch, m, k)`` comparison summed
    over ``k``. The table stays a constant, so ``float32`` compares with the float32 that keeps
    each answer.
    """
    value = _constant_value(graph_def, node.input[0])
    if value is None or value.ndim != 2:
        return
    base, dtype = node.name, node.attr["T"].type
    _const(graph_def, f"{base}/table", value[:, None, :])
    _const(graph_def, f"{base}/axis", np.array(2, dtype=np.int32))
    expanded = graph_def.node.add()
    expanded.name, expanded.op = f"{base}/values", "ExpandDims"
    expanded.input.extend([node.input[1], f"{base}/axis"])
    expanded.attr["T"].type = dtype
    expanded.attr["Tdim"].type = _INT32
    hits = graph_def.node.add()
    hits.name, hits.op = f"{base}/hits", "Less" if node.op == "LowerBound" else "LessEqual"
    hits.input.extend([f"{base}/table", expanded.name])
    hits.attr["T"].type = dtype
    flags = graph_def.node.add()
    flags.name, flags.op = f"{base}/flags", "Cast"
    flags.input.append(hits.name)
    flags.attr["SrcT"].type = tf.bool.as_datatype_enum
    out_type = node.attr["out_type"].type
    flags.attr["DstT"].type = out_type
    _reduce(node, "Sum", flags.name, f"{base}/axis", out_type)


def _constant_value(graph_def, name: str):
    """The value of a ``Const``, or of a ``Reshape`` of one to a known shape; else None.

    A 1-D constant reshaped to a shape packed as ``(1, n)`` or ``(-1, n)`` (what
    ``keras.ops.searchsorted`` builds, ``n`` its length) is ``(1, n)`` though ``n`` is computed; a
    wrong guess could only fail the parity check, never pass it.
    """
    node = graph_def_node(graph_def, name)
    if node is not None and node.op == "Reshape":
        value = _constant_value(graph_def, node.input[0])
        shape = graph_def_node(graph_def, node.input[1])
        if shape is not None and shape.op == "Pack" and len(shape.input) == 2 and value is not None:
            first = _constant_value(graph_def, shape.input[0])
            known = first is not None and first.ndim == 0 and int(first) in (1, -1) and value.ndim == 1
            return value.reshape(1, -1) if known else None
        shape = _constant_value(graph_def, node.input[1])
        return None if shape is None or value is None else value.reshape(shape)
    if node is None or node.op != "Const":
        return None
    return tf.make_ndarray(node.attr["value"].tensor)


def graph_def_node(graph_def, name: str):
    """The node that outputs ``name`` (its first output), past any ``Identity``, or None."""
    node = next((n for n in graph_def.node if n.name == name.split(":")[0]), None)
    while node is not None and node.op == "Identity":
        node = next((n for n in graph_def.node if n.name == node.input[0].split(":")[0]), None)
    return node


def _const(graph_def, name: str, value: np.ndarray) -> None:
    node = graph_def.node.add()
    node.name, node.op = name, "Const"
    node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))


#: op type -> its rewrite.
REWRITES = {
    "DenseBincount": _dense_bincount,
    "BiasAdd": _bias_add,
    "LowerBound": _search,
    "UpperBound": _search,
}
