"""B-spline bases (de Boor) and SplineTransformer's features with every extrapolation rule."""

from __future__ import annotations

import numpy as np
from keras import ops

from .bins import count_at_most
from .floats import f64


def _de_boor(x, knots: np.ndarray, interval, degree: int, derivative: bool):
    """scipy's ``_deBoor_D`` at ``x`` on knot ``interval``, per column, as ``degree + 1`` tensors.

    ``h[a]`` is the B-spline ``interval - degree + a`` (or its first derivative) at
    ``x``. scipy's steps literally, in its order of operations, its zero-initialized
    work array and its handling of empty knot spans included. The knots are gathered by
    the interval, so every division is by a computed tensor: TensorFlow's graph
    optimizer (SavedModel serving, ``tf.function``) rewrites a division by a constant
    into a multiplication by its reciprocal, one ulp off scikit-learn.
    """
    n_columns, n_knots = knots.shape
    flat = knots.reshape(-1)
    base = ops.add(interval, np.arange(n_columns, dtype=np.int32) * n_knots)

    def knot(offset: int):
        return ops.take(flat, ops.add(base, offset))

    zeros = ops.zeros_like(x)
    h = [ops.ones_like(x)] + [zeros] * degree
    levels = degree - 1 if derivative else degree
    for j in range(1, levels + 1):
        hh = h[:j]
        h[0] = zeros
        for n in range(1, j + 1):
            xb, xa = knot(n), knot(n - j)
            empty = ops.equal(xb, xa)
            w = ops.divide(hh[n - 1], ops.where(empty, 1.0, ops.subtract(xb, xa)))
            h[n - 1] = ops.where(empty, h[n - 1], ops.add(h[n - 1], ops.multiply(w, ops.subtract(xb, x))))
            h[n] = ops.where(empty, 0.0, ops.multiply(w, ops.subtract(x, xa)))
    if derivative and degree > 0:
        j = degree
        hh = h[:j]
        h[0] = zeros
        for n in range(1, j + 1):
            xb, xa = knot(n), knot(n - j)
            empty = ops.equal(xb, xa)
            w = ops.divide(ops.multiply(hh[n - 1], float(j)), ops.where(empty, 1.0, ops.subtract(xb, xa)))
            h[n - 1] = ops.where(empty, h[n - 1], ops.subtract(h[n - 1], w))
            h[n] = ops.where(empty, h[n], w)
            h[1] = ops.where(empty, 0.0, h[1])  # scipy sets h[m] (m = 1), not h[n], on an empty span
    elif derivative:
        h[0] = zeros
    return h


def bspline_basis(x, knots, degree: int, derivative: bool = False):
    """All B-splines of ``degree`` over each column's ``knots``, at ``x``, in float64.

    ``x`` is ``(batch, n)``, ``knots`` ``(n, m)``; returns ``(batch, n, m - degree - 1)``
    values (or, with ``derivative=True``, first derivatives). As
    ``scipy.interpolate.BSpline(..., extrapolate=True)``: ``x`` is placed in the knot
    interval ``l``, the last with ``t[l] <= x``, kept within ``[degree, m - degree - 2]``
    (so a value at the last base knot uses the last interval and values outside extend
    the first or last polynomial piece); scipy's de Boor recursion gives the
    ``degree + 1`` splines that are nonzero there, and every other spline is 0.
    """
    t = f64(knots)
    n_knots = t.shape[1]
    n_basis = n_knots - degree - 1
    interval = ops.clip(ops.subtract(count_at_most(x, t), 1), degree, n_basis - 1)
    h = _de_boor(x, t, interval, degree, derivative)
    index = ops.expand_dims(ops.subtract(interval, degree), -1)
    positions = np.arange(n_basis, dtype=np.int32)
    basis = ops.zeros_like(ops.multiply(ops.expand_dims(x, -1), positions.astype(np.float64)))
    for a, value in enumerate(h):
        hit = ops.equal(ops.add(index, a), positions)
        basis = ops.where(hit, ops.expand_dims(value, -1), basis)
    return basis


def _spline_combine(basis, coefficients):
    """``sum_i c[j, i, s] * B_i(x_j)``: scipy's ``BSpline.__call__`` with a 2-D ``c``."""
    c = f64(coefficients)
    if c.shape[1] == c.shape[2] and np.array_equal(c, np.broadcast_to(np.eye(c.shape[1]), c.shape)):
        return basis
    return ops.einsum("bjn,jns->bjs", basis, c)


