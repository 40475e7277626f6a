"""``export``: a TensorFlow SavedModel whose ``serving_default`` takes the raw, named inputs."""

from __future__ import annotations

import os
import re

import keras
import tensorflow as tf

from .errors import InputError

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
    in input order.
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


def export(model: keras.Model, path: str | os.PathLike) -> None:
    """Write ``model`` as a TensorFlow SavedModel with a ``serving_default`` signature.

    The signature takes the model's raw inputs by name (see :func:`signature_keys`
    for names that are not valid keys) and returns ``{"output_0": ...}`` (or
    ``output_0``, ``output_1``, ... for several outputs). Loading it needs only
    TensorFlow: ``tf.saved_model.load(path).signatures["serving_default"](**inputs)``.

    Parameters
    ----------
    model : keras.Model
        Typically the result of :func:`embed` or :func:`to_keras`.
    path : str or path-like
        Directory to write; created if missing.
    """
    if not isinstance(model, keras.Model):
        raise InputError(f"export expects a keras.Model. Received {type(model).__name__}.")
    keys = signature_keys(model)
    names = [t.name for t in model.inputs]
    specs = {
        name: tf.TensorSpec(shape=t.shape, dtype=t.dtype, name=keys[name])
        for name, t in zip(names, model.inputs, strict=True)
    }
    single = len(names) == 1 and len(model.inputs[0].shape) == 2

    def serve(inputs):
        outputs = model(inputs[names[0]] if single else inputs)
        if isinstance(outputs, (list, tuple)):
            return {f"output_{i}": out for i, out in enumerate(outputs)}
        if isinstance(outputs, dict):
            return dict(outputs)
        return {"output_0": outputs}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=serve, input_signature=[specs])
    archive.write_out(os.fspath(path), verbose=False)
