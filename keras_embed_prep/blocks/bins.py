"""Positions in sorted tables: bins (searchsorted), counts at most x, linear interpolation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from keras import ops

from .floats import as_float64, f64


def bucketize(x, edges: Sequence[np.ndarray], side: str = "right"):
    """Per column ``np.searchsorted(edges[j], x[:, j], side=side)``, as float64 ``(batch, n)``.

    ``edges[j]`` are column ``j``'s sorted inner bin edges (any number per column, none
    for a single bin). ``searchsorted(side="right")`` on sorted edges counts the edges
    ``<= x``, so ``x`` ``(batch, n, 1)`` is compared in float64 with one padded float64
    ``(1, n, max_edges)`` matrix and the hits are counted: a constant number of graph
    nodes for any number of columns. Padding is the largest float64, not ``inf``, so
    the saved config stays strict JSON; the count is capped at ``len(edges[j])``, so a
    value at or above the padding (``+inf``) lands in the last bin. NaN compares false
    with every edge and lands in bin 0. Never float32 edges: they move boundaries by
    up to half a float32 ulp, which on a narrow column puts many values in the wrong bin.
    """
    counts = np.array([len(e) for e in edges], dtype=np.int32)
    table = np.full((1, len(edges), max(int(counts.max(initial=0)), 1)), np.finfo(np.float64).max)
    for j, e in enumerate(edges):
        table[0, j, : len(e)] = e
    compare = ops.less_equal if side == "right" else ops.less  # "left": the edges < x
    hits = compare(table, ops.expand_dims(as_float64(x), 2))
    bins = ops.minimum(ops.sum(ops.cast(hits, "int32"), axis=2), counts)
    return as_float64(bins)


def count_at_most(x, table):
    """Per column, how many entries of ``table[j]`` are ``<= x[:, j]`` (int32 ``(batch, n)``).

    ``searchsorted(table[j], x[:, j], side="right")`` for all columns at once: one
    float64 comparison with the ``(n, k)`` table, ``batch * n * k`` booleans. NaN counts 0.
    """
    hits = ops.less_equal(f64(table), ops.expand_dims(x, -1))
    return ops.sum(ops.cast(hits, "int32"), axis=-1)


def interpolate(x, xp, fp):
    """``np.interp(x[:, j], xp[j], fp[j])`` for every column ``j`` at once, in float64.

    ``xp`` is ``(n, k)``, non-decreasing along each row (repeated values allowed);
    ``fp`` is ``(n, k)`` or ``(k,)``. numpy's own rules: ``j`` is the last point with
    ``xp[j] <= x``; below the first point ``fp[0]``, at or above the last ``fp[-1]``,
    ``fp[j]`` where ``x == xp[j]``, else ``slope * (x - xp[j]) + fp[j]`` with
    ``slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])``. NaN gives NaN. (numpy's retry
    from the right end when that yields NaN needs non-finite points, which fitted
    tables do not hold.)
    """
    xp = f64(xp)
    n_columns, n_points = xp.shape
    fp = np.broadcast_to(f64(fp), xp.shape)
    if n_points == 1:
        y = ops.add(ops.zeros_like(x), fp[:, 0])
        return ops.where(ops.isnan(x), x, y)
    j = ops.subtract(count_at_most(x, xp), 1)
    offsets = np.arange(n_columns, dtype=np.int32) * n_points
    at = ops.add(ops.clip(j, 0, n_points - 2), offsets)
    flat_x, flat_y = xp.reshape(-1), fp.reshape(-1)
    x0, x1 = ops.take(flat_x, at), ops.take(flat_x, ops.add(at, 1))
    y0, y1 = ops.take(flat_y, at), ops.take(flat_y, ops.add(at, 1))
    slope = ops.divide(ops.subtract(y1, y0), ops.subtract(x1, x0))
    y = ops.add(ops.multiply(slope, ops.subtract(x, x0)), y0)
    y = ops.where(ops.equal(x, x0), y0, y)
    y = ops.where(ops.less(j, 0), fp[:, 0], y)
    y = ops.where(ops.greater_equal(j, n_points - 1), fp[:, -1], y)
    return ops.where(ops.isnan(x), x, y)
