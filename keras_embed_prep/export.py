"""``export``: the model as a TensorFlow SavedModel, or as an ONNX file checked against Keras first.

A SavedModel (the default) is the model itself: every op, every inference-time check.
An ONNX file (``format="onnx"``) is a translation by tf2onnx, extended below where tf2onnx
falls short, so :func:`export` proves it before writing it: ops that do not translate are
refused by name, each inference-time check is rewritten so that onnxruntime fails where
Keras does (and tried on rows that trip it), and the file is run with onnxruntime on probe
rows and compared with the Keras model at the DESIGN.md tolerance.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .errors import InputError
from .verify import ATOL, RTOL, ParityReport

#: The formats :func:`export` writes.
FORMATS = ("saved_model", "onnx")

#: What TensorFlow accepts as a placeholder name, minus '/', '>' (scopes) and a leading '.'.
_VALID_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _sanitize(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    if not key[:1].isalnum():
        key = "input" + key
    return key


def signature_keys(model: keras.Model) -> dict[str, str]:
    """Map each model input name to its key in the exported ``serving_default`` signature.

    A name that is already a valid key (``[A-Za-z0-9][A-Za-z0-9_.-]*``, what TensorFlow
    accepts as a placeholder name) is kept. Otherwise every other character becomes
    ``_``, and a key that does not start with a letter or digit gets the prefix
    ``input`` (``"bill length (mm)"`` -> ``"bill_length__mm_"``, ``"(raw)"`` ->
    ``"input_raw_"``); a key that collides with an earlier one gets ``_2``, ``_3``, ...
    in input order. The inputs of an ONNX export carry the same names.
    """
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for tensor in model.inputs:
        name = tensor.name
        key = name if _VALID_KEY.match(name) else _sanitize(name)
        base, n = key, 1
        while key in taken:
            n += 1
            key = f"{base}_{n}"
        taken.add(key)
        keys[name] = key
    return keys


def _serving(model: keras.Model):
    """``(specs, serve)``: the signature's input specs by model input name, and its function."""
    keys = signature_keys(model)
    names = [t.name for t in model.inputs]
    specs = {
        name: tf.TensorSpec(shape=t.shape, dtype=t.dtype, name=keys[name])
        for name, t in zip(names, model.inputs, strict=True)
    }
    single = len(names) == 1 and len(model.inputs[0].shape) == 2

    def serve(inputs):
        return _named_outputs(model(inputs[names[0]] if single else inputs))

    return specs, serve


def _named_outputs(outputs) -> dict:
    """Signature outputs: a model's dict as is, else ``output_0``, ``output_1``, ..."""
    if isinstance(outputs, (list, tuple)):
        return {f"output_{i}": out for i, out in enumerate(outputs)}
    if isinstance(outputs, dict):
        return dict(outputs)
    return {"output_0": outputs}


#: Keys of the ``serving_packed`` signature (see :func:`export`).
PACKED_KEYS = ("numbers", "text")


def _packed(model: keras.Model, serve):
    """``(specs, fn)`` of the ``serving_packed`` signature, or None for a single-input model.

    One float32 ``(batch, n_numbers)`` tensor and one string ``(batch, n_text)`` tensor,
    columns in model input order within each kind. A call with 500 named tensors
    spends most of its time passing them; two tensors cost the same for 16 or 500
    columns. A converted model stacks its per-column inputs by kind first, so the
    packed tensors enter the graph right after those stacks; for any other model the
    packed columns are split back into named inputs.
    """
    inputs = model.inputs
    if len(inputs) < 2 or any(len(t.shape) != 1 for t in inputs):
        return None
    by_kind = {
        "numbers": [t for t in inputs if t.dtype != "string"],
        "text": [t for t in inputs if t.dtype == "string"],
    }
    dtypes = {"numbers": tf.float32, "text": tf.string}
    kinds = [key for key, tensors in by_kind.items() if tensors]
    specs = {key: tf.TensorSpec([None, len(by_kind[key])], dtypes[key], name=key) for key in kinds}
    twin = _packed_twin(model, by_kind, kinds)

    def packed(tensors):
        if twin is not None:
            return _named_outputs(twin([tensors[key] for key in kinds]))
        feeds = {}
        for key in kinds:
            names = [t.name for t in by_kind[key]]
            feeds.update(zip(names, tf.unstack(tensors[key], num=len(names), axis=1), strict=True))
        return serve(feeds)

    return specs, packed


