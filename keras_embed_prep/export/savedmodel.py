"""``export()``: a TensorFlow SavedModel (the default), or handed to ``onnx.driver`` or ``litert.driver``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras

from .. import walk
from ..errors import InputError
from ..verify import ATOL, RTOL, ParityReport
from .signatures import packed, serving

#: The formats :func:`export` writes.
FORMATS = ("saved_model", "onnx", "litert")


def export(
    model: keras.Model,
    path: str | os.PathLike,
    format: str = "saved_model",
    *,
    sample: Any = None,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> ParityReport | None:
    """Write ``model`` as a TensorFlow SavedModel, or as an ONNX file checked against Keras.

    ``format="saved_model"`` (the default) writes a directory with a ``serving_default``
    signature that takes the model's raw inputs by name (see :func:`signature_keys` for
    names that are not valid keys) and returns ``{"output_0": ...}`` (or ``output_0``,
    ``output_1``, ... for several outputs). Loading it needs only TensorFlow:
    ``tf.saved_model.load(path).signatures["serving_default"](**inputs)``.

    ``format="litert"`` writes one ``.tflite`` file for the ``ai-edge-litert`` interpreter
    (``pip install keras-embed-prep[litert]``), its ``serving_default`` signature with the
    same input and output names. LiteRT's built-in kernels are float32, so the float64
    preprocessing is rewritten in float32 (exact formulations where they exist); the file
    is written only if its outputs in the interpreter meet the same parity rule as ONNX's.
    Text inputs, inference-time checks and ops without a LiteRT built-in are refused by
    name (docs/serving.md, LiteRT).

    ``format="onnx"`` writes one ``.onnx`` file (opset ``export.onnx.driver.ONNX_OPSET``) with the
    same input and output names, for onnxruntime, through tf2onnx (``pip install
    keras-embed-prep[onnx]``). Nothing is written unless the file converts completely
    and matches the Keras model: every op must translate (the error names those that
    do not); every inference-time check (``OneHotEncoder(handle_unknown="error")``,
    ``MissingIndicator(error_on_new=True)``, ``SplineTransformer(extrapolation="error")``,
    ...) must make onnxruntime fail where the Keras model fails, on the rows that trip
    it; and onnxruntime's outputs on the other rows must equal the Keras model's within
    ``atol + rtol * |ref|``. docs/serving.md lists what converts.

    Parameters
    ----------
    model : keras.Model
        Typically the result of :func:`embed` or :func:`to_keras`.
    path : str or path-like
        ``saved_model``: the directory to write (created if missing). ``onnx``, ``litert``: the
        file to write (its parent directory is created if missing).
    format : {"saved_model", "onnx", "litert"}
        What to write.
    sample : pandas.DataFrame, array-like or dict, optional
        ``onnx`` and ``litert``: raw rows to check parity on, as given to ``preprocessor.transform``
        (converted with :func:`to_inputs`), or inputs exactly as the model takes them (the
        dict or array that :func:`to_inputs` returns); a few thousand rows are plenty.
        Without it, probe rows are built from the model's inputs: zeros, ones, NaN,
        subnormal, small, large, integer and random numbers for numeric inputs, and for
        text inputs every category of the model's ``StringLookup`` vocabularies (up to
        4,096 rows), the missing-value sentinel and an unseen value, so the lookups are
        exercised. Rows that the model's checks reject are left out of the comparison
        (and must fail in onnxruntime too).
    rtol, atol : float
        ``onnx`` and ``litert``: the parity tolerance, DESIGN.md's float32 tolerance by default.

    Returns
    -------
    ParityReport or None
        ``onnx``, ``litert``: the parity report of the written file against the Keras model (called
        eagerly) on the probe rows it accepts. ``saved_model``: None.

    Raises
    ------
    InputError
        ``model`` is not a Keras model, or ``format`` is not one of :data:`FORMATS`.
    ExportError
        ``onnx``: an op does not convert, an inference-time check cannot be kept, the
        converted file differs from the Keras model, or the Keras model rejects every
        probe row; nothing was written.
        ``litert``: text inputs, inference-time checks, an op without a LiteRT built-in, or
        float32 outputs that miss the parity rule (the error gives the measured error).
    MissingDependencyError
        ``onnx``: tf2onnx, onnx or onnxruntime is not installed; ``litert``: ai-edge-litert.
    """
    if not isinstance(model, keras.Model):
        raise InputError(f"export expects a keras.Model. Received {type(model).__name__}.")
    if format == "tflite":
        raise InputError(
            "export(format='tflite') is spelled format='litert' (TensorFlow Lite is now LiteRT): it writes "
            "a .tflite file checked in the ai-edge-litert interpreter."
        )
    if format not in FORMATS:
        raise InputError(
            f"The 'format' parameter of export must be one of {list(FORMATS)}. Got {format!r} instead."
        )
    if format == "onnx":
        from .onnx.driver import export_onnx  # tf2onnx and onnxruntime load only when asked for

        return export_onnx(model, Path(path), sample=sample, rtol=rtol, atol=atol)
    if format == "litert":
        from .litert.driver import export_litert  # the interpreter loads only when asked for

        return export_litert(model, Path(path), sample=sample, rtol=rtol, atol=atol)
    if sample is not None:
        raise InputError(
            "export(format='saved_model') writes the model itself and checks nothing, so it takes "
            "no sample. Received a sample; pass it with format='onnx' or 'litert', or leave it out."
        )
    write_savedmodel(model, path)
    return None


def write_savedmodel(model: keras.Model, path: str | os.PathLike) -> None:
    """Write the SavedModel directory: ``serving_default``, and ``serving_packed`` for many inputs."""
    specs, serve = serving(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=serve, input_signature=[specs])
    endpoint = packed(model, serve)
    if endpoint is not None:
        archive.add_endpoint(name="serving_packed", fn=endpoint[1], input_signature=[endpoint[0]])
    archive.write_out(os.fspath(path), verbose=False)
    # The graph of a SavedModel keeps no layer structure: the stages are written beside it, where
    # TensorFlow Serving keeps extra files and the loader does not look (keras-embed-prep inspect).
    stages_file = Path(path) / STAGES_FILE
    stages_file.parent.mkdir(exist_ok=True)
    stages_file.write_text(json.dumps(walk.stages(model), indent=1))


#: The stages of the exported model (:func:`keras_embed_prep.walk.stages`), inside the SavedModel.
STAGES_FILE = "assets.extra/keras_embed_prep_stages.json"
