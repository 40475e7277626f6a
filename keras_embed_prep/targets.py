"""Decoded targets: ``embed(model, preprocessor, target=t)`` appends ``t``'s inverse.

A target decoder is a function ``decoder(estimator, y) -> outputs`` registered for an
exact class with :func:`register_target`. ``y`` is the Keras model's output; a
regression decoder returns one tensor in original units, a classification decoder
returns ``{"probabilities": ..., "label": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from keras import ops
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.preprocessing import (
    FunctionTransformer,
    LabelBinarizer,
    LabelEncoder,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from . import blocks
from .converters._checks import check_choice, refuse
from .converters.nonlinear import OUTPUT_DISTRIBUTIONS, POWER_METHODS
from .errors import NotFittedError, ShapeMismatchError, UnsupportedEstimatorError

TargetDecoder = Callable[[Any, Any], Any]
_TARGETS: dict[type, tuple[TargetDecoder, str]] = {}


def register_target(cls: type, *, notes: str = "") -> Callable[[TargetDecoder], TargetDecoder]:
    """Register ``decoder(estimator, y)`` for targets fitted with the exact class ``cls``."""

    def decorator(fn: TargetDecoder) -> TargetDecoder:
        _TARGETS[cls] = (fn, notes)
        return fn

    return decorator


def supported_targets() -> dict[str, str]:
    """Target transformer class name -> what its decoder reproduces."""
    return {
        cls.__name__: notes for cls, (_, notes) in sorted(_TARGETS.items(), key=lambda kv: kv[0].__name__)
    }


def decode(target: Any, y):
    """Append ``target``'s inverse to the model output ``y`` (float32, ``(batch, k)``)."""
    entry = _TARGETS.get(type(target))
    if entry is None:
        raise UnsupportedEstimatorError(
            f"target={type(target).__name__} has no decoder. Supported targets: "
            f"{', '.join(sorted(supported_targets()))}."
        )
    try:
        if hasattr(target, "fit"):  # scikit-learn estimators; SciKeras' decoder is built fitted
            check_is_fitted(target)
    except _SklearnNotFittedError as exc:
        raise NotFittedError(f"target {type(target).__name__} is not fitted. Fit it on y first.") from exc
    return entry[0](target, y)


# --- regression: inverse_transform in float64, returned as float32 ------------------------------


def _units(y):
    return ops.cast(y, "float32")


@register_target(StandardScaler, notes="y * scale_ + mean_ (each as fitted).")
def decode_standard_scaler(estimator, y):
    _check_width(estimator, y, estimator.n_features_in_)
    return _units(
        blocks.scale_shift(
            blocks.as_float64(y),
            scale=estimator.scale_ if estimator.with_std else None,
            shift=estimator.mean_ if estimator.with_mean else None,
        )
    )


@register_target(MinMaxScaler, notes="(y - min_) / scale_; clip does not apply to the inverse.")
def decode_min_max_scaler(estimator, y):
    _check_width(estimator, y, estimator.n_features_in_)
    return _units(blocks.center_scale(blocks.as_float64(y), center=estimator.min_, scale=estimator.scale_))


@register_target(MaxAbsScaler, notes="y * scale_.")
def decode_max_abs_scaler(estimator, y):
    _check_width(estimator, y, estimator.n_features_in_)
    return _units(blocks.scale_shift(blocks.as_float64(y), scale=estimator.scale_))


@register_target(RobustScaler, notes="y * scale_ + center_ (each as fitted).")
def decode_robust_scaler(estimator, y):
    _check_width(estimator, y, estimator.n_features_in_)
    return _units(
        blocks.scale_shift(
            blocks.as_float64(y),
            scale=estimator.scale_ if estimator.with_scaling else None,
            shift=estimator.center_ if estimator.with_centering else None,
        )
    )


@register_target(
    FunctionTransformer,
    notes="inverse_func=None (identity) or a numpy function FunctionTransformer converts (np.expm1, ...).",
)
def decode_function_transformer(estimator, y):
    from .converters.functions import NUMPY_FUNCTIONS

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
            "decoder with keras_embed_prep.targets.register_target for your own class.",
        )
    return _units(op(blocks.as_float64(y)))


def _check_width(estimator, y, n_columns: int) -> None:
    width = y.shape[-1]
    if width is not None and int(width) != n_columns:
        raise ShapeMismatchError(
            f"target {type(estimator).__name__} was fitted on {n_columns} column(s) but the model "
            f"outputs {int(width)}. Pass the target transformer fitted on the y the model was trained on."
        )


@register_target(
    PowerTransformer,
    notes="method='yeo-johnson' and 'box-cox', standardize=True/False: y * scale_ + mean_ of the "
    "inner scaler, then scikit-learn's inverse Yeo-Johnson / scipy's inv_boxcox, branches included. "
    "NaN where scikit-learn gives NaN (a negative base to a fractional power).",
)
def decode_power_transformer(estimator, y):
    check_choice(estimator, "method", POWER_METHODS)
    _check_width(estimator, y, len(estimator.lambdas_))
    x = blocks.as_float64(y)
    if estimator.standardize:
        scaler = estimator._scaler  # no public attribute holds the fitted standardization
        x = blocks.scale_shift(
            x,
            scale=scaler.scale_ if scaler.with_std else None,
            shift=scaler.mean_ if scaler.with_mean else None,
        )
    if estimator.method == "yeo-johnson":
        return _units(blocks.yeo_johnson_inverse(x, estimator.lambdas_))
    return _units(blocks.box_cox_inverse(x, estimator.lambdas_))


