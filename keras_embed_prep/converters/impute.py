"""SimpleImputer (numbers) and MissingIndicator."""

from __future__ import annotations

import numbers

import numpy as np
from keras import ops
from sklearn.impute import MissingIndicator, SimpleImputer

from .. import blocks
from ..registry import register_converter
from ._checks import exact_in_float32, refuse


def _numeric_missing_value(estimator) -> float:
    value = estimator.missing_values
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        exact_in_float32(estimator, "missing_values", float(value))
        return float(value)
    raise refuse(
        estimator,
        "missing_values",
        value,
        "on numeric columns only NaN or a number can be converted; "
        "convert None / pd.NA to NaN before fitting.",
    )


@register_converter(
    SimpleImputer,
    notes=(
        "Numeric columns: any strategy (statistics_ is used), NaN or a number as missing_values, "
        "add_indicator, keep_empty_features; all-missing columns are dropped as in scikit-learn."
    ),
)
def convert_simple_imputer(estimator, x):
    mask = blocks.missing_mask(x, _numeric_missing_value(estimator))
    statistics = _numeric_statistics(estimator)
    if estimator.keep_empty_features:
        y = blocks.fill_where(x, mask, statistics)
    else:
        valid = np.flatnonzero(~np.isnan(statistics))
        y = blocks.fill_where(x, mask, np.where(np.isnan(statistics), 0.0, statistics))
        y = blocks.take_columns(y, valid)
    if estimator.add_indicator:
        y = blocks.concat([y, _indicate(estimator.indicator_, mask)])
    return y


def _numeric_statistics(estimator) -> np.ndarray:
    """``statistics_`` as float64 (strategy='constant' stores an object array of numbers)."""
    statistics = np.asarray(estimator.statistics_)
    if statistics.dtype.kind == "O" and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in statistics
    ):
        statistics = statistics.astype(np.float64)
    if statistics.dtype.kind not in "fiu":
        raise refuse(
            estimator,
            "statistics_",
            statistics.tolist()[:5],
            "imputing text columns is not supported yet; only numeric columns convert.",
        )
    return statistics.astype(np.float64)


def _indicate(indicator, mask):
    """MissingIndicator's output for a precomputed missing mask."""
    n_features = int(mask.shape[-1])
    features = np.asarray(indicator.features_, dtype=np.int64)
    flags = blocks.as_float64(blocks.take_columns(mask, features))
    if indicator.features == "missing-only" and indicator.error_on_new and features.size < n_features:
        unseen = np.setdiff1d(np.arange(n_features), features)
        new_missing = ops.any(blocks.take_columns(mask, unseen), axis=1)
        flags = ops.add(
            flags,
            blocks.fail_if_any(
                new_missing,
                "MissingIndicator(error_on_new=True): a column with no missing values "
                "at fit has missing values now",
            ),
        )
    return flags


@register_converter(
    MissingIndicator,
    notes=(
        "features='missing-only' or 'all'; error_on_new=True fails at inference when a column "
        "that had no missing value at fit has one, as scikit-learn raises. Output is 0.0/1.0."
    ),
)
def convert_missing_indicator(estimator, x):
    return _indicate(estimator, blocks.missing_mask(x, _numeric_missing_value(estimator)))