def spline_features(x, knots, coefficients, degree: int, extrapolation: str):
    """SplineTransformer's dense output: ``(batch, n)`` -> ``(batch, n * n_splines)``, float64.

    ``knots`` ``(n, m)`` and ``coefficients`` ``(n, m - degree - 1, n_splines)`` are
    each column's fitted ``BSpline.t`` and ``BSpline.c``. scikit-learn's rules, with
    ``lo = t[degree]`` and ``hi = t[m - degree - 1]``:

    - ``"continue"`` / ``"error"``: the splines at ``x`` (extended beyond the knots;
      the caller makes ``"error"`` fail there).
    - ``"periodic"``: at ``lo + (x - lo) % (hi - lo)``, or at 0 where ``hi == lo``.
    - ``"constant"``: inside ``[lo, hi]`` the splines; below ``lo`` the first
      ``degree`` splines keep their value at ``lo``, above ``hi`` the last ``degree``
      their value at ``hi``; every other output is 0.
    - ``"linear"``: the same columns (``degree + 1`` of them for degree 0 or 1) continue
      as ``f(lo) + (x - lo) * f'(lo)`` below and ``f(hi) + (x - hi) * f'(hi)`` above.
      For degree 0 or 1, scikit-learn raises its loop variable ``degree`` in the first
      column(s) and keeps it for the next ones, which then take ``lo = t[degree']`` and
      ``hi = t[m - degree' - 1]`` with the raised ``degree'``: reproduced as is.

    NaN gives zeros (``handle_missing="zeros"``).
    """
    t = f64(knots)
    n_columns, n_knots = t.shape
    lo, hi = t[:, degree], t[:, n_knots - degree - 1]
    n_splines = int(np.shape(coefficients)[-1])
    missing = ops.expand_dims(ops.isnan(x), -1)
    if extrapolation == "periodic":
        period = hi - lo
        has_period = period > 0
        wrapped = ops.add(ops.mod(ops.subtract(x, lo), np.where(has_period, period, 1.0)), lo)
        x = ops.where(has_period, wrapped, 0.0)
    if extrapolation not in ("constant", "linear"):
        y = _spline_combine(bspline_basis(x, t, degree), coefficients)
    else:
        bound, reach = _spline_edges(n_columns, degree, extrapolation)
        lo = t[np.arange(n_columns), bound]
        hi = t[np.arange(n_columns), n_knots - bound - 1]
        inside = ops.expand_dims(ops.logical_and(ops.greater_equal(x, lo), ops.less_equal(x, hi)), -1)
        under_lo, over_hi = ops.less(x, lo), ops.greater(x, hi)
        below, above = ops.expand_dims(under_lo, -1), ops.expand_dims(over_hi, -1)
        # where, not minimum/maximum: those run in float32 on PyTorch (Keras' type promotion)
        edge = ops.where(under_lo, lo, ops.where(over_hi, hi, x))
        first = np.arange(n_splines) < reach[:, None]
        last = np.arange(n_splines) >= n_splines - reach[:, None]
        if extrapolation == "constant":
            values = _spline_combine(bspline_basis(edge, t, degree), coefficients)
            keep = ops.logical_or(
                inside,
                ops.logical_or(ops.logical_and(below, first), ops.logical_and(above, last)),
            )
            y = ops.where(keep, values, 0.0)
        else:
            values = _spline_combine(bspline_basis(edge, t, degree), coefficients)
            slope = _spline_combine(bspline_basis(edge, t, degree, derivative=True), coefficients)
            under = ops.add(values, ops.multiply(ops.expand_dims(ops.subtract(x, lo), -1), slope))
            over = ops.add(values, ops.multiply(ops.expand_dims(ops.subtract(x, hi), -1), slope))
            y = ops.where(ops.logical_and(above, last), over, 0.0)
            y = ops.where(ops.logical_and(below, first), under, y)
            y = ops.where(inside, values, y)
    y = ops.where(missing, 0.0, y)
    return ops.reshape(y, (-1, n_columns * n_splines))


def _spline_edges(n_columns: int, degree: int, extrapolation: str):
    """Per column: the knot index of the boundary, and how many splines extrapolate.

    scikit-learn's own loop over columns, whose ``degree`` variable the
    ``"linear"`` branch raises (``if degree <= 1: degree += 1``) and never resets.
    """
    bound, reach = [], []
    for _ in range(n_columns):
        bound.append(degree)
        if extrapolation == "linear" and degree <= 1:
            degree += 1
        reach.append(degree)
    return np.array(bound), np.array(reach)
