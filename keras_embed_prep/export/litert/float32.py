"""The frozen graph in float32: LiteRT's built-in kernels have no float64 arithmetic.

Every float64 tensor becomes float32, with float32-exact formulations where they exist:

- A comparison of a tensor with a float64 constant ``e`` compares with the float32 next to ``e``
  on the side that keeps the answer: for a float32 ``x``, ``x <= e`` is ``x <= down(e)``, ``x < e``
  is ``x < up(e)`` (``down``/``up``: the largest float32 ``<= e``, the smallest ``>= e``). Bins and
  thresholds on float32 inputs stay exact.
- Adding (or subtracting) a float64 constant ``c`` is two steps, ``(x + c_hi) + c_lo`` with
  ``c_hi = float32(c)`` and ``c_lo = float32(c - c_hi)``: a centring on a mean of 1e6 cancels
  exactly in the first step (Sterbenz) and keeps the constant's low bits in the second.
- ``x * a + b`` with float64 constants ``a`` and ``b`` (a min-max scaling) is ``(x - c) * a`` with
  ``c = -b / a`` subtracted in two steps as above: in float32, ``x * a`` for ``x`` near 1e6 loses
  the digits that ``+ b`` would have cancelled.
- ``blocks.floats.float32_to_float64`` (subnormals rebuilt from their bits, with ``BitwiseAnd``,
  which LiteRT lacks) is the plain cast it stands for, which here is no cast at all.

Nodes left unread are dropped when the graph is pruned to its inputs and outputs (``driver``).
Everything else is rounded to float32 as it is; the parity check in the interpreter decides
whether the result still meets the rule (``precision``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_DOUBLE = tf.float64.as_datatype_enum
_FLOAT = tf.float32.as_datatype_enum
_COMPARE = {"Less": "up", "GreaterEqual": "up", "LessEqual": "down", "Greater": "down"}
_MIRROR = {"Less": "Greater", "Greater": "Less", "LessEqual": "GreaterEqual", "GreaterEqual": "LessEqual"}
_ADDS = ("AddV2", "Add", "BiasAdd", "Sub")


def to_float32(graph_def):
    """A copy of the frozen ``graph_def`` with every float64 tensor float32 (module docstring)."""
    out = type(graph_def)()
    out.CopyFrom(graph_def)
    nodes = {n.name: n for n in out.node}
    _drop_subnormal_workaround(out, nodes)
    for node in list(out.node):
        if node.op in _COMPARE and node.attr["T"].type == _DOUBLE:
            _directed_compare(out, nodes, node)
        elif node.op in _ADDS and node.attr["T"].type == _DOUBLE:
            if not _fold_affine(out, nodes, node):
                _split_constant_add(out, nodes, node)
    for node in out.node:
        _retype(node)
    return out


def _source(nodes, name: str) -> str:
    """``name`` without its ``:0`` and past any ``Identity``."""
    name = name.split(":")[0] if name.endswith(":0") else name
    node = nodes.get(name)
    while node is not None and node.op == "Identity":
        name = node.input[0].split(":0")[0] if node.input[0].endswith(":0") else node.input[0]
        node = nodes.get(name)
    return name


def _constant(nodes, name: str):
    """The float64 value of ``name`` if it is a constant, else None."""
    node = nodes.get(_source(nodes, name))
    if node is None or node.op != "Const" or node.attr["dtype"].type != _DOUBLE:
        return None
    return tf.make_ndarray(node.attr["value"].tensor)


def _add_const(graph_def, nodes, name: str, value: np.ndarray) -> str:
    node = graph_def.node.add()
    node.name, node.op = name, "Const"
    node.attr["dtype"].type = _FLOAT
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.asarray(value, dtype=np.float32)))
    nodes[name] = node
    return name


def _float32_toward(value: np.ndarray, side: str) -> np.ndarray:
    """The float32 nearest ``value`` on ``side`` (``"down"``: largest ``<=``; ``"up"``: smallest ``>=``)."""
    value = np.asarray(value, dtype=np.float64)
    with np.errstate(over="ignore"):
        near = value.astype(np.float32)
    target = np.float32(-np.inf) if side == "down" else np.float32(np.inf)
    off = (near.astype(np.float64) > value) if side == "down" else (near.astype(np.float64) < value)
    return np.where(off, np.nextafter(near, target), near).astype(np.float32)


def _directed_compare(graph_def, nodes, node) -> None:
    """Compare with the float32 constant that keeps the answer of the float64 comparison."""
    for k in (0, 1):
        value = _constant(nodes, node.input[k])
        if value is None:
            continue
        op = node.op if k == 1 else _MIRROR[node.op]  # the constant on the right: x op e
        node.input[k] = _add_const(
            graph_def, nodes, f"{node.name}/float32_edge", _float32_toward(value, _COMPARE[op])
        )
        return


def _split_constant_add(graph_def, nodes, node) -> None:
    """``x + c`` (or ``x - c``, ``c - x``) with a float64 constant ``c`` as two float32 steps."""
    for k in (0, 1) if node.op != "BiasAdd" else (1,):
        value = _constant(nodes, node.input[k])
        if value is None:
            continue
        high = value.astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            low = np.where(np.isfinite(high), value - high.astype(np.float64), 0.0).astype(np.float32)
        if not low.any() or (node.op == "BiasAdd" and low.ndim != 1):
            return
        # the second step: the first result plus (or minus) the low part
        second_op = "Sub" if node.op == "Sub" and k == 1 else "AddV2"
        first = graph_def.node.add()
        first.CopyFrom(node)
        first.name = f"{node.name}/high"
        first.input[k] = _add_const(graph_def, nodes, f"{node.name}/c_high", high)
        nodes[first.name] = first
        lows = _add_const(graph_def, nodes, f"{node.name}/c_low", low)
        attrs = {key: node.attr[key] for key in node.attr if key == "T"}
        del node.input[:]
        node.op = second_op
        node.input.extend([first.name, lows])
        node.attr.clear()
        for key, value_attr in attrs.items():
            node.attr[key].CopyFrom(value_attr)
        return


def _fold_affine(graph_def, nodes, node) -> bool:
    """``Mul(x, a) + b`` rewritten in place as ``((x - c_hi) - c_lo) * a``, ``c = -b / a``; False if not."""
    if node.op not in ("AddV2", "Add", "BiasAdd"):
        return False
    for k in (1, 0) if node.op != "BiasAdd" else (1,):
        offset = _constant(nodes, node.input[k])
        mul = nodes.get(_source(nodes, node.input[1 - k]))
        if offset is None or mul is None or mul.op != "Mul" or _readers(graph_def, mul.name) != 1:
            continue
        for j in (0, 1):
            scale = _constant(nodes, mul.input[j])
            if scale is None:
                continue
            with np.errstate(all="ignore"):
                centre = np.broadcast_to(-offset / scale, np.broadcast_shapes(offset.shape, scale.shape))
            if not (np.isfinite(centre).all() and np.isfinite(scale).all() and (scale != 0).all()):
                return False
            if centre.ndim > 1 and centre.shape[0] != 1:
                return False
            high = centre.astype(np.float32)
            low = (centre - high.astype(np.float64)).astype(np.float32)
            steps = [
                (
                    "centre_high",
                    [mul.input[1 - j], _add_const(graph_def, nodes, f"{node.name}/c_high", high)],
                ),
                (
                    "centred",
                    [f"{node.name}/centre_high", _add_const(graph_def, nodes, f"{node.name}/c_low", low)],
                ),
            ]
            for suffix, inputs in steps:
                sub = graph_def.node.add()
                sub.name, sub.op = f"{node.name}/{suffix}", "Sub"
                sub.input.extend(inputs)
                sub.attr["T"].type = _DOUBLE
                nodes[sub.name] = sub
            scaled = mul.input[j]
            node.op = "Mul"
            del node.input[:]
            node.input.extend([f"{node.name}/centred", scaled])
            for key in [key for key in node.attr if key != "T"]:
                del node.attr[key]
            return True
    return False


def _readers(graph_def, name: str) -> int:
    return sum(i in (name, f"{name}:0") for n in graph_def.node for i in n.input)


def _drop_subnormal_workaround(graph_def, nodes) -> None:
    """``where(subnormal(bits(x)), rebuilt, cast(x))`` read as ``cast(x)`` (module docstring)."""
    for node in list(graph_def.node):
        if node.op not in ("Select", "SelectV2") or len(node.input) != 3:
            continue
        cast = nodes.get(_source(nodes, node.input[2]))
        if cast is None or cast.op != "Cast" or cast.attr["DstT"].type != _DOUBLE:
            continue
        source = _source(nodes, cast.input[0])
        if any(
            n.op == "Bitcast" and _source(nodes, n.input[0]) == source for n in _ancestors(nodes, node, 5)
        ):
            for consumer in graph_def.node:
                consumer.input[:] = [
                    cast.name if i in (node.name, f"{node.name}:0") else i for i in consumer.input
                ]


def _ancestors(nodes, node, depth: int):
    frontier, seen = [node], []
    for _ in range(depth):
        frontier = [nodes[p] for n in frontier for p in (_source(nodes, i) for i in n.input) if p in nodes]
        seen.extend(frontier)
    return seen


def _retype(node) -> None:
    """float64 attributes and constants as float32; a cast to its own type as ``Identity``."""
    for key in node.attr:
        attr = node.attr[key]
        if attr.type == _DOUBLE:
            attr.type = _FLOAT
        if attr.list.type:
            attr.list.type[:] = [_FLOAT if t == _DOUBLE else t for t in attr.list.type]
    if node.op == "Const" and node.attr["value"].tensor.dtype == _DOUBLE:
        value = tf.make_ndarray(node.attr["value"].tensor)
        with np.errstate(over="ignore"):
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value.astype(np.float32)))
    if node.op == "Cast" and node.attr["SrcT"].type == node.attr["DstT"].type:
        dtype = node.attr["SrcT"].type
        node.op = "Identity"
        node.attr.clear()
        node.attr["T"].type = dtype
