"""``export(model, path, format="litert")``: a float32 ``.tflite`` file, checked in the interpreter first.

The frozen graph is rewritten to float32 (``float32``) and LiteRT built-ins (``nodes``), converted
with TensorFlow's converter to built-in ops only (the ``ai-edge-litert`` interpreter runs no Flex
ops), run in the interpreter on the sample or probe rows and compared with the Keras model; the file
is written only if it meets the parity rule.
"""

from __future__ import annotations

import importlib
import re
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ...blocks.checks import check_reasons
from ...errors import ExportError, MissingDependencyError
from ...verify import ParityReport
from ...walk import layers_by_path
from .. import probes
from ..signatures import serving, signature_keys
from . import float32, nodes

_SERVE = "serving_default"


def _import_optional(name: str):
    """Import an optional dependency (a seam for tests that simulate its absence)."""
    return importlib.import_module(name)


def _interpreter_class():
    try:
        return _import_optional("ai_edge_litert.interpreter").Interpreter
    except ImportError as exc:
        raise MissingDependencyError(
            f"export(format='litert') needs the ai-edge-litert interpreter ({exc}). Install it with: "
            "pip install keras-embed-prep[litert]"
        ) from exc


def export_litert(model, path: Path, *, sample, rtol: float, atol: float) -> ParityReport:
    """Convert ``model``, check the ``.tflite`` file against it, and write the file only if it passes."""
    _refuse_checks(model)  # before text: a check's reasons are a StringLookup too
    _refuse_text(model)
    interpreter = _interpreter_class()
    keras_side = probes.keras_side(model, sample)
    split, checked, accepted, expected = (
        keras_side.split,
        keras_side.checked,
        keras_side.accepted,
        keras_side.expected,
    )
    flatbuffer = convert(model, keras_side.concrete, keras_side.specs)
    got = run(interpreter, flatbuffer, checked, accepted)
    if split is not None:  # the file written has no boundary outputs: its outputs are checked
        plain_specs, plain_serve = serving(model)
        plain = tf.function(plain_serve, input_signature=[plain_specs]).get_concrete_function()
        flatbuffer = convert(model, plain, plain_specs)
        got.update(run(interpreter, flatbuffer, model, accepted))
    report = probes.compare_outputs(
        model, got, expected, split=split, rtol=rtol, atol=atol, artifact="LiteRT export"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flatbuffer)
    return report


def _refuse_text(model) -> None:
    """String inputs and lookups are refused: LiteRT's built-ins have no string hash tables."""
    text = [t.name for t in model.inputs if t.dtype == "string"]
    lookups = [
        path
        for path, layer in layers_by_path(model).items()
        if isinstance(layer, (keras.layers.StringLookup, keras.layers.Hashing))
    ]
    if text or lookups:
        what = f"string input {text[0]!r}" if text else f"string lookup layer {lookups[0]!r}"
        raise ExportError(
            f"export(format='litert') does not convert text ({what}): LiteRT's built-in ops have no "
            "string hash tables, and the Flex ops that do are not run by the ai-edge-litert "
            "interpreter. Nothing was written; serve the SavedModel (the default format) or "
            "format='onnx', or encode the text before the model."
        )


def _refuse_checks(model) -> None:
    """Inference-time checks are refused: LiteRT has no op that fails on purpose."""
    reasons = check_reasons(model)
    if reasons:
        raise ExportError(
            f"export(format='litert') cannot keep the inference-time check(s) of {model.name!r} "
            f"({'; '.join(list(reasons.values())[:4])}): LiteRT's built-in ops cannot make a row fail, "
            "so the file would answer where scikit-learn raises. Nothing was written; export the "
            "SavedModel or format='onnx', which keep them, rebuild with to_keras(..., checks='nan') "
            "(or embed) so that those rows come out NaN, or fit without the option that raises "
            "(handle_unknown='ignore', error_on_new=False, ...)."
        )


def convert(model, concrete, specs) -> bytes:
    """The ``.tflite`` flatbuffer of ``concrete``: frozen, in float32, built-in ops only."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    nodes.rewrite(graph_def)  # first: the tables it compares with are float64 constants for float32
    graph_def = float32.to_float32(graph_def)
    asserts = sorted({n.name.rsplit("/", 1)[0] for n in graph_def.node if n.op == "Assert"})
    if asserts:
        raise ExportError(
            f"export(format='litert'): {model.name!r} holds Assert ops ({', '.join(asserts[:4])}), which "
            "LiteRT drops. Nothing was written; export the SavedModel or format='onnx'."
        )
    names = sorted(specs)  # the frozen graph takes its inputs as tf.nest flattens the dict: by sorted key
    inputs = [t.name for t in frozen.inputs]
    outputs = [t.name for t in frozen.outputs]
    keys = sorted(concrete.structured_outputs)

    def imported():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(imported, [])
    pruned = wrapped.prune(
        [wrapped.graph.get_tensor_by_name(n) for n in inputs],
        [wrapped.graph.get_tensor_by_name(n) for n in outputs],
    )

    def serve(*args):
        return dict(zip(keys, tf.nest.flatten(pruned(*args)), strict=True))

    function = tf.function(serve, input_signature=[specs[k] for k in names]).get_concrete_function()
    module = tf.Module()
    module.serve = function
    with tempfile.TemporaryDirectory() as directory:
        # A SavedModel keeps the signature's names; a converted concrete function has none.
        tf.saved_model.save(module, directory, signatures={_SERVE: function})
        converter = tf.lite.TFLiteConverter.from_saved_model(directory)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            return converter.convert()
        except Exception as exc:  # the converter lists the ops it could not lower
            raise _unconverted(model, exc) from exc


def _unconverted(model, exc: Exception) -> ExportError:
    text = str(exc)
    found = re.search(r"(?:TF Select ops|Custom ops): ([^\n]+)", text)
    ops = found.group(1).strip() if found else probes.first_line(exc)
    hint = ""
    if "Erfinv" in ops:
        hint = " (Erfinv: QuantileTransformer(output_distribution='normal'))"
    return ExportError(
        f"export(format='litert'): {model.name!r} uses TensorFlow op(s) that LiteRT has no built-in "
        f"kernel for: {ops}{hint}. The ai-edge-litert interpreter runs built-in ops only. Nothing was "
        "written; serve the SavedModel (the default format) or format='onnx'."
    )


def run(interpreter, flatbuffer: bytes, model, rows) -> dict[str, np.ndarray]:
    """The ``serving_default`` outputs of ``flatbuffer`` in the interpreter on ``rows`` (by input name)."""
    runner = interpreter(model_content=flatbuffer).get_signature_runner(_SERVE)
    keys = signature_keys(model)
    try:
        return {k: np.asarray(v) for k, v in runner(**{keys[n]: v for n, v in rows.items()}).items()}
    except Exception as exc:  # the interpreter refused rows the Keras model accepts
        raise ExportError(
            f"The LiteRT interpreter failed on rows that the Keras model {model.name!r} accepts "
            f"({type(exc).__name__}: {probes.first_line(exc)}). Nothing was written."
        ) from exc
