"""Fusing one-hot preprocessing into the model's first Dense layer.

A one-hot block of width ``w`` multiplied by the first Dense kernel selects one
kernel row per encoded column: ``one_hot(positions) @ W == sum_k W[positions[:, k]]``.
Looking the rows up (a stock ``Embedding`` layer) instead of building the wide
one-hot matrix and multiplying it costs memory and time proportional to the number
of encoded columns, not to the number of categories. Numeric blocks still go
through a (narrower) matrix product. The result differs from the unfused model
only by float32 summation order.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
from keras import ops

from . import blocks

_uid = itertools.count(1)


def _first_dense(model: keras.Model):
    """``(dense, rest)`` if ``model`` starts with a plain Dense layer reading its only input.

    ``rest`` maps that layer's output to the model's outputs (a callable). None when
    the model is shaped otherwise (the caller then embeds it unfused).
    """
    if isinstance(model, keras.Sequential):
        layers = model.layers
        if not layers or type(layers[0]) is not keras.layers.Dense:
            return None
        rest_layers = layers[1:]

        def rest(t):
            for layer in rest_layers:
                t = layer(t)
            return t

        return layers[0], rest
    if not isinstance(model, keras.Model) or len(model.inputs) != 1:
        return None
    source = model.inputs[0]
    readers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
        and any(t is source for t in keras.tree.flatten(getattr(layer, "input", None)))
    ]
    if len(readers) != 1 or type(readers[0]) is not keras.layers.Dense:
        return None
    dense = readers[0]
    try:
        rest = keras.Model(dense.output, model.outputs)
    except (ValueError, TypeError, AttributeError):  # shared or multi-node layers
        return None
    return dense, rest


def fuse(model: keras.Model, features):
    """``model(features)`` with one-hot blocks looked up in the first Dense kernel, or None.

    ``features`` is the float64 preprocessing output (see
    :func:`keras_embed_prep.blocks.segments`). Returns None when there is no one-hot
    block or the model does not start with a plain float32 Dense layer.
    """
    parts = blocks.segments(features)
    if not any(kind == "one_hot" for kind, *_ in parts):
        return None
    found = _first_dense(model)
    if found is None:
        return None
    dense, rest = found
    if dense.dtype_policy.name != "float32" or dense.quantization_mode is not None:
        return None
    kernel = np.asarray(ops.convert_to_numpy(dense.kernel))
    units = kernel.shape[1]
    uid = next(_uid)
    terms, numeric, numeric_rows, offset = [], [], [], 0
    for kind, tensor, *one_hot_of in parts:
        width = int(tensor.shape[-1])
        rows = kernel[offset : offset + width]
        offset += width
        if kind == "one_hot":
            positions, _ = one_hot_of
            table = np.vstack([rows, np.zeros((1, units), dtype=kernel.dtype)])  # row `width`: no output
            lookup = keras.layers.Embedding(width + 1, units, name=f"{dense.name}_rows_{uid}_{len(terms)}")
            picked = lookup(positions)
            lookup.set_weights([table])
            terms.append(ops.sum(picked, axis=1))
        else:
            numeric.append(ops.cast(tensor, "float32"))
            numeric_rows.append(rows)
    if numeric:
        product = keras.layers.Dense(units, use_bias=False, name=f"{dense.name}_numeric_{uid}")
        term = product(blocks.concat(numeric))
        product.set_weights([np.vstack(numeric_rows)])
        terms.append(term)
    pre = terms[0]
    for term in terms[1:]:
        pre = ops.add(pre, term)
    if dense.use_bias:
        pre = ops.add(pre, np.asarray(ops.convert_to_numpy(dense.bias)))
    activated = keras.layers.Activation(dense.activation, name=f"{dense.name}_activation_{uid}")(pre)
    return rest(activated)
