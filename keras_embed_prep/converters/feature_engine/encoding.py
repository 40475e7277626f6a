"""feature-engine's encoders: value maps (ordinal, count / frequency, mean, weight of evidence),
one-hot dummies appended at the end, and rare labels grouped (text in, text out)."""

from __future__ import annotations

import numpy as np
from feature_engine import encoding
from keras import ops

from keras_embed_prep.blocks import categories, checks
from keras_embed_prep.columns import NA, Columns, is_nan
from keras_embed_prep.registry import register_converter, register_refusal

from . import common

#: The missing values of a text column, as the graph tells them apart.
_MARKERS = [np.nan, None, np.datetime64("NaT"), NA]


def _text_variables(estimator, x):
    if getattr(estimator, "ignore_format", False):
        raise common.refuse(estimator, "ignore_format", "encode text columns only (the default False).")
    columns = Columns.of(x)
    index = common.variable_index(estimator)
    if any(columns.kinds[i] != "text" for i in index):
        raise common.UnsupportedParameterError(
            f"{type(estimator).__name__} encodes text columns, but some of {estimator.variables_} arrive as "
            "numbers. Give it text columns only (ignore_format=False)."
        )
    return columns, index, columns.select(index)


def _known(mapping) -> list:
    return [k for k in mapping if not is_nan(k)]


def _marker_flags(lists, raises) -> np.ndarray:
    """Per (column, category) slot, then the unknown slots: true at the markers of columns that raise."""
    n = len(_MARKERS)
    slots = [[r and i >= len(c) - n for i in range(len(c))] for c, r in zip(lists, raises, strict=True)]
    return np.concatenate([*slots, np.zeros(len(lists), dtype=bool)])


def _fails(estimator, flat, flags_table, what: str):
    reasons = [f"{type(estimator).__name__}: {what} in column {v}" for v in estimator.variables_]
    return checks.fail_if_any(categories.lookup_table(flat, flags_table), reasons)


def _value_encoder(estimator, x):
    columns, index, text = _text_variables(estimator, x)
    unseen = estimator.unseen
    filler = getattr(estimator, "_unseen", np.nan) if unseen == "encode" else np.nan
    lists, rows, unknown, raises_missing, raises_unknown = [], [], [], [], []
    for v in estimator.variables_:
        mapping = estimator.encoder_dict_[v]
        known = _known(mapping)
        nan_value = next((float(mapping[k]) for k in mapping if is_nan(k)), np.nan)
        missing_value = filler if np.isnan(nan_value) else nan_value
        lists.append(np.asarray([*known, *_MARKERS], dtype=object))
        rows.append(np.asarray([*(float(mapping[k]) for k in known), *[missing_value] * len(_MARKERS)]))
        unknown.append(np.asarray([filler]))
        # missing_values='raise' (WoEEncoder always) raises on any missing; unseen='raise' on NaN left
        raises = getattr(estimator, "missing_values", "raise") == "raise"
        raises_missing.append(raises or (unseen == "raise" and np.isnan(missing_value)))
        raises_unknown.append(unseen == "raise")
    flat = categories.category_index(text, lists)
    y = categories.lookup_rows(flat, rows, unknown)
    total = sum(len(c) for c in lists)
    missing_flags = _marker_flags(lists, raises_missing)
    unknown_flags = np.concatenate([np.zeros(total, dtype=bool), np.asarray(raises_unknown)])
    if missing_flags.any():
        y = ops.add(y, _fails(estimator, flat, missing_flags, "a missing value"))
    if unknown_flags.any():
        y = ops.add(y, _fails(estimator, flat, unknown_flags, "a category not seen at fit"))
    return common.replaced(columns, index, y)


for _cls, _what in (
    (encoding.OrdinalEncoder, "ordinal codes ('ordered' or 'arbitrary')"),
    (encoding.CountFrequencyEncoder, "counts or frequencies"),
    (encoding.MeanEncoder, "target means (smoothing as fitted)"),
    (encoding.WoEEncoder, "weights of evidence"),
):
    register_converter(
        _cls,
        notes=f"Text variables to {_what} from encoder_dict_; unseen 'ignore' (NaN), 'raise' (fails at "
        "inference), 'encode'; missing_values 'raise' (fails at inference) or 'ignore'. Refused: "
        "ignore_format=True.",
        input_kinds=common.kinds_for("text"),
    )(_value_encoder)


@register_converter(
    encoding.OneHotEncoder,
    notes="Dummies '<variable>_<category>' for encoder_dict_ (top_categories, drop_last, drop_last_binary as "
    "fitted) appended after the other columns, the variables dropped; unseen categories are all zeros; "
    "fails at inference on missing values, as feature-engine raises. Refused: ignore_format=True.",
    input_kinds=common.kinds_for("text"),
)
def convert_one_hot_encoder(estimator, x):
    columns, index, text = _text_variables(estimator, x)
    lists, rows, unknown = [], [], []
    for v in estimator.variables_:
        dummies = list(estimator.encoder_dict_[v])
        lists.append(np.asarray([*dummies, *_MARKERS], dtype=object))
        rows.append(np.vstack([np.eye(len(dummies)), np.zeros((len(_MARKERS), len(dummies)))]))
        unknown.append(np.zeros(len(dummies)))
    flat = categories.category_index(text, lists)
    missing_flags = _marker_flags(lists, [True] * len(lists))
    dummies = categories.lookup_rows(flat, rows, unknown)
    dummies = ops.add(dummies, _fails(estimator, flat, missing_flags, "a missing value"))
    rest = [i for i in range(len(columns)) if i not in set(index)]
    return common.appended(columns, dummies, rest)


@register_converter(
    encoding.RareLabelEncoder,
    notes="Text in, text out: categories outside encoder_dict_ (unseen ones included) become replace_with; "
    "missing_values 'raise' fails at inference, 'ignore' keeps NaN (None, pd.NA and NaT are replaced, as "
    "pandas' isin does). Refused: ignore_format=True.",
    input_kinds=common.kinds_for("text"),
)
def convert_rare_label_encoder(estimator, x):
    columns, index, text = _text_variables(estimator, x)
    kept = [np.asarray([*estimator.encoder_dict_[v], np.nan], dtype=object) for v in estimator.variables_]
    flat = categories.category_index(text, kept)
    rare = ops.greater_equal(flat, sum(len(k) for k in kept))  # NaN is kept; None, pd.NA, NaT are not
    if estimator.missing_values == "raise":
        passed = checks.fail_if_any(
            ops.any(common.missing(text), axis=1), "RareLabelEncoder: a missing value"
        )
        rare = ops.logical_or(rare, ops.not_equal(passed, 0.0))  # always false; keeps the check
    replaced = categories.fill_text_where(text, rare, [str(estimator.replace_with)] * len(index))
    return common.replaced(columns, index, replaced)


register_refusal(
    encoding.DecisionTreeEncoder,
    "its codes are a fitted decision tree's predictions per category; use OrdinalEncoder or MeanEncoder",
)
