"""IterativeImputer with linear estimators: each round's regressions as float64 steps in the graph."""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (makes IterativeImputer importable)
from sklearn.impute import IterativeImputer
from sklearn.linear_model import ARDRegression, BayesianRidge, ElasticNet, Lasso, LinearRegression, Ridge

from ..blocks import affine, floats, linear, records
from ..registry import convert, register_converter
from ._checks import refuse
from .impute import indicate, numeric_missing_value

#: Estimators whose ``predict`` is ``X @ coef_ + intercept_``.
LINEAR = (BayesianRidge, LinearRegression, Ridge, ARDRegression, Lasso, ElasticNet)


def _limit(estimator, name: str, value, n_columns: int) -> np.ndarray:
    limit = np.asarray(value, dtype=np.float64)
    if limit.ndim == 0:
        return np.full(n_columns, float(limit))
    if limit.shape != (n_columns,):
        raise refuse(estimator, name, value, f"give a number or one value per imputed column ({n_columns}).")
    return limit


def _predict(imputer, estimator, x):
    """``estimator.predict(x)`` of a regressor of ``imputer``, as a float64 ``(batch, 1)`` tensor."""
    if type(estimator) not in LINEAR:
        raise refuse(
            imputer,
            "estimator",
            type(estimator).__name__,
            f"only linear regressors convert: {', '.join(c.__name__ for c in LINEAR)}.",
        )
    coef = np.asarray(estimator.coef_, dtype=np.float64).reshape(1, -1)
    y = linear.project(x, coef)
    return ops.add(y, np.float64(estimator.intercept_))


@register_converter(
    IterativeImputer,
    notes="Linear estimators (BayesianRidge, the default, LinearRegression, Ridge, ARDRegression, Lasso, "
    "ElasticNet): the initial SimpleImputer, then every fitted round's regressions in order, clipped to "
    "min_value / max_value; add_indicator; NaN or a number as missing_values. The graph grows with "
    "n_iter_ x features. sample_posterior=True (random draws) and keep_empty_features=True are refused.",
)
def convert_iterative_imputer(estimator, x):
    if estimator.sample_posterior:
        raise refuse(estimator, "sample_posterior", True, "random draws cannot be reproduced; use False.")
    if estimator.keep_empty_features:
        raise refuse(estimator, "keep_empty_features", True, "use False (empty columns are dropped).")
    missing = affine.missing_mask(x, numeric_missing_value(estimator))
    filled = convert(estimator.initial_imputer_, x)
    kept = np.flatnonzero(~np.isnan(np.asarray(estimator.initial_imputer_.statistics_, dtype=np.float64)))
    mask = affine.take_columns(missing, kept)
    n = kept.size
    low = _limit(estimator, "min_value", estimator.min_value, n)
    high = _limit(estimator, "max_value", estimator.max_value, n)
    iterated = filled
    for step in estimator.imputation_sequence_ if estimator.n_iter_ else []:
        j = int(step.feat_idx)
        predicted = _predict(estimator, step.estimator, affine.take_columns(iterated, step.neighbor_feat_idx))
        predicted = ops.clip(predicted, np.float64(low[j]), np.float64(high[j]))
        column = np.arange(n) == j
        iterated = ops.where(ops.logical_and(mask, column), predicted, iterated)
    # scikit-learn returns the initial imputation alone when every value of the batch is missing
    y = ops.where(ops.all(mask), filled, iterated) if estimator.n_iter_ else filled
    y = floats.as_float64(y)
    if estimator.add_indicator:
        y = records.concat([y, indicate(estimator.indicator_, missing)])
    return y
