"""Yeo-Johnson and Box-Cox power transforms and their inverses, in float64."""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from .floats import f64

#: float64 machine epsilon (``np.spacing(1.0)``): scipy's threshold for the Yeo-Johnson branches.
_EPS = float(np.finfo(np.float64).eps)


def _divisor(x, values):
    """``values`` (one per column) as a ``(batch, n)`` tensor computed from ``x``, to divide by.

    TensorFlow's graph optimizer (grappler constant folding, which runs for SavedModel
    serving, ``tf.function`` and ``model.predict``) rewrites ``y / constant`` into
    ``y * (1 / constant)``, one ulp away from scikit-learn's division; a divisor that
    depends on the input is left alone. Where ``x`` is NaN the result is NaN anyway.
    """
    return ops.where(ops.isnan(x), 1.0, f64(values))


def yeo_johnson(x, lambdas):
    """``scipy.stats.yeojohnson(x[:, j], lambdas[j])`` for every column at once, in float64.

    scipy's own formulas and branches: for ``x >= 0``, ``log1p(x)`` if
    ``|lambda| < eps`` else ``expm1(lambda * log1p(x)) / lambda``; for ``x < 0``,
    ``-log1p(-x)`` if ``|lambda - 2| <= eps`` else
    ``-expm1((2 - lambda) * log1p(-x)) / (2 - lambda)``. The branch is chosen per
    column from the constant ``lambdas``; NaN falls in the ``x < 0`` branch and stays NaN.
    """
    lam = f64(lambdas)
    log_branch = np.abs(lam) < _EPS
    neg_log_branch = ~(np.abs(lam - 2.0) > _EPS)
    lam_pos = np.where(log_branch, 1.0, lam)
    lam_neg = np.where(neg_log_branch, 1.0, 2.0 - lam)
    log_pos = ops.log1p(x)
    pos = ops.divide(ops.expm1(ops.multiply(log_pos, lam_pos)), _divisor(x, lam_pos))
    pos = ops.where(log_branch, log_pos, pos)
    log_neg = ops.log1p(ops.negative(x))
    neg = ops.divide(ops.negative(ops.expm1(ops.multiply(log_neg, lam_neg))), _divisor(x, lam_neg))
    neg = ops.where(neg_log_branch, ops.negative(log_neg), neg)
    return ops.where(ops.greater_equal(x, 0.0), pos, neg)


def box_cox(x, lambdas):
    """``scipy.special.boxcox(x[:, j], lambdas[j])`` for every column at once, in float64.

    scipy's three branches: ``log(x)`` if ``|lambda| < 1e-19``; else
    ``expm1(lambda * log(x)) / lambda`` while ``lambda * log(x) < 709.78``; beyond,
    where ``expm1`` would overflow, ``sign(lambda) * exp(lambda * log(x) - log|lambda|) - 1 / lambda``.
    """
    lam = f64(lambdas)
    log_branch = np.abs(lam) < 1e-19
    lam = np.where(log_branch, 1.0, lam)
    log_x = ops.log(x)
    power = ops.multiply(log_x, lam)
    regular = ops.divide(ops.expm1(power), _divisor(x, lam))
    large = ops.subtract(
        ops.multiply(ops.exp(ops.subtract(power, np.log(np.abs(lam)))), np.copysign(1.0, lam)), 1.0 / lam
    )
    y = ops.where(ops.less(power, 709.78), regular, large)
    return ops.where(log_branch, log_x, y)


def _held(x, values):
    """``values`` (one per column) as a tensor computed from ``x`` (see :func:`_divisor`).

    For a divisor, and also for a ``pow`` exponent and the ``1`` in ``exp(x) - 1``, which
    TensorFlow's graph optimizer would otherwise rewrite when they are constants
    (``pow(x, 0.5)`` to ``sqrt``, ``exp(x) - 1`` to ``expm1``): the served model then
    computes what the eager one does.
    """
    return _divisor(x, values)


def yeo_johnson_inverse(x, lambdas):
    """``PowerTransformer._yeo_johnson_inverse_transform(x[:, j], lambdas[j])``, in float64.

    scikit-learn's formulas literally, per column: for ``x >= 0``, ``exp(x) - 1`` if
    ``|lambda| < eps`` else ``(x * lambda + 1) ** (1 / lambda) - 1``; for ``x < 0``,
    ``1 - exp(-x)`` if ``|lambda - 2| <= eps`` else
    ``1 - (-(2 - lambda) * x + 1) ** (1 / (2 - lambda))``. A negative base gives NaN and
    a zero base with a negative exponent ``inf``, as ``np.power``; NaN stays NaN.
    """
    lam = f64(lambdas)
    log_branch = np.abs(lam) < _EPS
    neg_log_branch = ~(np.abs(lam - 2.0) > _EPS)
    lam_pos = np.where(log_branch, 1.0, lam)
    lam_neg = np.where(neg_log_branch, 1.0, 2.0 - lam)
    base = ops.add(ops.multiply(x, lam_pos), 1.0)
    pos = ops.subtract(ops.power(base, _held(x, 1.0 / lam_pos)), 1.0)
    pos = ops.where(log_branch, ops.subtract(ops.exp(x), _held(x, np.ones_like(lam))), pos)
    base = ops.add(ops.multiply(x, -lam_neg), 1.0)
    neg = ops.subtract(1.0, ops.power(base, _held(x, 1.0 / lam_neg)))
    neg = ops.where(neg_log_branch, ops.subtract(1.0, ops.exp(ops.negative(x))), neg)
    return ops.where(ops.greater_equal(x, 0.0), pos, neg)


def box_cox_inverse(x, lambdas):
    """``scipy.special.inv_boxcox(x[:, j], lambdas[j])`` for every column at once, in float64.

    scipy's three branches: ``exp(x)`` if ``lambda == 0``; else
    ``exp(log1p(lambda * x) / lambda)`` while ``lambda * x < 1.79e308``; beyond,
    ``exp((log(sign(lambda) * (x + 1 / lambda)) + log|lambda|) / lambda)``. ``lambda * x < -1``
    gives NaN; NaN stays NaN.
    """
    lam = f64(lambdas)
    exp_branch = lam == 0.0
    lam = np.where(exp_branch, 1.0, lam)
    product = ops.multiply(x, lam)
    regular = ops.exp(ops.divide(ops.log1p(product), _divisor(x, lam)))
    shifted = ops.multiply(ops.add(x, 1.0 / lam), np.copysign(1.0, lam))
    log_abs = f64([math.log(abs(v)) for v in lam])
    large = ops.exp(ops.divide(ops.add(ops.log(shifted), log_abs), _divisor(x, lam)))
    # A float64 array: comparisons read a Python float as float32, which 1.79e308 overflows.
    y = ops.where(ops.less(product, f64([1.79e308])), regular, large)
    return ops.where(exp_branch, ops.exp(x), y)
