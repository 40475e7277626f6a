"""The reusable math of the converters, as builders of Keras graph pieces.

Every function takes symbolic Keras tensors and returns symbolic Keras tensors
built from stock Keras layers and ``keras.ops`` calls, so a saved model loads
without keras_embed_prep. Numeric work is done in float64 with float64
constants, in the same order of operations as scikit-learn (subtract then
divide, never multiply by a reciprocal), and cast to float32 only once, at the
end of :func:`keras_embed_prep.to_keras`. On a column offset by 1e6 with a spread
of 1, float32 arithmetic loses about 4e-4; float64 meets the 1e-5 tolerance.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

#: Below this a row norm counts as zero, as in scikit-learn's ``_handle_zeros_in_scale``
#: on float64 data (the graph computes in float64).
_ZERO_NORM = 10 * np.finfo(np.float64).eps

_uid = itertools.count(1)


def f64(values) -> np.ndarray:
    """A float64 numpy constant (kept float64 until the final cast)."""
    return np.asarray(values, dtype=np.float64)


def as_float64(x):
    """Cast a numeric or boolean tensor to float64 (no-op if it already is)."""
    return x if x.dtype == "float64" else ops.cast(x, "float64")


def center_scale(x, center=None, scale=None):
    """``(x - center) / scale``, each step optional, in float64."""
    if center is not None:
        x = ops.subtract(x, f64(center))
    if scale is not None:
        x = ops.divide(x, f64(scale))
    return x


def scale_shift(x, scale, shift):
    """``x * scale + shift`` in float64 (MinMaxScaler's own order)."""
    return ops.add(ops.multiply(x, f64(scale)), f64(shift))


def clip(x, low: float, high: float):
    """Clip to ``[low, high]``; NaN stays NaN, as with ``np.clip``."""
    return ops.clip(x, np.float64(low), np.float64(high))


def greater_than(x, threshold):
    """1.0 where ``x > threshold``, else 0.0 (NaN compares false)."""
    return as_float64(ops.greater(x, f64(threshold)))


def missing_mask(x, missing_value):
    """Boolean mask of ``x`` equal to ``missing_value`` (NaN compares as missing)."""
    if isinstance(missing_value, float) and np.isnan(missing_value):
        return ops.isnan(x)
    return ops.equal(x, np.float64(missing_value))


def fill_where(x, mask, values):
    """``values`` (one per column) where ``mask`` is true, ``x`` elsewhere."""
    return ops.where(mask, f64(values), x)


def take_columns(x, indices: Sequence[int]):
    """Columns ``indices`` of ``x``, in that order, as one gather."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == int(x.shape[-1]) and np.array_equal(indices, np.arange(indices.size)):
        return x
    return ops.take(x, indices, axis=1)


def concat(parts: Sequence):
    """Concatenate blocks along the feature axis."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    return ops.concatenate(parts, axis=1)


def project(x, components, mean=None, whiten_variance=None):
    """``x @ components.T - mean @ components.T``, then divide by ``sqrt(whiten_variance)``.

    The same order as scikit-learn's ``PCA.transform``: project first, subtract the
    projected mean second; whitening divides by ``sqrt(explained_variance_)``
    clipped below at float64 machine epsilon. The matrix lives in a float64
    ``Dense`` layer so it is stored as a weight, not as JSON.
    """
    components = f64(components)
    kernel = components.T
    use_bias = mean is not None
    layer = keras.layers.Dense(
        kernel.shape[1], use_bias=use_bias, dtype="float64", name=f"projection_{next(_uid)}"
    )
    y = layer(x)
    weights = [kernel]
    if use_bias:
        # Dense adds its bias; adding -m is bit-identical to subtracting m.
        weights.append(-(f64(mean).reshape(1, -1) @ kernel).reshape(-1))
    layer.set_weights(weights)
    if whiten_variance is not None:
        scale = np.sqrt(f64(whiten_variance))
        scale = np.maximum(scale, np.finfo(np.float64).eps)
        y = ops.divide(y, scale)
    return y


def normalize_rows(x, norm: str):
    """Divide each row by its l1, l2 or max norm; norms below 10 * eps count as 1."""
    if norm == "l1":
        norms = ops.sum(ops.abs(x), axis=1, keepdims=True)
    elif norm == "l2":
        norms = ops.sqrt(ops.sum(ops.multiply(x, x), axis=1, keepdims=True))
    elif norm == "max":
        norms = ops.max(ops.abs(x), axis=1, keepdims=True)
    else:  # converters validate before calling
        raise ValueError(f"norm must be 'l1', 'l2' or 'max'. Received: {norm!r}.")
    norms = ops.where(ops.less(norms, np.float64(_ZERO_NORM)), np.float64(1.0), norms)
    return ops.divide(x, norms)


def monomials(x, powers):
    """Products of columns: output ``j`` is ``prod_i x[:, i] ** powers[j, i]``.

    Computed as repeated multiplications of gathered columns (no ``pow``), the way
    scikit-learn builds ``PolynomialFeatures``: memory is ``batch x n_outputs``
    per factor, never ``batch x n_outputs x n_features``.
    """
    powers = np.asarray(powers, dtype=np.int64)
    n_out, n_features = powers.shape
    degree = max(int(powers.sum(axis=1).max(initial=0)), 1)
    # Row j lists its factors' column indices; index n_features is a column of ones.
    factors = np.full((n_out, degree), n_features, dtype=np.int64)
    for j, row in enumerate(powers):
        idx = np.repeat(np.arange(n_features), row)
        factors[j, : idx.size] = idx
    ones = ops.ones_like(ops.take(x, np.array([0]), axis=1))
    extended = ops.concatenate([x, ones], axis=1)
    y = ops.take(extended, factors[:, 0], axis=1)
    for k in range(1, degree):
        if np.all(factors[:, k] == n_features):
            break
        y = ops.multiply(y, ops.take(extended, factors[:, k], axis=1))
    return y


def fail_if_any(flags, reason: str):
    """Make inference fail for any row whose ``flags`` entry is true, saying ``reason``.

    Two stock lookup layers: an inverted ``IntegerLookup`` turns the flag into the
    string ``"ok"`` or ``reason``, and a ``StringLookup`` over ``["ok"]`` with
    ``num_oov_indices=0`` rejects ``reason`` as out of vocabulary. That raises
    ``InvalidArgumentError`` in Keras and in the exported SavedModel alike, with
    ``reason`` in the message. Returns a float64 ``(batch, 1)`` tensor of zeros to be
    added to the output, which keeps the check in the graph.
    """
    uid = next(_uid)
    to_text = keras.layers.StringLookup(
        vocabulary=["ok", reason], num_oov_indices=0, invert=True, name=f"check_{uid}_reason"
    )
    check = keras.layers.StringLookup(vocabulary=["ok"], num_oov_indices=0, name=f"check_{uid}")
    zeros = check(to_text(ops.cast(flags, "int64")))
    return ops.expand_dims(as_float64(zeros), 1)
