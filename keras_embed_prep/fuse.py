"""Fusing one-hot and bag-of-terms preprocessing into the model's first Dense layer.

A one-hot block of width ``w`` multiplied by the first Dense kernel selects one
kernel row per encoded column: ``one_hot(positions) @ W == sum_k W[positions[:, k]]``.
Looking the rows up (a stock ``Embedding`` layer) instead of building the wide
one-hot matrix and multiplying it costs memory and time proportional to the number
of encoded columns, not to the number of categories. Numeric blocks still go
through a (narrower) matrix product. A bag of terms (counts or tf-idf weights of a text
vectorizer) is the same with weights: ``sum_l weights[:, l] * W[ids[:, l]]``, so a vocabulary of
100,000 terms never becomes a dense ``(rows, 100000)`` matrix. The result differs from the unfused model
only by float32 summation order.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .blocks import floats, records
from .blocks.names import unique
from .blocks.records import Records
from .errors import UnsupportedParameterError


def _first_dense(model: keras.Model):
    """``(dense, rest)`` if ``model`` starts with a plain Dense layer reading its only input.

    ``rest`` maps that layer's output to the model's outputs (a callable: the rest of the
    model, under the model's own name, or the identity). None when
    the model is shaped otherwise (the caller then embeds it unfused).
    """
    if isinstance(model, keras.Sequential):
        layers = model.layers
        if not layers or type(layers[0]) is not keras.layers.Dense:
            return None
        rest_layers = layers[1:]
        if not rest_layers:
            return layers[0], lambda t: t
        return layers[0], keras.Sequential(rest_layers, name=model.name)
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
        rest = keras.Model(dense.output, model.outputs, name=model.name)
    except (ValueError, TypeError, AttributeError):  # shared or multi-node layers
        return None
    return dense, rest


def _folded(affine: records.Affine | None, rows: np.ndarray):
    """``(source, rows', bias)`` with ``tensor @ rows == source @ rows' + bias`` for an affine block."""
    if affine is None:
        return None
    source, center, divisor, multiplier, shift = (
        affine.source,
        affine.center,
        affine.divisor,
        affine.multiplier,
        affine.shift,
    )
    width = rows.shape[0]
    # ((x - c) / d) * m + s  ==  x * a + (s - c * a),  with  a = m / d
    a = np.ones(width)
    if divisor is not None:
        a = a / floats.f64(divisor)
    if multiplier is not None:
        a = a * floats.f64(multiplier)
    b = np.zeros(width) if shift is None else floats.f64(shift).copy()
    if center is not None:
        b = b - floats.f64(center) * a
    return source, rows * a[:, None], b @ rows


def _weighted_rows(name: str, rows: np.ndarray, ids, weights, width: int):
    """``bag_matrix(ids, weights) @ rows`` as ``sum_l weights[:, l] * rows[ids[:, l]]``: no dense bag."""
    table = np.vstack([rows, np.zeros((1, rows.shape[1]), dtype=rows.dtype)])  # id `width`: padding
    lookup = keras.layers.Embedding(width + 1, rows.shape[1], name=unique(f"{name}_terms"))
    picked = lookup(ids)
    lookup.set_weights([table])
    scaled = ops.multiply(picked, ops.expand_dims(ops.cast(weights, "float32"), -1))
    return ops.sum(scaled, axis=1)


def fuse(model: keras.Model, features, notes: Records, *, one_hot: bool = True, fold: bool = False):
    """``model(features)`` computed through the first Dense layer's kernel, or None.

    ``features`` is the float64 preprocessing output and ``notes`` the records of how it
    was built (see :meth:`keras_embed_prep.blocks.records.Records.segments`). With
    ``one_hot``, one-hot blocks look up kernel rows. With ``fold``, affine blocks (StandardScaler,
    RobustScaler,
    MaxAbsScaler, MinMaxScaler without clip) are folded into the kernel and bias, so
    the raw columns are multiplied directly: faster, but float32 kernels lose what
    float64 preprocessing keeps (a column offset by 1e6 loses about 4e-4), so
    :func:`keras_embed_prep.verify` decides whether it is acceptable. Returns None
    when there is nothing to fuse or (without ``fold``) the model does not start with
    a plain float32 Dense layer.
    """
    parts = notes.segments(features)
    wanted = (one_hot and any(kind in ("one_hot", "bag") for kind, *_ in parts)) or (
        fold and any(kind == "dense" and notes.affine_of(t) is not None for kind, t, *_ in parts)
    )
    if not wanted:
        return None
    found = _first_dense(model)
    usable = (
        found is not None and found[0].dtype_policy.name == "float32" and found[0].quantization_mode is None
    )
    if not usable:
        if fold:
            raise UnsupportedParameterError(
                f"embed(fold=True) folds preprocessing into the first layer, but model {model.name!r} "
                "does not start with a plain float32 Dense layer reading its input. Use fold=False."
            )
        return None
    dense, rest = found
    kernel = np.asarray(ops.convert_to_numpy(dense.kernel))
    units = kernel.shape[1]
    bias = np.zeros(units)
    if dense.use_bias:
        bias = bias + np.asarray(ops.convert_to_numpy(dense.bias), dtype=np.float64)
    sources, inner, terms, numeric, numeric_rows, offset = [], [], [], [], [], 0
    fused_from = []

    def source(tensor):  # the fused layer's own input for an outer tensor
        sources.append(tensor)
        inner.append(keras.Input(shape=tuple(tensor.shape[1:]), dtype=tensor.dtype, name=f"in{len(inner)}"))
        return inner[-1]

    for kind, tensor, *one_hot_of in parts:
        width = int(tensor.shape[-1])
        rows = kernel[offset : offset + width]
        offset += width
        folded = (
            _folded(notes.affine_of(tensor), rows.astype(np.float64)) if fold and kind == "dense" else None
        )
        if kind == "one_hot" and one_hot:
            positions, _ = one_hot_of
            table = np.vstack([rows, np.zeros((1, units), dtype=kernel.dtype)])  # row `width`: no output
            lookup = keras.layers.Embedding(width + 1, units, name=unique(f"{dense.name}_rows"))
            picked = lookup(source(positions))
            lookup.set_weights([table])
            terms.append(ops.sum(picked, axis=1))
            fused_from.append(notes.stage_of(tensor) or "one_hot")
        elif kind == "bag" and one_hot:
            ids, weights, bag_width = one_hot_of
            terms.append(_weighted_rows(dense.name, rows, source(ids), source(weights), bag_width))
            fused_from.append(notes.stage_of(tensor) or "bag")
        elif folded is not None:
            folded_source, folded_rows, folded_bias = folded
            numeric.append(ops.cast(source(folded_source), "float32"))
            numeric_rows.append(folded_rows.astype(np.float32))
            bias = bias + folded_bias
            fused_from.append(notes.stage_of(tensor) or "affine")
        else:
            numeric.append(ops.cast(source(tensor), "float32"))
            numeric_rows.append(rows)
    if numeric:
        product = keras.layers.Dense(units, use_bias=False, name=unique(f"{dense.name}_numeric"))
        term = product(records.concat(numeric))
        product.set_weights([np.vstack(numeric_rows)])
        terms.append(term)
    pre = terms[0]
    for term in terms[1:]:
        pre = ops.add(pre, term)
    if dense.use_bias or fold:
        pre = ops.add(pre, bias.astype(np.float32))
    activated = keras.layers.Activation(dense.activation, name=unique(f"{dense.name}_activation"))(pre)
    name = f"{dense.name}_fused_with_{'_and_'.join(dict.fromkeys(fused_from))}"
    layer = keras.Model(inner[0] if len(inner) == 1 else inner, activated, name=name)
    return rest(layer(sources[0] if len(sources) == 1 else sources))
