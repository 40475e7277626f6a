"""feature-engine's numeric transformers: imputers, the log / power / reciprocal / Yeo-Johnson /
Box-Cox transformers, the cappers, the discretisers and the column droppers."""

from __future__ import annotations

import numpy as np
from feature_engine import discretisation, imputation, outliers, selection, transformation
from keras import ops

from keras_embed_prep.blocks import affine, bins, checks, floats, power
from keras_embed_prep.blocks.categories import fill_text_where
from keras_embed_prep.registry import register_converter, register_refusal

from . import common

_IMPUTERS = (imputation.MeanMedianImputer, imputation.ArbitraryNumberImputer, imputation.EndTailImputer)


def _numeric_imputer(estimator, x):
    columns, index, values = common.numeric_variables(estimator, x)
    fill = common.per_column(estimator.imputer_dict_, estimator.variables_)
    return common.replaced(columns, index, affine.fill_where(values, ops.isnan(values), fill))


for _cls in _IMPUTERS:
    register_converter(
        _cls,
        notes="NaN in variables_ filled with imputer_dict_ (any imputation_method); other columns pass "
        "through.",
        input_kinds=common.kinds_for("number"),
    )(_numeric_imputer)


@register_converter(
    imputation.CategoricalImputer,
    notes="Text variables: None, NaN, pd.NA and NaT filled with imputer_dict_ ('missing' or 'frequent'). "
    "Refused: ignore_format=True.",
    input_kinds=common.kinds_for("text"),
)
def convert_categorical_imputer(estimator, x):
    if estimator.ignore_format:
        raise common.refuse(estimator, "ignore_format", "impute text columns only (the default False).")
    columns = common.Columns.of(x)
    index = common.variable_index(estimator)
    text = columns.select(index)
    fill = [str(estimator.imputer_dict_[v]) for v in estimator.variables_]
    return common.replaced(columns, index, fill_text_where(text, common.missing(text), fill))


@register_converter(
    imputation.AddMissingIndicator,
    notes="Appends a 0/1 '<column>_na' per variable (missing_only as fitted); numeric inputs.",
    input_kinds=common.numbers_kinds,
)
def convert_add_missing_indicator(estimator, x):
    columns = common.Columns.of(x)
    flags = [floats.as_float64(common.missing(columns.select([i]))) for i in common.variable_index(estimator)]
    return common.appended(columns, ops.concatenate(flags, axis=1) if flags else None)


def _checked(estimator, x, positive: str | None = None):
    """The variables, failing at inference on NaN or infinity, and on values <= 0 with ``positive``."""
    columns, index, values = common.numeric_variables(estimator, x)
    values = common.fail_not_finite(estimator, values)
    if positive is not None:
        values = common.fail_where(
            values, checks.any_at_most(values, 0.0), f"{type(estimator).__name__}: {positive}"
        )
    return columns, index, values


@register_converter(
    transformation.LogTransformer,
    notes="base 'e' or '10'; fails at inference on values <= 0, NaN or infinity, as feature-engine raises.",
    input_kinds=common.kinds_for("number"),
)
def convert_log_transformer(estimator, x):
    columns, index, values = _checked(estimator, x, positive="zero or negative values")
    y = ops.log10(values) if estimator.base == "10" else ops.log(values)
    return common.replaced(columns, index, y)


@register_converter(
    transformation.LogCpTransformer,
    notes="log(x + C_), base 'e' or '10', C_ fitted or given; fails at inference where x + C_ <= 0.",
    input_kinds=common.kinds_for("number"),
)
def convert_log_cp_transformer(estimator, x):
    columns, index, values = _checked(estimator, x)
    c = estimator.C_
    shift = (
        common.per_column(c, estimator.variables_) if isinstance(c, dict) else np.full(len(index), float(c))
    )
    shifted = ops.add(values, floats.f64(shift))
    shifted = common.fail_where(shifted, checks.any_at_most(shifted, 0.0), "LogCpTransformer: x + C <= 0")
    return common.replaced(columns, index, ops.log10(shifted) if estimator.base == "10" else ops.log(shifted))


@register_converter(
    transformation.PowerTransformer,
    notes="x ** exp (np.power); fails at inference on NaN or infinity.",
    input_kinds=common.kinds_for("number"),
)
def convert_power_transformer(estimator, x):
    columns, index, values = _checked(estimator, x)
    return common.replaced(columns, index, ops.power(values, np.float64(estimator.exp)))


@register_converter(
    transformation.ReciprocalTransformer,
    notes="1 / x; fails at inference on zeros, NaN or infinity.",
    input_kinds=common.kinds_for("number"),
)
def convert_reciprocal_transformer(estimator, x):
    columns, index, values = _checked(estimator, x)
    zero = ops.any(ops.equal(values, 0.0), axis=1)
    values = common.fail_where(values, zero, "ReciprocalTransformer: the value zero")
    return common.replaced(columns, index, ops.divide(np.float64(1.0), values))


@register_converter(
    transformation.YeoJohnsonTransformer,
    notes="scipy.stats.yeojohnson with lambda_dict_; fails at inference on NaN or infinity.",
    input_kinds=common.kinds_for("number"),
)
def convert_yeo_johnson_transformer(estimator, x):
    columns, index, values = _checked(estimator, x)
    lambdas = common.per_column(estimator.lambda_dict_, estimator.variables_)
    return common.replaced(columns, index, power.yeo_johnson(values, lambdas))


