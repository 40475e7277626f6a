"""Scalers, Normalizer and Binarizer: per-column affine maps and row norms."""

from __future__ import annotations

from sklearn.preprocessing import (
    Binarizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    RobustScaler,
    StandardScaler,
)

from ..blocks import affine, linear
from ..registry import register_converter
from ._checks import refuse


@register_converter(StandardScaler, notes="with_mean, with_std; divides by scale_ (constant columns: 1).")
def convert_standard_scaler(estimator, x):
    return affine.center_scale(
        x,
        center=estimator.mean_ if estimator.with_mean else None,
        scale=estimator.scale_ if estimator.with_std else None,
    )


@register_converter(MinMaxScaler, notes="Any feature_range; clip=True.")
def convert_min_max_scaler(estimator, x):
    y = affine.scale_shift(x, estimator.scale_, estimator.min_)
    if estimator.clip:
        low, high = estimator.feature_range
        y = affine.clip(y, low, high)
    return y


@register_converter(MaxAbsScaler, notes="Divides by scale_ (all-zero columns: 1).")
def convert_max_abs_scaler(estimator, x):
    return affine.center_scale(x, scale=estimator.scale_)


@register_converter(
    RobustScaler,
    notes="with_centering, with_scaling, any quantile_range, unit_variance (all read from center_/scale_).",
)
def convert_robust_scaler(estimator, x):
    return affine.center_scale(
        x,
        center=estimator.center_ if estimator.with_centering else None,
        scale=estimator.scale_ if estimator.with_scaling else None,
    )


@register_converter(
    Normalizer,
    notes="norm='l1', 'l2', 'max'; row norms below 10*eps (float64) count as 1, as in scikit-learn.",
)
def convert_normalizer(estimator, x):
    if estimator.norm not in ("l1", "l2", "max"):
        raise refuse(estimator, "norm", estimator.norm, "use 'l1', 'l2' or 'max'.")
    return linear.normalize_rows(x, estimator.norm)


@register_converter(Binarizer, notes="Any threshold; values equal to it map to 0.")
def convert_binarizer(estimator, x):
    return affine.greater_than(x, estimator.threshold)
