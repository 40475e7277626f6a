"""SimpleImputer (numbers and text) and MissingIndicator."""

from __future__ import annotations

import numbers

import numpy as np
from keras import ops
from sklearn.impute import MissingIndicator, SimpleImputer

from ..blocks import affine, categories, checks, floats, records
from ..columns import MARKERS, MISSING, NA, NAT, NONE, Columns, category_text, is_nan, missing_marker
from ..registry import register_converter
from ._checks import exact_in_float32, refuse


def numeric_missing_value(estimator) -> float:
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


def _imputer_kinds(estimator, n_columns: int) -> list[str]:
    """Text where the fitted statistic is a string (or None, when it is the most frequent), else numbers."""
    return [
        "text" if isinstance(v, str) or v is None else "number"
        for v in np.asarray(estimator.statistics_, dtype=object)
    ]


def _text_rule(estimator) -> tuple[list[str], list[str]]:
    """``(imputed, refused)``: the markers scikit-learn imputes in a text column, and those it raises on.

    ``missing_values=np.nan`` imputes NaN and NaT (``x != x``) and cannot compare pd.NA;
    ``pd.NA`` imputes all four; None or a string imputes only itself, and raises on NaN, NaT
    ("Input contains NaN") and pd.NA (TypeError). See :data:`keras_embed_prep.columns.MARKERS`.
    """
    value = estimator.missing_values
    marker = missing_marker(value)
    if marker == NA:
        return list(MARKERS), []
    if marker == MISSING:
        return [MISSING, NAT], [NA]
    if marker == NONE or isinstance(value, str):
        return [marker or value], [MISSING, NAT, NA]
    raise refuse(
        estimator,
        "missing_values",
        value,
        "text columns can only treat NaN, None, pd.NA or a string as missing.",
    )


def _any_equal(x, values: list[str]):
    hits = [ops.equal(x, v) for v in values]
    for hit in hits[1:]:
        hits[0] = ops.logical_or(hits[0], hit)
    return hits[0]


def _fill(estimator, kind: str, x, statistics: list):
    """Fill one block of columns of one kind; returns (filled, missing mask)."""
    if kind == "text":
        imputed, refused = _text_rule(estimator)
        mask = _any_equal(x, imputed)
        if refused:
            passed = checks.fail_if_any(
                ops.any(_any_equal(x, refused), axis=1),
                f"SimpleImputer(missing_values={estimator.missing_values!r}) raises on this missing "
                "value in a text column (NaN, NaT or pd.NA)",
            )
            mask = ops.logical_or(mask, ops.not_equal(passed, 0.0))  # always false; keeps the check
        values = [category_text(v) for v in statistics]
        return categories.fill_text_where(x, mask, values), mask
    mask = affine.missing_mask(x, numeric_missing_value(estimator))
    values = [np.nan if is_nan(v) else v for v in statistics]
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise refuse(estimator, "statistics_", statistics, "numeric columns need numeric statistics.")
    values = np.nan_to_num(np.asarray(values, dtype=_fill_dtype(estimator)), nan=0.0)  # empty: dropped
    return affine.fill_where(x, mask, values), mask


def _fill_dtype(estimator) -> np.dtype:
    """The dtype scikit-learn rounds numeric statistics to before filling: that of the fitted data.

    ``statistics_`` is float64 even when the imputer was fitted on float32 data, but
    ``transform`` fills with ``statistics_`` cast to the fitted dtype. No public attribute
    holds it; ``_fill_dtype`` is read where present, float64 otherwise.
    """
    dtype = np.dtype(getattr(estimator, "_fill_dtype", np.float64))
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


@register_converter(
    SimpleImputer,
    notes=(
        "Numeric and text columns: any strategy (statistics_ is used), NaN, None or a number "
        "(numbers) / a string (text) as missing_values, add_indicator (numbers), "
        "keep_empty_features; all-missing columns are dropped as in scikit-learn."
    ),
    input_kinds=_imputer_kinds,
)
def convert_simple_imputer(estimator, x):
    columns = Columns.of(x)
    statistics = np.asarray(estimator.statistics_, dtype=object).tolist()
    filled, masks = {}, []
    for kind, tensor, idx in columns.parts():
        filled[kind], mask = _fill(estimator, kind, tensor, [statistics[i] for i in idx])
        masks.append(mask)
    keep = range(len(statistics))
    if not estimator.keep_empty_features:
        keep = [i for i, v in enumerate(statistics) if not is_nan(v)]
    y = Columns(columns.kinds, numbers=filled.get("number"), text=filled.get("text")).select(keep)
    if estimator.add_indicator:
        if "text" in columns.kinds:
            raise refuse(
                estimator,
                "add_indicator",
                True,
                "its 0/1 columns would sit beside text columns; add a MissingIndicator on the "
                "raw columns in its own ColumnTransformer entry instead.",
            )
        y = records.concat([y, indicate(estimator.indicator_, masks[0])])
    return y


def indicate(indicator, mask):
    """MissingIndicator's output for a precomputed missing mask."""
    n_features = int(mask.shape[-1])
    features = np.asarray(indicator.features_, dtype=np.int64)
    flags = floats.as_float64(affine.take_columns(mask, features))
    if indicator.features == "missing-only" and indicator.error_on_new and features.size < n_features:
        unseen = np.setdiff1d(np.arange(n_features), features)
        new_missing = ops.any(affine.take_columns(mask, unseen), axis=1)
        flags = ops.add(
            flags,
            checks.fail_if_any(
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
    return indicate(estimator, affine.missing_mask(x, numeric_missing_value(estimator)))
