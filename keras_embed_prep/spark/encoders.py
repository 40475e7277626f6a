"""Spark ML stages that index, encode, bin and assemble: StringIndexer, OneHotEncoder, Bucketizer
(and the one QuantileDiscretizer fits), Binarizer, VectorAssembler.

Where Spark raises on a row (``handleInvalid="error"``: an unseen label, a null, NaN, a value
outside the splits), the model raises at inference too, naming the column; ``handleInvalid="skip"``
drops rows, which a model cannot do, and is refused by name.
"""

from __future__ import annotations

import numpy as np
from keras import ops
from pyspark.ml.feature import Binarizer, Bucketizer, OneHotEncoderModel, StringIndexerModel, VectorAssembler

from ..blocks import affine, bins, categories, checks, records
from .frame import (
    SCALAR,
    TEXT,
    VECTOR,
    Column,
    check_choice,
    input_cols,
    output_cols,
    param,
    register_stage,
    split,
)

_INVALID = ("error", "keep")


def _failing(y, flags, stage, cols, what: str):
    """``y`` with a check that fails a row where ``flags[:, j]`` holds, naming column ``cols[j]``."""
    # no quotes: the check's error message escapes them (see blocks.checks.refusal_reason)
    reasons = [f"{type(stage).__name__}: {what} in column {c} (handleInvalid=error)" for c in cols]
    return ops.add(y, checks.fail_if_any(flags, reasons))


@register_stage(
    StringIndexerModel,
    notes="All four stringOrderTypes (the fitted labelsArray), inputCol or inputCols; handleInvalid "
    "'error' (an unseen label or a null fails the row, naming the column) or 'keep' (index "
    "numLabels); 'skip' refused. Reads text columns: cast numeric ones to string first.",
    reads=lambda stage: TEXT,
)
def convert_string_indexer(estimator, x):
    invalid = check_choice(estimator, "handleInvalid", _INVALID)
    check_choice(
        estimator, "stringOrderType", ("frequencyDesc", "frequencyAsc", "alphabetDesc", "alphabetAsc")
    )
    cols = input_cols(estimator)
    labels = [list(column) for column in estimator.labelsArray]
    flat = categories.category_index(x.stacked(estimator, cols, (TEXT,)), labels)
    table = np.concatenate([np.arange(len(c)) for c in labels] + [[len(c) for c in labels]])
    index = categories.lookup_table(flat, table.astype(np.float64))
    if invalid == "error":
        unseen = ops.greater_equal(flat, sum(len(c) for c in labels))
        index = _failing(index, unseen, estimator, cols, "a null or a label unseen at fit")
    return split(index, output_cols(estimator), SCALAR)


@register_stage(
    OneHotEncoderModel,
    notes="dropLast, handleInvalid 'error' (a negative, too large or NaN index fails the row) or "
    "'keep' (one extra slot); 'skip' refused. A null index reads as NaN.",
)
def convert_one_hot_encoder(estimator, x):
    keep = check_choice(estimator, "handleInvalid", _INVALID) == "keep"
    drop_last = bool(param(estimator, "dropLast"))
    cols = input_cols(estimator)
    sizes = [int(s) for s in estimator.categorySizes]
    widths = [s + int(keep) - int(drop_last) for s in sizes]
    positions, valid = categories.code_positions(x.stacked(estimator, cols, (SCALAR,)), sizes, widths)
    hot = categories.one_hot(positions, sum(widths))
    if not keep:
        hot = _failing(hot, ops.logical_not(valid), estimator, cols, "an index unseen at fit (or NaN)")
    starts = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    outs = output_cols(estimator)
    if len(outs) == 1:
        return {outs[0]: Column(hot, VECTOR)}
    return {out: Column(hot[:, starts[j] : starts[j + 1]], VECTOR) for j, out in enumerate(outs)}


@register_stage(
    VectorAssembler,
    notes="Numbers and vectors side by side; handleInvalid 'error' (a NaN or null number fails the "
    "row, naming the column; NaN inside a vector passes, as in Spark) or 'keep'; 'skip' refused.",
)
def convert_vector_assembler(estimator, x):
    invalid = check_choice(estimator, "handleInvalid", _INVALID)
    cols = input_cols(estimator)
    columns = [x.read(estimator, c, (SCALAR, VECTOR)) for c in cols]
    y = records.concat([c.tensor for c in columns])
    numbers = [c for c, column in zip(cols, columns, strict=True) if column.kind == SCALAR]
    if invalid == "error" and numbers:
        y = _failing(
            y, ops.isnan(x.stacked(estimator, numbers, (SCALAR,))), estimator, numbers, "NaN or null"
        )
    return {output_cols(estimator)[0]: Column(y, VECTOR)}


def _splits(stage) -> list[np.ndarray]:
    many = param(stage, "splitsArray")
    return [np.asarray(s, dtype=np.float64) for s in (many if many else [param(stage, "splits")])]


@register_stage(
    Bucketizer,
    notes="splits or splitsArray (also the Bucketizer a QuantileDiscretizer fits); the last split is "
    "in the last bucket; a value outside the splits fails the row, as in Spark; handleInvalid "
    "'error' (NaN fails the row) or 'keep' (NaN in bucket len(splits) - 1); 'skip' refused. A null "
    "reads as NaN.",
)
def convert_bucketizer(estimator, x):
    keep = check_choice(estimator, "handleInvalid", _INVALID) == "keep"
    cols = input_cols(estimator)
    splits = _splits(estimator)
    values = x.stacked(estimator, cols, (SCALAR,))
    nan = ops.isnan(values)
    y = bins.bucketize(values, [s[1:-1] for s in splits])
    if keep:
        y = affine.fill_where(y, nan, [len(s) - 1 for s in splits])
    else:
        y = _failing(y, nan, estimator, cols, "NaN")
    low, high = [s[0] for s in splits], [s[-1] for s in splits]
    if np.isfinite(low).any() or np.isfinite(high).any():
        outside = checks.any_outside(values, low, high)
        y = ops.add(y, checks.fail_if_any(outside, f"Bucketizer: a value outside the splits of {cols}"))
    return split(y, output_cols(estimator), SCALAR)


@register_stage(
    Binarizer,
    notes="threshold or thresholds, on numbers (x > t) and vectors (as Spark: with t < 0 a vector's "
    "NaN becomes 1.0).",
)
def convert_binarizer(estimator, x):
    cols, outs = input_cols(estimator), output_cols(estimator)
    many = param(estimator, "thresholds") if len(cols) > 1 or param(estimator, "inputCols") else None
    thresholds = [float(t) for t in many] if many else [float(param(estimator, "threshold"))] * len(cols)
    result = {}
    for col, out, threshold in zip(cols, outs, thresholds, strict=True):
        column = x.read(estimator, col, (SCALAR, VECTOR))
        if column.kind == VECTOR and threshold < 0:  # Spark fills 1.0, then zeroes values <= t
            y = ops.where(
                ops.less_equal(column.tensor, np.float64(threshold)), np.float64(0.0), np.float64(1.0)
            )
        else:
            y = affine.greater_than(column.tensor, threshold)
        result[out] = Column(y, column.kind)
    return result
