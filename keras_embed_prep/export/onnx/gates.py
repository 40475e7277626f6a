"""Inference-time checks in ONNX: each ``tf.Assert`` rewritten so that onnxruntime fails where Keras does."""

from __future__ import annotations

import re

import tensorflow as tf

from ...errors import ExportError

#: TensorFlow ops that make inference fail on purpose (see ``blocks.checks.fail_if_any``).
_CHECK_OPS = {"Assert", "CheckNumerics", "CheckNumericsV2"}


def gate_checks(graph_def, reasons: dict[str, str]) -> list[str]:
    """Make each ``tf.Assert`` fail in onnxruntime too; return the checks kept.

    ``reasons`` is ``blocks.checks.check_reasons(model)``: check layer name -> reason text.

    An inference-time check (``blocks.checks.fail_if_any``) is an ``Assert`` that guards an
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
