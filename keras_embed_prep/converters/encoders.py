"""OneHotEncoder, OrdinalEncoder and TargetEncoder: table lookups over fitted categories.

Each converter reads ``categories_`` (and ``drop_idx_``, ``infrequent_categories_``,
``encodings_``, ...), turns them into small tables, and hands them to
:func:`keras_embed_prep.blocks.category_index`, which finds every cell's category in
one lookup for all columns together.
"""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from ..blocks import categories, checks
from ..columns import MARKERS, is_nan
from ..registry import register_converter
from ._checks import refuse


def category_kinds(estimator, n_columns: int) -> list[str]:
    """A column is text if any of its fitted categories is a string."""
    kinds = []
    for i, cats in enumerate(estimator.categories_):
        values = np.asarray(cats, dtype=object).tolist()
        clash = [v for v in values if isinstance(v, str) and v in MARKERS]
        if clash:
            raise refuse(
                estimator,
                f"categories_[{i}]",
                clash[0],
                "this string is a missing-value marker of converted models; rename the category.",
            )
        text = any(isinstance(v, str) for v in values)
        if not text and any(v is None for v in values):
            raise refuse(
                estimator,
                f"categories_[{i}]",
                values,
                "numbers with None as a category of its own: a converted model takes numbers as "
                "float32, where None can only be NaN. Replace None with np.nan before fitting.",
            )
        kinds.append("text" if text else "number")
    return kinds


def _positions(estimator, x):
    """Each cell's flat category index (see ``categories.category_index``), refusing what cannot match."""
    category_kinds(estimator, len(estimator.categories_))
    return categories.category_index(x, estimator.categories_)


def _column_names(estimator) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(len(estimator.categories_))]
    return [str(n) for n in names]


def _infrequent(estimator) -> list:
    """``infrequent_categories_`` per column as lists (empty when none or not enabled)."""
    try:
        infrequent = estimator.infrequent_categories_
    except AttributeError:
        return [[] for _ in estimator.categories_]
    return [[] if cats is None else list(cats) for cats in infrequent]


def _same(a, b) -> bool:
    return (is_nan(a) and is_nan(b)) or (not is_nan(a) and not is_nan(b) and a == b)


def _frequent_codes(categories, infrequent, skip_missing: bool = False) -> tuple[np.ndarray, int]:
    """Per category: its rank among frequent categories, or the shared infrequent code.

    Returns ``(codes, n_out)`` where ``n_out`` counts frequent categories plus one
    infrequent group if any. With ``skip_missing`` (OrdinalEncoder) the missing
    category takes no rank: it is encoded separately.
    """
    is_infrequent = [any(_same(c, i) for i in infrequent) for c in categories]
    skipped = [skip_missing and is_nan(c) for c in categories]
    n_frequent = sum(not (f or s) for f, s in zip(is_infrequent, skipped, strict=True))
    codes, rank = [], 0
    for flag, skip in zip(is_infrequent, skipped, strict=True):
        if flag:
            codes.append(n_frequent)
        elif skip:
            codes.append(-1)
        else:
            codes.append(rank)
            rank += 1
    return np.asarray(codes, dtype=np.int64), n_frequent + (1 if any(is_infrequent) else 0)


def _fail_on_unknown(estimator, flat, n_categories: int):
    names = _column_names(estimator)
    reasons = [
        f"{type(estimator).__name__}(handle_unknown=error): unknown category in column {i} ({name})"
        for i, name in enumerate(names)
    ]
    return checks.fail_if_any(ops.greater_equal(flat, n_categories), reasons)