@register_target(
    QuantileTransformer,
    notes="output_distribution='uniform' and 'normal': norm.cdf for 'normal', then interpolation "
    "from references_ to quantiles_ with scikit-learn's bounds (outputs beyond the fitted range "
    "give the first / last quantile). NaN stays NaN.",
)
def decode_quantile_transformer(estimator, y):
    check_choice(estimator, "output_distribution", OUTPUT_DISTRIBUTIONS)
    _check_width(estimator, y, estimator.quantiles_.shape[1])
    return _units(
        blocks.quantile_inverse(
            blocks.as_float64(y),
            estimator.quantiles_,
            estimator.references_,
            estimator.output_distribution,
        )
    )


# --- classification: probabilities and decoded labels -------------------------------------------


def _class_index(y, binary_threshold: float = 0.5):
    """Class index per row: ``y > threshold`` for one column, numpy's argmax otherwise."""
    if int(y.shape[-1]) == 1:
        # np.argmax([1 - p, p]) picks 1 exactly when p > 0.5; NaN gives 0, as in numpy.
        return ops.cast(ops.greater(ops.squeeze(y, axis=1), np.float32(binary_threshold)), "int64")
    return blocks.numpy_argmax(y)


def _labels(y, classes, binary_threshold: float = 0.5):
    classes = np.asarray(classes)
    width = int(y.shape[-1])
    if width != 1 and width != classes.size:
        raise refuse_width(classes.size, width)
    return {"probabilities": y, "label": blocks.take_labels(_class_index(y, binary_threshold), classes)}


def refuse_width(n_classes: int, width: int) -> ShapeMismatchError:
    return ShapeMismatchError(
        f"The target has {n_classes} classes but the model outputs {width} columns. Decoding needs "
        "one probability per class, or one column (the positive class) for two classes."
    )


@register_target(
    LabelEncoder,
    notes="Outputs 'probabilities' and 'label': argmax as numpy computes it (first max; NaN rows: "
    "first NaN), or p > 0.5 for a single sigmoid column.",
)
def decode_label_encoder(estimator, y):
    if int(y.shape[-1]) == 1 and len(estimator.classes_) != 2:
        raise refuse_width(len(estimator.classes_), 1)
    return _labels(y, estimator.classes_)


@register_target(
    LabelBinarizer,
    notes="Binary (one column, y > (pos_label + neg_label) / 2) and multiclass (argmax); not multilabel.",
)
def decode_label_binarizer(estimator, y):
    if estimator.y_type_ == "multilabel-indicator":
        raise refuse(estimator, "y_type_", estimator.y_type_, "multilabel targets are not decoded.")
    threshold = (estimator.pos_label + estimator.neg_label) / 2.0
    return _labels(y, estimator.classes_, binary_threshold=threshold)


@register_target(
    OneHotEncoder, notes="One target column, no drop or infrequent categories: argmax -> category."
)
def decode_one_hot_encoder(estimator, y):
    if len(estimator.categories_) != 1:
        raise refuse(estimator, "n_features_in_", len(estimator.categories_), "decode one target column.")
    if estimator.drop_idx_ is not None:
        raise refuse(estimator, "drop", estimator.drop, "a dropped category cannot be decoded by argmax.")
    return _labels(y, estimator.categories_[0])


# --- SciKeras ----------------------------------------------------------------------------------


class _SciKerasClassifierTarget:
    """What a fitted SciKeras KerasClassifier decodes: its ``classes_`` by argmax.

    SciKeras' ``predict`` turns one sigmoid column into ``[1 - p, p]`` before its
    argmax, which picks 1 exactly when ``p > 0.5``; several columns use argmax.
    """

    def __init__(self, wrapper):
        self.classes_ = np.asarray(wrapper.classes_)
        self.target_type_ = wrapper.target_type_


def scikeras_target(wrapper) -> Any:
    """The target decoder matching a fitted SciKeras wrapper's own target encoding, or None."""
    if hasattr(wrapper, "classes_"):
        if wrapper.target_type_ not in ("binary", "multiclass"):
            raise refuse(wrapper, "target_type_", wrapper.target_type_, "only binary and multiclass decode.")
        return _SciKerasClassifierTarget(wrapper)
    encoder = getattr(wrapper, "target_encoder_", None)
    if type(encoder).__name__ != "RegressorTargetEncoder":  # SciKeras' identity default
        raise refuse(
            wrapper,
            "target_encoder",
            type(encoder).__name__,
            "only KerasRegressor's default (identity) target encoding is decoded; pass target= explicitly.",
        )
    return None


@register_target(_SciKerasClassifierTarget, notes="SciKeras KerasClassifier: its classes_, as its predict().")
def decode_scikeras_classifier(estimator, y):
    return _labels(y, estimator.classes_)