@register_converter(
    transformation.BoxCoxTransformer,
    notes="scipy.stats.boxcox with lambda_dict_; fails at inference on values <= 0, NaN or infinity.",
    input_kinds=common.kinds_for("number"),
)
def convert_box_cox_transformer(estimator, x):
    columns, index, values = _checked(estimator, x, positive="data must be positive")
    lambdas = common.per_column(estimator.lambda_dict_, estimator.variables_)
    return common.replaced(columns, index, power.box_cox(values, lambdas))


def _capped(estimator, values):
    """Right caps first, then left caps, as feature-engine clips; NaN stays NaN."""
    names = estimator.variables_
    for caps, beyond in ((estimator.right_tail_caps_, ops.greater), (estimator.left_tail_caps_, ops.less)):
        if caps:
            limit = np.array([caps.get(n, np.nan) for n in names], dtype=np.float64)
            hit = ops.logical_and(beyond(values, floats.f64(np.nan_to_num(limit))), ~np.isnan(limit))
            values = ops.where(hit, floats.f64(np.nan_to_num(limit)), values)
    return values


def _outlier_capper(estimator, x):
    columns, index, values = common.numeric_variables(estimator, x)
    if estimator.missing_values == "raise":
        values = common.fail_not_finite(estimator, values)
    capped = _capped(estimator, values)
    if not getattr(estimator, "add_indicators", False):
        return common.replaced(columns, index, capped)
    left = floats.as_float64(ops.greater(capped, values))
    right = floats.as_float64(ops.less(capped, values))
    tails = {"left": [left], "right": [right], "both": [left, right]}[estimator.tail]
    # 'both' interleaves: var_left, var_right, next var_left, ...
    flags = ops.reshape(ops.stack(tails, axis=2), (-1, len(index) * len(tails)))
    n = len(columns)
    at = {i: j for j, i in enumerate(index)}
    spec = [("new", at[i]) if i in at else ("in", i) for i in range(n)]
    spec += [("new", len(index) + j) for j in range(len(index) * len(tails))]
    return common.output(columns, spec, ops.concatenate([capped, flags], axis=1))


for _cls, _notes in (
    (
        outliers.Winsorizer,
        "left_tail_caps_ / right_tail_caps_ (any capping_method, tail, fold); add_indicators",
    ),
    (outliers.ArbitraryOutlierCapper, "max_capping_dict / min_capping_dict as fitted"),
):
    register_converter(
        _cls,
        notes=f"{_notes}; missing_values='raise' fails at inference on NaN or infinity, 'ignore' keeps NaN.",
        input_kinds=common.kinds_for("number"),
    )(_outlier_capper)


def _discretiser(estimator, x):
    if estimator.return_boundaries or estimator.return_object:
        name = "return_boundaries" if estimator.return_boundaries else "return_object"
        raise common.refuse(estimator, name, "the intervals come out as text or objects; use False.")
    columns, index, values = _checked(estimator, x)
    edges = [np.asarray(estimator.binner_dict_[v], dtype=np.float64) for v in estimator.variables_]
    # pd.cut(right=True, include_lowest=True): bin i holds edges[i] < x <= edges[i + 1]
    y = bins.bucketize(values, [e[1:-1] for e in edges], side="left")
    low, high = floats.f64([e[0] for e in edges]), floats.f64([e[-1] for e in edges])
    outside = ops.logical_or(ops.less(values, low), ops.greater(values, high))
    if getattr(estimator, "errors", "ignore") == "raise":
        y = common.fail_where(
            y, ops.any(outside, axis=1), "ArbitraryDiscretiser(errors=raise): a value outside the bins"
        )
    return common.replaced(columns, index, ops.where(outside, np.float64(np.nan), y))


for _cls in (
    discretisation.EqualWidthDiscretiser,
    discretisation.EqualFrequencyDiscretiser,
    discretisation.ArbitraryDiscretiser,
    discretisation.GeometricWidthDiscretiser,
):
    register_converter(
        _cls,
        notes="binner_dict_ as pd.cut(labels=False, include_lowest=True) does; values outside finite "
        "bins are NaN (ArbitraryDiscretiser errors='raise' fails at inference); fails on NaN or infinity. "
        "Refused: return_boundaries, return_object.",
        input_kinds=common.kinds_for("number"),
    )(_discretiser)


def _dropper(estimator, x):
    columns = common.Columns.of(x)
    fitted = "features_to_drop_" if hasattr(estimator, "features_to_drop_") else "features_to_drop"
    dropped = set(getattr(estimator, fitted))
    return common.appended(
        columns, None, [i for i, n in enumerate(estimator.feature_names_in_) if n not in dropped]
    )


for _cls in (selection.DropFeatures, selection.DropConstantFeatures):
    register_converter(
        _cls,
        notes="Drops features_to_drop_; columns of any kind pass through (as a first step the inputs are "
        "numbers).",
        input_kinds=common.numbers_kinds,
    )(_dropper)


for _cls, _reason in (
    (
        imputation.RandomSampleImputer,
        "it fills with random draws from the training rows, which a model cannot repeat",
    ),
    (imputation.DropMissingData, "it drops rows, and a model returns one output row per input row"),
    (outliers.OutlierTrimmer, "it drops rows, and a model returns one output row per input row"),
    (
        discretisation.DecisionTreeDiscretiser,
        "its bins are a fitted decision tree's predictions; discretise with ArbitraryDiscretiser on the "
        "tree's thresholds instead",
    ),
):
    register_refusal(_cls, _reason)