@register_converter(
    OneHotEncoder,
    notes=(
        "Text, integer and mixed columns; handle_unknown error (fails at inference), ignore, "
        "infrequent_if_exist, warn; drop first / if_binary / explicit; min_frequency, max_categories; "
        "categories by hand; sparse_output densified; None/NaN as a fitted category."
    ),
    input_kinds=category_kinds,
)
def convert_one_hot_encoder(estimator, x):
    category_kinds(estimator, len(estimator.categories_))  # refuses what cannot match
    if estimator.handle_unknown not in ("error", "ignore", "infrequent_if_exist", "warn"):
        raise refuse(estimator, "handle_unknown", estimator.handle_unknown, "not a known option.")
    infrequent = _infrequent(estimator)
    drop_idx = estimator.drop_idx_
    positions, unknown, offset = [], [], 0
    for c, cats in enumerate(estimator.categories_):
        codes, n_out = _frequent_codes(list(cats), infrequent[c])
        dropped = None if drop_idx is None or drop_idx[c] is None else int(codes[int(drop_idx[c])])
        # output position of each out code, after removing the dropped one; -1: no output
        out = np.arange(n_out)
        if dropped is not None:
            out = np.where(out > dropped, out - 1, out)
            out[dropped] = -1
        width = n_out - (dropped is not None)
        positions.append(np.where(out[codes] >= 0, offset + out[codes], -1))
        unknown_out = -1
        if estimator.handle_unknown in ("infrequent_if_exist", "warn") and infrequent[c]:
            unknown_out = out[n_out - 1]
        unknown.append(offset + unknown_out if unknown_out >= 0 else -1)
        offset += width
    total = offset
    table = np.concatenate([*positions, unknown])
    table = np.where(table < 0, total, table)  # "no output": the cut-off slot of categories.one_hot
    flat = categories.category_index(x, estimator.categories_)
    if estimator.handle_unknown == "error":
        # the check joins the positions, not the output, so the block stays a plain one-hot
        # that embed() can look up in the first Dense kernel
        check = _fail_on_unknown(estimator, flat, sum(len(c) for c in estimator.categories_))
        flat = ops.add(flat, ops.cast(check, "int64"))
    return categories.one_hot(categories.lookup_table(flat, table.astype(np.int64)), total)


@register_converter(
    OrdinalEncoder,
    notes=(
        "handle_unknown error (fails at inference) or use_encoded_value with unknown_value (int or "
        "NaN); encoded_missing_value; min_frequency, max_categories; categories by hand."
    ),
    input_kinds=category_kinds,
)
def convert_ordinal_encoder(estimator, x):
    category_kinds(estimator, len(estimator.categories_))  # refuses what cannot match
    infrequent = _infrequent(estimator)
    tables = []
    for c, cats in enumerate(estimator.categories_):
        codes, _ = _frequent_codes(list(cats), infrequent[c], skip_missing=True)
        codes = codes.astype(np.float64)
        missing = np.array([is_nan(v) for v in cats], dtype=bool)
        codes[missing] = estimator.encoded_missing_value
        tables.append(codes)
    n_categories = sum(len(t) for t in tables)
    unknown = np.nan
    if estimator.handle_unknown == "use_encoded_value":
        unknown = float(estimator.unknown_value)
    elif estimator.handle_unknown != "error":
        raise refuse(estimator, "handle_unknown", estimator.handle_unknown, "not a known option.")
    table = np.concatenate([*tables, np.full(len(tables), unknown)])
    flat = categories.category_index(x, estimator.categories_)
    y = categories.lookup_table(flat, table)
    if estimator.handle_unknown == "error":
        y = ops.add(y, _fail_on_unknown(estimator, flat, n_categories))
    return y


@register_converter(
    TargetEncoder,
    notes=(
        "transform() (the encodings learnt on all data), not the cross-fitted fit_transform; "
        "binary, continuous and multiclass targets; unknown categories get target_mean_."
    ),
    input_kinds=category_kinds,
)
def convert_target_encoder(estimator, x):
    flat = _positions(estimator, x)
    n_features = len(estimator.categories_)
    means = np.atleast_1d(np.asarray(estimator.target_mean_, dtype=np.float64))
    n_classes = means.size
    per_class = []
    for k in range(n_classes):
        encodings = [estimator.encodings_[c * n_classes + k] for c in range(n_features)]
        table = np.concatenate([*encodings, np.full(n_features, means[k])])
        per_class.append(categories.lookup_table(flat, table))
    if n_classes == 1:
        return per_class[0]
    # scikit-learn's column order is feature-major: (feature 0, class 0), (feature 0, class 1), ...
    return ops.reshape(ops.stack(per_class, axis=2), (-1, n_features * n_classes))
