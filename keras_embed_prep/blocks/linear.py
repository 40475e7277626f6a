"""Row-wise linear algebra in float64: projections (PCA, SVD), row norms, polynomial products."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .floats import f64
from .names import unique

#: Below this a row norm counts as zero, as in scikit-learn's ``_handle_zeros_in_scale``
#: on float64 data (the graph computes in float64).
_ZERO_NORM = 10 * np.finfo(np.float64).eps


def project(x, components, mean=None, whiten_variance=None):
    """``x @ components.T - mean @ components.T``, then divide by ``sqrt(whiten_variance)``.

    The same order as scikit-learn's ``PCA.transform``: project first, subtract the
    projected mean second; whitening divides by ``sqrt(explained_variance_)`` clipped
    below at the machine epsilon of its dtype. The projection of ``x`` is float64 (the
    served rows are); what depends on fitted attributes alone (the projected mean, the
    whitening divisor) is computed here in the dtype they were fitted in, as
    scikit-learn computes it: float32 for an estimator fitted on float32 data. The
    matrix lives in a float64 ``EinsumDense`` layer so it is stored as a weight, not as
    JSON; not ``Dense``, whose ``matmul`` Keras computes in float32 on PyTorch (its type
    promotion maps float64 to float32 outside TensorFlow), while ``einsum`` keeps float64.
    """
    components = np.asarray(components)
    kernel = f64(components).T
    use_bias = mean is not None
    layer = keras.layers.EinsumDense(
        "ab,bc->ac",
        output_shape=(kernel.shape[1],),
        bias_axes="c" if use_bias else None,
        dtype="float64",
        name=unique("projection"),
    )
    y = layer(x)
    weights = [kernel]
    if use_bias:
        # Dense adds its bias; adding -m is bit-identical to subtracting m.
        weights.append(-f64(np.asarray(mean).reshape(1, -1) @ components.T).reshape(-1))
    layer.set_weights(weights)
    if whiten_variance is not None:
        scale = np.sqrt(np.asarray(whiten_variance))
        scale = np.maximum(scale, np.finfo(scale.dtype).eps)
        y = ops.divide(y, f64(scale))
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


def divide_by_p_norm(x, p: float):
    """Each row divided by its p-norm, rows of norm 0 unchanged (Spark ML's ``Normalizer``).

    Spark's norms: the sum of ``|x|`` for ``p=1``, ``sqrt(sum x*x)`` for ``p=2``, the largest
    ``|x|`` for ``p=inf`` (a NaN never counts as larger), else ``(sum |x|**p) ** (1/p)``.
    """
    magnitude = ops.abs(x)
    if p == 1:
        norms = ops.sum(magnitude, axis=1, keepdims=True)
    elif p == 2:
        norms = ops.sqrt(ops.sum(ops.multiply(x, x), axis=1, keepdims=True))
    elif np.isinf(p):
        norms = ops.max(ops.where(ops.isnan(x), np.float64(0.0), magnitude), axis=1, keepdims=True)
    else:
        norms = ops.power(ops.sum(ops.power(magnitude, np.float64(p)), axis=1, keepdims=True), 1.0 / p)
    zero = ops.equal(norms, np.float64(0.0))
    return ops.where(zero, x, ops.divide(x, ops.where(zero, np.float64(1.0), norms)))


def running_products(x, factors):
    """Output ``j`` is the product of columns ``factors[j]``, multiplied in that order.

    ``factors`` is an int ``(n_out, degree)`` table; index ``n_features`` pads a row (a column of
    ones). Once a partial product is 0 it stays 0, even times NaN or inf: Spark ML's
    ``PolynomialExpansion`` skips a term whose partial product is zero.
    """
    factors = np.asarray(factors, dtype=np.int64)
    ones = ops.ones_like(ops.take(x, np.array([0]), axis=1))
    extended = ops.concatenate([x, ones], axis=1)
    y = ops.take(extended, factors[:, 0], axis=1)
    for k in range(1, factors.shape[1]):
        step = ops.multiply(y, ops.take(extended, factors[:, k], axis=1))
        y = ops.where(ops.equal(y, np.float64(0.0)), y, step)
    return y
