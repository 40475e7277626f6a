"""Quantile maps (uniform and normal output) and their inverses, in float64."""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from .bins import interpolate
from .floats import f64


def normal_ppf(p):
    """The standard normal quantile function, ``sqrt(2) * erfinv(2p - 1)``, in float64.

    Equal to ``scipy.special.ndtri`` within about 1e-11 on (0, 1); ``-inf`` at 0 and
    ``inf`` at 1, NaN for NaN.
    """
    return ops.multiply(ops.erfinv(ops.subtract(ops.multiply(p, 2.0), 1.0)), np.sqrt(2.0))


#: scikit-learn's ``BOUNDS_THRESHOLD`` for QuantileTransformer.
QUANTILE_BOUNDS_THRESHOLD = 1e-7


def quantile_transform(x, quantiles, references, output_distribution: str):
    """QuantileTransformer's forward map, column by column, in float64.

    ``quantiles`` is ``(n_quantiles, n)`` and ``references`` ``(n_quantiles,)``, as
    fitted. scikit-learn's steps in its order: the mean of the interpolation upwards
    and downwards, ``0.5 * (interp(x, q, r) - interp(-x, -q[::-1], -r[::-1]))``, which
    averages over repeated quantiles; then values at the upper bound become 1 and at
    the lower bound 0 (lower wins), the bounds being ``x == q[0]`` / ``x == q[-1]`` for
    the uniform output and ``x - 1e-7 < q[0]`` / ``x + 1e-7 > q[-1]`` for the normal
    one; for the normal output, the normal quantile function clipped to
    ``ndtri(1e-7 - eps)`` and ``ndtri(1 - (1e-7 - eps))``. NaN stays NaN.
    """
    from scipy.special import ndtri

    q = f64(quantiles).T
    r = f64(references)
    up = interpolate(x, q, r)
    down = interpolate(ops.negative(x), -q[:, ::-1], -r[::-1])
    p = ops.multiply(ops.subtract(up, down), 0.5)
    if output_distribution == "normal":
        lower = ops.less(ops.subtract(x, QUANTILE_BOUNDS_THRESHOLD), q[:, 0])
        upper = ops.greater(ops.add(x, QUANTILE_BOUNDS_THRESHOLD), q[:, -1])
    else:
        lower = ops.equal(x, q[:, 0])
        upper = ops.equal(x, q[:, -1])
    p = ops.where(upper, 1.0, p)
    p = ops.where(lower, 0.0, p)
    if output_distribution != "normal":
        return p
    margin = QUANTILE_BOUNDS_THRESHOLD - np.spacing(1.0)
    return ops.clip(normal_ppf(p), float(ndtri(margin)), float(ndtri(1.0 - margin)))


def normal_cdf(x):
    """``scipy.stats.norm.cdf`` (``scipy.special.ndtr``) in float64, as scipy computes it.

    ``t = x * sqrt(1/2)``: ``0.5 + 0.5 * erf(t)`` where ``|t| < 1``, else
    ``0.5 * erfc(|t|)``, subtracted from 1 for ``t > 0``. ``erfc`` keeps full relative
    precision in the lower tail, where ``0.5 + 0.5 * erf`` would cancel. Within a few ulp
    of scipy; 0 at ``-inf``, 1 at ``inf``, NaN for NaN.
    """
    t = ops.multiply(x, math.sqrt(0.5))
    z = ops.abs(t)
    central = ops.add(ops.multiply(ops.erf(t), 0.5), 0.5)
    tail = ops.multiply(ops.erfc(z), 0.5)
    tail = ops.where(ops.greater(t, 0.0), ops.subtract(1.0, tail), tail)
    return ops.where(ops.less(z, 1.0), central, tail)


def quantile_inverse(x, quantiles, references, output_distribution: str):
    """QuantileTransformer's ``inverse_transform``, column by column, in float64.

    scikit-learn's ``_transform_col(..., inverse=True)`` in its order: for the normal
    output ``p = norm.cdf(x)`` first (the uniform output is used as is); then
    ``np.interp(p, references, quantiles[:, j])``, which holds ``quantiles[0]`` below
    0 and ``quantiles[-1]`` above 1; then values at the upper bound take
    ``quantiles[-1]`` and at the lower bound ``quantiles[0]`` (lower wins), the bounds
    being ``p == 1`` / ``p == 0`` for the uniform output and ``p + 1e-7 > 1`` /
    ``p - 1e-7 < 0`` for the normal one. NaN stays NaN.
    """
    q = f64(quantiles).T
    r = np.broadcast_to(f64(references), q.shape)
    if output_distribution == "normal":
        p = normal_cdf(x)
        lower = ops.less(ops.subtract(p, QUANTILE_BOUNDS_THRESHOLD), 0.0)
        upper = ops.greater(ops.add(p, QUANTILE_BOUNDS_THRESHOLD), 1.0)
    else:
        p = x
        lower = ops.equal(p, 0.0)
        upper = ops.equal(p, 1.0)
    y = interpolate(p, r, q)
    y = ops.where(upper, q[:, -1], y)
    return ops.where(lower, q[:, 0], y)