def _packed_twin(model: keras.Model, by_kind: dict, kinds: list[str]):
    """``model`` from its per-kind input stacks onward, or None if it has no such stacks."""
    stacks = {}
    for op in model.operations:
        if type(op).__name__ != "Stack":
            continue
        try:
            args = keras.tree.flatten(op.input)
        except (AttributeError, ValueError):  # an operation used more than once
            continue
        for key in kinds:
            if len(args) == len(by_kind[key]) and all(
                a is b for a, b in zip(args, by_kind[key], strict=True)
            ):
                stacks[key] = op.output
    if set(stacks) != set(kinds):
        return None
    try:
        return keras.Model([stacks[key] for key in kinds], model.outputs)
    except (ValueError, TypeError):  # an input also read outside its stack
        return None


def packed_inputs(feeds: dict, model: keras.Model) -> dict:
    """Pack ``to_inputs`` output for the ``serving_packed`` signature: ``{"numbers": ..., "text": ...}``."""
    numbers = [np.asarray(feeds[t.name]) for t in model.inputs if t.dtype != "string"]
    text = [np.asarray(feeds[t.name]) for t in model.inputs if t.dtype == "string"]
    packed = {}
    if numbers:
        packed["numbers"] = np.stack(numbers, axis=1).astype(np.float32)
    if text:
        packed["text"] = np.stack(text, axis=1)
    return packed


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

    ``format="onnx"`` writes one ``.onnx`` file (opset ``onnx_export.ONNX_OPSET``) with the same
    input and output names, for onnxruntime, through tf2onnx (``pip install
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
        ``saved_model``: the directory to write (created if missing). ``onnx``: the
        file to write (its parent directory is created if missing).
    format : {"saved_model", "onnx"}
        What to write.
    sample : pandas.DataFrame, array-like or dict, optional
        ``onnx`` only: raw rows to check parity on, as given to ``preprocessor.transform``
        (converted with :func:`to_inputs`), or inputs exactly as the model takes them (the
        dict or array that :func:`to_inputs` returns); a few thousand rows are plenty.
        Without it, probe rows are built from the model's inputs: zeros, ones, NaN,
        subnormal, small, large, integer and random numbers for numeric inputs, and for
        text inputs every category of the model's ``StringLookup`` vocabularies (up to
        4,096 rows), the missing-value sentinel and an unseen value, so the lookups are
        exercised. Rows that the model's checks reject are left out of the comparison
        (and must fail in onnxruntime too).
    rtol, atol : float
        ``onnx`` only: the parity tolerance, DESIGN.md's float32 tolerance by default.

    Returns
    -------
    ParityReport or None
        ``onnx``: the parity report of the written file against the Keras model (called
        eagerly) on the probe rows it accepts. ``saved_model``: None.

    Raises
    ------
    InputError
        ``model`` is not a Keras model, or ``format`` is not one of :data:`FORMATS`.
    ExportError
        ``onnx``: an op does not convert, an inference-time check cannot be kept, the
        converted file differs from the Keras model, or the Keras model rejects every
        probe row; nothing was written.
    MissingDependencyError
        ``onnx``: tf2onnx, onnx or onnxruntime is not installed.
    """
    if not isinstance(model, keras.Model):
        raise InputError(f"export expects a keras.Model. Received {type(model).__name__}.")
    if format not in FORMATS:
        raise InputError(
            f"The 'format' parameter of export must be one of {list(FORMATS)}. Got {format!r} instead."
        )
    if format == "onnx":
        from .onnx_export import export_onnx  # tf2onnx and onnxruntime load only when asked for

        return export_onnx(model, Path(path), sample=sample, rtol=rtol, atol=atol)
    if sample is not None:
        raise InputError(
            "export(format='saved_model') writes the model itself and checks nothing, so it takes "
            "no sample. Received a sample; pass it with format='onnx', or leave it out."
        )
    specs, serve = _serving(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=serve, input_signature=[specs])
    packed = _packed(model, serve)
    if packed is not None:
        archive.add_endpoint(name="serving_packed", fn=packed[1], input_signature=[packed[0]])
    archive.write_out(os.fspath(path), verbose=False)
    return None


# --- ONNX -------------------------------------------------------------------------------------
