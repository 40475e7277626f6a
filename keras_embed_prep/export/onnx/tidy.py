"""Passes over the converted ONNX graph, before it is checked: fewer nodes, the same values.

``stack_inputs`` rewrites what tf2onnx makes of ``tf.stack`` over the model's 1-D inputs;
``gather_wraps`` drops the negative-index wrap Keras writes before a gather, which ONNX's
``Gather`` does itself; ``ort_basic`` saves onnxruntime's offline ``ORT_ENABLE_BASIC``
optimization of the graph. All run before the parity check, so the graph that is checked is
the one written.
"""

from __future__ import annotations

import os
import tempfile


def stack_inputs(proto):
    """``Concat(axis=1)`` of ``Unsqueeze(x_i, axes=[1])`` over 1-D graph inputs, in three nodes.

    tf2onnx writes ``tf.stack(columns, axis=1)`` as one ``Unsqueeze`` per column and a
    ``Concat``: on a 500-column table, 500 nodes that onnxruntime runs one by one at every
    call. ``Transpose(Reshape(Concat(axis=0)(x_1..x_k), [k, -1]))`` is the same
    ``(batch, k)`` tensor (only data moved), in three nodes whatever ``k``. Applied where
    every ``Concat`` input is such an ``Unsqueeze`` of a rank-1 graph input; an ``Unsqueeze``
    read elsewhere too is kept.
    """
    from onnx import helper, numpy_helper

    graph = proto.graph
    rank_one = {i.name for i in graph.input if len(i.type.tensor_type.shape.dim) == 1}
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1

    def stacked(name: str):
        node = producer.get(name)
        if node is None or node.op_type != "Unsqueeze" or len(node.input) != 2:
            return None
        if node.input[0] not in rank_one:
            return None
        axes = constants.get(node.input[1])
        return node if axes is not None and axes.ravel().tolist() == [1] else None

    nodes, dropped = [], set()
    for node in graph.node:
        axis = next((a.i for a in node.attribute if a.name == "axis"), None)
        sources = [stacked(name) for name in node.input] if node.op_type == "Concat" and axis == 1 else []
        if len(sources) < 2 or any(s is None for s in sources):
            nodes.append(node)
            continue
        base, k = node.name or node.output[0], len(sources)
        shape = f"{base}/kep_stack_shape"
        graph.initializer.append(numpy_helper.from_array(_int64([k, -1]), shape))
        flat, rows = f"{base}/kep_stack_flat", f"{base}/kep_stack_rows"
        nodes.append(helper.make_node("Concat", [s.input[0] for s in sources], [flat], axis=0, name=flat))
        nodes.append(helper.make_node("Reshape", [flat, shape], [rows], name=rows))
        nodes.append(helper.make_node("Transpose", [rows], list(node.output), perm=[1, 0], name=base))
        for source in sources:
            readers[source.output[0]] -= 1
            if readers[source.output[0]] == 0:
                dropped.add(id(source))
    kept = [n for n in nodes if id(n) not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    return proto


def gather_wraps(proto):
    """``Gather(data, Where(Less(i, 0), Add(i, n), i))`` as ``Gather(data, i)``, ``n`` the axis length.

    Keras' ``take`` wraps negative indices itself (four nodes before every gather: a cast,
    a compare, an add and a select); ONNX's ``Gather`` already counts negative indices from
    the back of the axis, so where every reader of the wrapped index is a gather along an
    axis of a constant of length ``n``, the wrap computes nothing ONNX does not. Indices
    outside ``[-n, n)`` fail in both forms alike. The wrap's nodes, read by nothing else
    afterwards, are dropped.
    """
    from onnx import numpy_helper

    graph = proto.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)

    def scalar(name: str):
        value = constants.get(name)
        return value.item() if value is not None and value.size == 1 else None

    def unwrapped(node) -> str | None:
        """The index ``i`` that the ``Where`` ``node`` wraps, or None if it is not such a wrap."""
        if node.op_type != "Where" or len(node.input) != 3:
            return None
        less, add = producer.get(node.input[0]), producer.get(node.input[1])
        index = node.input[2]
        if less is None or add is None or less.op_type != "Less" or add.op_type != "Add":
            return None
        compared = producer.get(less.input[0])
        if less.input[0] != index and not (
            compared and compared.op_type == "Cast" and compared.input[0] == index
        ):
            return None
        if scalar(less.input[1]) != 0 or add.input[0] != index or scalar(add.input[1]) is None:
            return None
        length = scalar(add.input[1])
        for reader in readers.get(node.output[0], []):
            axis = next((a.i for a in reader.attribute if a.name == "axis"), 0)
            data = constants.get(reader.input[0])
            if reader.op_type != "Gather" or list(reader.input[1:]) != [node.output[0]] or data is None:
                return None
            if axis < 0 or axis >= data.ndim or data.shape[axis] != length:
                return None
        return index

    for node in list(graph.node):
        index = unwrapped(node)
        if index is not None:
            for reader in readers.get(node.output[0], []):
                reader.input[1] = index
    return _without_dead_nodes(proto)


def _without_dead_nodes(proto):
    """``proto`` without the nodes whose outputs nothing reads (graph outputs count as read)."""
    graph = proto.graph
    wanted = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(out in wanted for out in node.output):
            kept.append(node)
            wanted.update(node.input)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    return proto


def _int64(values):
    import numpy as np

    return np.asarray(values, dtype=np.int64)


def ort_basic(ort, onnx, proto):
    """``proto`` after onnxruntime's ``ORT_ENABLE_BASIC`` optimizations, read back from its file.

    The basic level is onnxruntime's portable one: constant folding, removal of redundant
    nodes and semantics-preserving fusions into standard ONNX ops, applied before the
    graph is given to an execution provider; the extended and layout levels add
    onnxruntime-only ops and hardware-specific layouts, and are left to load time. The
    opset imports are the converter's (onnxruntime adds one per domain it knows).
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory() as tmp:
        options.optimized_model_filepath = os.path.join(tmp, "optimized.onnx")
        ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(options.optimized_model_filepath)
    # onnxruntime declares every domain it knows (com.microsoft, ...): keep the converter's own.
    del optimized.opset_import[:]
    optimized.opset_import.extend(proto.opset_import)
    return optimized
