"""Regression targets: ``inverse_transform`` of scalers, power, quantile and function transforms,
in float64, returned as float32."""

from __future__ import annotations

from keras import ops
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from ..blocks import affine, floats, power, quantile
from ..converters._checks import check_choice, refuse
from ..converters.functions import NUMPY_FUNCTIONS
from ..converters.nonlinear import OUTPUT_DISTRIBUTIONS, POWER_METHODS
from ..errors import ShapeMismatchError
from ..registry import register_decoder


def _units(y):
    return ops.cast(y, "float32")


def _widened(estimator, y, n_columns: int):
    """The model output ``y`` in float64, after checking that it has the ``n_columns`` the target had."""
    _check_width(estimator, y, n_columns)
    return floats.as_float64(y)


def _scaled_back(estimator, y, scale=None, shift=None):
    """``y * scale + shift`` in float64, after checking the model's output width."""
    return _units(
        affine.scale_shift(_widened(estimator, y, estimator.n_features_in_), scale=scale, shift=shift)
    )


@register_decoder(StandardScaler, notes="y * scale_ + mean_ (each as fitted).")
def decode_standard_scaler(estimator, y):
    scale = estimator.scale_ if estimator.with_std else None
    return _scaled_back(estimator, y, scale, estimator.mean_ if estimator.with_mean else None)


@register_decoder(MinMaxScaler, notes="(y - min_) / scale_; clip does not apply to the inverse.")
def decode_min_max_scaler(estimator, y):
    x = _widened(estimator, y, estimator.n_features_in_)
    return _units(affine.center_scale(x, center=estimator.min_, scale=estimator.scale_))


@register_decoder(MaxAbsScaler, notes="y * scale_.")
def decode_max_abs_scaler(estimator, y):
    return _scaled_back(estimator, y, scale=estimator.scale_)


@register_decoder(RobustScaler, notes="y * scale_ + center_ (each as fitted).")
def decode_robust_scaler(estimator, y):
    scale = estimator.scale_ if estimator.with_scaling else None
    return _scaled_back(estimator, y, scale, estimator.center_ if estimator.with_centering else None)


@register_decoder(
    FunctionTransformer,
    notes="inverse_func=None (identity) or a numpy function FunctionTransformer converts (np.expm1, ...).",
)
def decode_function_transformer(estimator, y):
    if estimator.inv_kw_args:
        raise refuse(
            estimator, "inv_kw_args", estimator.inv_kw_args, "keyword arguments cannot be reproduced."
        )
    if estimator.inverse_func is None:
        return _units(y)
    op = NUMPY_FUNCTIONS.get(estimator.inverse_func)
    if op is None:
        name = getattr(estimator.inverse_func, "__qualname__", repr(estimator.inverse_func))
        raise refuse(
            estimator,
            "inverse_func",
            name,
            "only numpy functions that FunctionTransformer converts are built in; register a "
            "decoder with keras_embed_prep.registry.register_decoder for your own class.",
        )
    return _units(op(floats.as_float64(y)))


def _check_width(estimator, y, n_columns: int) -> None:
    width = y.shape[-1]
    if width is not None and int(width) != n_columns:
        raise ShapeMismatchError(
            f"target {type(estimator).__name__} was fitted on {n_columns} column(s) but the model "
            f"outputs {int(width)}. Pass the target transformer fitted on the y the model was trained on."
        )


@register_decoder(
    PowerTransformer,
    notes="method='yeo-johnson' and 'box-cox', standardize=True/False: y * scale_ + mean_ of the "
    "inner scaler, then scikit-learn's inverse Yeo-Johnson / scipy's inv_boxcox, branches included. "
    "NaN where scikit-learn gives NaN (a negative base to a fractional power).",
)
def decode_power_transformer(estimator, y):
    x = _widened(estimator, y, len(estimator.lambdas_))
    check_choice(estimator, "method", POWER_METHODS)
    if estimator.standardize:
        scaler = estimator._scaler  # no public attribute holds the fitted standardization
        x = affine.scale_shift(
            x,
            scale=scaler.scale_ if scaler.with_std else None,
            shift=scaler.mean_ if scaler.with_mean else None,
        )
    if estimator.method == "yeo-johnson":
        return _units(power.yeo_johnson_inverse(x, estimator.lambdas_))
    return _units(power.box_cox_inverse(x, estimator.lambdas_))


@register_decoder(
    QuantileTransformer,
    notes="output_distribution='uniform' and 'normal': norm.cdf for 'normal', then interpolation "
    "from references_ to quantiles_ with scikit-learn's bounds (outputs beyond the fitted range "
    "give the first / last quantile). NaN stays NaN.",
)
def decode_quantile_transformer(estimator, y):
    check_choice(estimator, "output_distribution", OUTPUT_DISTRIBUTIONS)
    return _units(
        quantile.quantile_inverse(
            _widened(estimator, y, estimator.quantiles_.shape[1]),
            estimator.quantiles_,
            estimator.references_,
            estimator.output_distribution,
        )
    )
