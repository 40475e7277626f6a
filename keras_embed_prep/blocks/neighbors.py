"""Nearest stored rows (KNNImputer): nan-euclidean distances, the k nearest donors, their average.

Memory and time grow with the stored training rows: the rows live in float64 ``Dense``
weights (four ``n_features x n_train`` matrices), and imputing a batch builds
``(batch, n_features, n_train)`` float64 tensors (the donors of every column ranked at once).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from .floats import as_float64, f64
from .linear import project


def nan_euclidean(x, missing, fitted, fitted_missing):
    """``nan_euclidean_distances(x, fitted)`` in float64, in scikit-learn's order of operations.

    Missing coordinates count as 0 in ``-2 x.y + |x|^2 + |y|^2`` (clipped at 0), their
    squares are taken out again, the result is clipped at 0, divided by the number of
    coordinates present in both rows and scaled by ``n_features`` before the square root.
    Rows with no coordinate in common get NaN.
    """
    fitted_missing = np.asarray(fitted_missing, dtype=bool)
    fitted = np.where(fitted_missing, 0.0, f64(fitted))
    n_features = fitted.shape[1]
    x = ops.where(missing, np.float64(0.0), x)
    missing = as_float64(missing)
    squares = ops.multiply(x, x)
    distances = ops.add(ops.sum(squares, axis=1, keepdims=True), ops.multiply(project(x, fitted), -2.0))
    distances = ops.add(distances, f64(np.einsum("ij,ij->i", fitted, fitted)))
    distances = ops.maximum(distances, np.float64(0.0))
    distances = ops.subtract(distances, project(squares, fitted_missing.astype(np.float64)))
    distances = ops.subtract(distances, project(missing, fitted * fitted))
    distances = ops.maximum(distances, np.float64(0.0))
    present = project(ops.subtract(np.float64(1.0), missing), (~fitted_missing).astype(np.float64))
    distances = ops.divide(distances, ops.maximum(present, np.float64(1.0)))
    distances = ops.sqrt(ops.multiply(distances, np.float64(n_features)))
    return ops.where(ops.equal(present, 0.0), np.float64(np.nan), distances)


def donor_average(distances, fitted, fitted_missing, n_neighbors: int, weights: str):
    """For every column, the average of its ``n_neighbors`` nearest donors, as KNNImputer takes it.

    Donors of column ``j`` are the stored rows where ``j`` was present; those at NaN distance
    count with weight 0. ``weights="distance"`` weighs by ``1 / d``, and only the donors at
    distance 0 when there are some. Where no donor of ``j`` is at a defined distance the
    column's fitted mean is used. Returns ``(values, ambiguous)``, both ``(batch, n_features)``:
    ``ambiguous`` is true where donors tied at the k-th distance hold different values and
    only some of them are taken (scikit-learn's choice among them, by ``np.argpartition``,
    depends on numpy's selection algorithm and the CPU).
    """
    fitted = np.asarray(fitted)
    fitted_missing = np.asarray(fitted_missing, dtype=bool)
    n_train, n_features = fitted.shape
    # (batch, n_features, n_train), NaN where a stored value is missing: a weight, not a JSON constant
    values = _stored(distances, np.where(fitted_missing, np.nan, f64(fitted)).T)
    # NaN distances and non-donors rank last
    keys = ops.expand_dims(ops.where(ops.isnan(distances), np.float64(np.inf), distances), 1)
    keys = ops.where(ops.isnan(values), np.float64(np.inf), keys)
    k = min(n_neighbors, n_train)
    ranked, order = ops.top_k(ops.negative(keys), k=min(k + 1, n_train), sorted=True)
    ranked = ops.negative(ranked)
    donors = ops.take_along_axis(values, order[..., :k], axis=2)
    near = ranked[..., :k]
    finite = ops.isfinite(near)
    if weights == "distance":
        exact = ops.equal(near, 0.0)
        any_exact = ops.any(exact, axis=-1, keepdims=True)
        w = ops.where(any_exact, as_float64(exact), ops.divide(np.float64(1.0), near))
    else:
        w = as_float64(finite)
    w = ops.where(finite, w, np.float64(0.0))
    donors = ops.where(finite, donors, np.float64(0.0))  # picks past the donors: weight 0, value NaN
    average = ops.divide(ops.sum(ops.multiply(w, donors), axis=-1), ops.sum(w, axis=-1))
    means = [_fitted_mean(fitted[:, j], fitted_missing[:, j]) for j in range(n_features)]
    average = ops.where(ops.isfinite(near[..., 0]), average, f64(means))
    return average, _ambiguous(keys, ranked, values, k, weights)


def _ambiguous(keys, ranked, values, k: int, weights: str):
    """True where the k-th and the next donor tie at a finite distance and the tied donors differ."""
    if int(ranked.shape[-1]) <= k:
        return ops.zeros_like(ranked[..., 0], dtype="bool")
    kth = ranked[..., k - 1]
    tied = ops.equal(keys, ops.expand_dims(kth, -1))
    low = ops.min(ops.where(tied, values, np.float64(np.inf)), axis=-1)
    high = ops.max(ops.where(tied, values, np.float64(-np.inf)), axis=-1)
    ambiguous = ops.logical_and(ops.equal(ranked[..., k], kth), ops.not_equal(low, high))
    ambiguous = ops.logical_and(ambiguous, ops.isfinite(kth))
    if weights == "distance":  # donors beyond a distance-0 donor weigh nothing
        ambiguous = ops.logical_and(
            ambiguous, ops.logical_not(ops.logical_and(ops.equal(ranked[..., 0], 0.0), ops.greater(kth, 0.0)))
        )
    return ambiguous


def _stored(like, matrix):
    """``matrix`` (float64, NaN allowed) repeated for each row of ``like``: ``(batch, *matrix.shape)``.

    The values are the kernel of a ``Dense`` layer fed with ones (``1.0 * v`` is exact), so the
    ``.keras`` file stores them as a weight rather than as a list in the model's JSON config.
    """
    matrix = f64(matrix)
    flat = project(ops.ones_like(like[:, :1]), matrix.reshape(-1, 1))
    return ops.reshape(flat, (-1, *matrix.shape))


def _fitted_mean(column, missing) -> float:
    """The mean of a stored column's present values, in its dtype, as KNNImputer computes it."""
    return float(np.ma.array(column, mask=missing).mean()) if not missing.all() else np.nan
