"""The exported signatures: input keys (:func:`signature_keys`), ``serving_default``, ``serving_packed``."""

from __future__ import annotations

import re

import keras
import numpy as np
import tensorflow as tf

from ..outputs import named_outputs

#: What TensorFlow accepts as a placeholder name, minus '/', '>' (scopes) and a leading '.'.
_VALID_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

#: Keys of the ``serving_packed`` signature (see :func:`keras_embed_prep.export`).
PACKED_KEYS = ("numbers", "text")


def _sanitize(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    if not key[:1].isalnum():
        key = "input" + key
    return key


def key_of(name: str) -> str:
    """The signature key of one input name, before collisions are resolved (see :func:`signature_keys`)."""
    return name if _VALID_KEY.match(name) else _sanitize(name)


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
        key = key_of(name)
        base, n = key, 1
        while key in taken:
            n += 1
            key = f"{base}_{n}"
        taken.add(key)
        keys[name] = key
    return keys


def call(model: keras.Model, inputs: dict):
    """``model`` on ``inputs`` by input name: the one tensor of a single 2-D input, else the dict."""
    single = len(model.inputs) == 1 and len(model.inputs[0].shape) == 2
    return model(inputs[model.inputs[0].name] if single else inputs)


def serving(model: keras.Model):
    """``(specs, serve)`` of ``serving_default``: its input specs by model input name, and its function."""
    keys = signature_keys(model)
    specs = {t.name: tf.TensorSpec(shape=t.shape, dtype=t.dtype, name=keys[t.name]) for t in model.inputs}

    def serve(inputs):
        return named_outputs(call(model, inputs))

    return specs, serve


def packed(model: keras.Model, serve):
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

    def serve_packed(tensors):
        if twin is not None:
            return named_outputs(twin([tensors[key] for key in kinds]))
        feeds = {}
        for key in kinds:
            names = [t.name for t in by_kind[key]]
            feeds.update(zip(names, tf.unstack(tensors[key], num=len(names), axis=1), strict=True))
        return serve(feeds)

    return specs, serve_packed


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
        # model.output keeps the outputs' structure (a dict keeps its names), model.outputs is a list
        return keras.Model([stacks[key] for key in kinds], model.output)
    except (ValueError, TypeError):  # an input also read outside its stack
        return None


def packed_inputs(feeds: dict, model: keras.Model) -> dict:
    """Pack ``to_inputs`` output for the ``serving_packed`` signature: ``{"numbers": ..., "text": ...}``."""
    numbers = [np.asarray(feeds[t.name]) for t in model.inputs if t.dtype != "string"]
    text = [np.asarray(feeds[t.name]) for t in model.inputs if t.dtype == "string"]
    feed = {}
    if numbers:
        feed["numbers"] = np.stack(numbers, axis=1).astype(np.float32)
    if text:
        feed["text"] = np.stack(text, axis=1)
    return feed
