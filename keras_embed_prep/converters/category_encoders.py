"""The encoders of the ``category_encoders`` package, at transform time on new data (``y=None``).

Written as a third party would write them: only the public ``register_converter``, the blocks
and the errors of keras_embed_prep. Registered only when ``category_encoders`` is importable.

At transform time on new data every encoder listed here maps each encoded column on its own,
value by value: a fitted category, a value never seen at fit, and a missing value (None, NaN,
pd.NA, NaT alike) each give one fixed block of outputs. The fitted categories are read from the
encoder's mapping; the block of each is what the encoder's own ``transform`` returns for it
(``category_encoders`` keeps each encoder's statistics in its own structure and applies its own
formula at transform time, LeaveOneOut's and CatBoost's differing from fit's, so the package is
asked rather than re-derived). The graph looks the blocks up
(:func:`keras_embed_prep.blocks.categories.lookup_rows`); ``handle_unknown="error"`` and
``handle_missing="error"`` fail at inference as the package raises.
"""

from __future__ import annotations

import category_encoders as ce
import numpy as np
import pandas as pd
from keras import ops
from pandas.api.types import is_numeric_dtype

from keras_embed_prep.blocks import affine, categories, checks, records
from keras_embed_prep.columns import Columns
from keras_embed_prep.errors import UnsupportedParameterError
from keras_embed_prep.registry import register_converter, register_refusal

#: The encoders converted here; each maps a column value by value at transform time.
ENCODERS = (
    ce.OrdinalEncoder,
    ce.OneHotEncoder,
    ce.BinaryEncoder,
    ce.BaseNEncoder,
    ce.CountEncoder,
    ce.TargetEncoder,
    ce.MEstimateEncoder,
    ce.JamesSteinEncoder,
    ce.WOEEncoder,
    ce.LeaveOneOutEncoder,
    ce.CatBoostEncoder,
)
#: A text value no fitted category holds: the probe of "a value never seen at fit".
_UNSEEN = "\x00keras_embed_prep:unseen\x00"
#: The missing values of a text column, as the graph tells them apart (all alike here).
_MISSING_TEXT = [np.nan, None, pd.NA, pd.NaT]


def _refuse(estimator, parameter: str, why: str) -> UnsupportedParameterError:
    value = getattr(estimator, parameter, None)
    return UnsupportedParameterError(
        f"{type(estimator).__name__}({parameter}={value!r}) is not supported: {why}"
    )


def _check_options(estimator) -> None:
    """Refuse what makes an output depend on more than one value of one column, or on callables."""
    if getattr(estimator, "composite_cols", None):
        raise _refuse(estimator, "composite_cols", "joint encodings of several columns are not converted.")
    if getattr(estimator, "hierarchy", None) is not None:
        raise _refuse(estimator, "hierarchy", "hierarchical encodings are not converted.")
    if getattr(estimator, "min_group_size", None) is not None:
        raise _refuse(
            estimator, "min_group_size", "lumped groups are not converted; lump rare labels before fitting."
        )
    for name in ("handle_unknown", "handle_missing"):
        value = getattr(estimator, name)
        options = value.values() if isinstance(value, dict) else [value]
        if any(callable(v) for v in options):
            raise _refuse(estimator, name, "callables cannot be converted; use a string or a number.")
    names = list(estimator.feature_names_in_)
    if not all(isinstance(n, str) for n in names):
        raise UnsupportedParameterError(
            f"{type(estimator).__name__} was fitted on an array (columns {names}); fit it on a "
            "DataFrame with named columns to convert it."
        )


def _category_lists(estimator) -> dict[str, list]:
    """Encoded column -> its fitted categories (missing ones left out), from the encoder's mapping."""
    inner = getattr(estimator, "ordinal_encoder", None)
    mapping = inner.mapping if inner is not None else estimator.mapping
    if isinstance(mapping, dict):  # LeaveOneOut, CatBoost: column -> statistics indexed by category
        pairs = [(col, frame.index) for col, frame in mapping.items()]
    else:
        pairs = [(switch["col"], switch["mapping"].index) for switch in mapping]
    found = {col: [v for v in index if not pd.isna(v)] for col, index in pairs}
    return {col: found[col] for col in estimator.cols}


def _is_text(estimator, col: str, known: list) -> bool:
    dtype = estimator.feature_dtypes_in_[list(estimator.feature_names_in_).index(col)]
    return not is_numeric_dtype(dtype) or any(isinstance(v, str) for v in known)


def encoder_kinds(estimator, n_columns: int) -> list[str]:
    """Text for encoded columns of text, numbers for the rest (passed through unchanged)."""
    cats = _category_lists(estimator)
    return [
        "text"
        if (col in cats and _is_text(estimator, col, cats[col])) or not is_numeric_dtype(dtype)
        else "number"
        for col, dtype in zip(estimator.feature_names_in_, estimator.feature_dtypes_in_, strict=True)
    ]


def _transform(estimator, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The encoder's own output on ``frame`` as a DataFrame, or None where the encoder raises."""
    try:
        return estimator.transform(frame, override_return_df=True)
    except ValueError:
        return None


class _Probe:
    """The encoder's output for every fitted category, an unseen value and a missing value."""

    def __init__(self, estimator, cats: dict[str, list]):
        self.estimator, self.cats = estimator, cats
        self.names = list(estimator.feature_names_in_)
        self.text = {col: _is_text(estimator, col, known) for col, known in cats.items()}
        n_rows = max([len(known) for known in cats.values()] + [1])
        columns = {}
        for name, dtype in zip(self.names, estimator.feature_dtypes_in_, strict=True):
            known = cats.get(name)
            if known is None:
                columns[name] = pd.Series(np.zeros(n_rows), dtype=dtype)
            elif not known:
                columns[name] = pd.Series([np.nan] * n_rows, dtype=object if self.text[name] else float)
            else:
                values = [known[i % len(known)] for i in range(n_rows)]
                columns[name] = pd.Series(values, dtype=object if self.text[name] else float)
        self.frame = pd.DataFrame(columns)
        self.known = _transform(estimator, self.frame)
        if self.known is None:
            raise UnsupportedParameterError(
                f"{type(estimator).__name__}.transform raises on its own fitted categories; "
                "it cannot be converted."
            )

    def single(self, col: str, value) -> pd.DataFrame | None:
        """The output of one row holding ``value`` in ``col`` (fitted values elsewhere)."""
        row = self.frame.iloc[:1].copy()
        row[col] = pd.Series([value], dtype=object if self.text[col] else float)
        return _transform(self.estimator, row)

    def unseen(self, col: str):
        if self.text[col]:
            return _UNSEEN
        known = np.asarray(self.cats[col], dtype=np.float64)
        return float(np.max(np.abs(known)) * 2 + 1) if known.size else 1.0


def _blocks(estimator, probe: _Probe) -> dict[str, list[str]]:
    """Encoded column -> the output columns it becomes, in output order."""
    generated = {}
    mapping = getattr(estimator, "mapping", None)
    if isinstance(mapping, list) and mapping and isinstance(mapping[0].get("mapping"), pd.DataFrame):
        generated = {switch["col"]: list(switch["mapping"].columns) for switch in mapping}
    out = list(probe.known.columns)
    return {col: [o for o in out if o in generated.get(col, [col])] for col in probe.cats}


def _column_table(probe: _Probe, col: str, block: list[str]):
    """``(categories, rows, unknown row, raises on unknown, raises on missing)`` of one column."""
    known = probe.cats[col]
    values = probe.known[block].to_numpy(dtype=np.float64)[: len(known)].reshape(len(known), len(block))
    missing_out, unseen_out = probe.single(col, np.nan), probe.single(col, probe.unseen(col))

    def row(out):
        return np.full(len(block), np.nan) if out is None else out[block].to_numpy(dtype=np.float64)[0]

    markers = _MISSING_TEXT if probe.text[col] else [np.nan]
    rows = np.vstack([values, np.tile(row(missing_out), (len(markers), 1))])
    return [*known, *markers], rows, row(unseen_out), unseen_out is None, missing_out is None


def convert_encoder(estimator, x):
    """The converter of every class in :data:`ENCODERS`."""
    _check_options(estimator)
    probe = _Probe(estimator, _category_lists(estimator))
    blocks = _blocks(estimator, probe)
    columns = Columns.of(x)
    encoded = [col for col in probe.names if col in probe.cats]
    if not encoded:
        return _in_output_order(estimator, probe, columns, None, encoded, blocks)
    lists, rows, unknown, fails_unknown, fails_missing = zip(
        *(_column_table(probe, col, blocks[col]) for col in encoded), strict=True
    )
    index = [probe.names.index(col) for col in encoded]
    flat = categories.category_index(columns.select(index), [np.asarray(c, dtype=object) for c in lists])
    y = categories.lookup_rows(flat, rows, unknown)
    y = ops.add(y, _failures(estimator, flat, encoded, lists, fails_unknown, fails_missing))
    return _in_output_order(estimator, probe, columns, y, encoded, blocks)


def _is_missing(value) -> bool:
    return not isinstance(value, str) and bool(pd.isna(value))


def _failures(estimator, flat, encoded, lists, fails_unknown, fails_missing):
    """Zeros, or a failure at inference where the encoder raises (unknown or missing values)."""
    name = type(estimator).__name__
    total = sum(len(c) for c in lists)
    zero = ops.zeros_like(flat[:, :1], dtype="float64")
    if any(fails_unknown):
        flags = ops.logical_and(ops.greater_equal(flat, total), np.asarray(fails_unknown))
        reasons = [f"{name}(handle_unknown=error): unknown category in column {c}" for c in encoded]
        zero = ops.add(zero, checks.fail_if_any(flags, reasons))
    if any(fails_missing):
        raises = [
            [fails and _is_missing(v) for v in cats] for cats, fails in zip(lists, fails_missing, strict=True)
        ]
        table = np.concatenate([*raises, np.zeros(len(lists), dtype=bool)])
        reasons = [f"{name}(handle_missing=error): missing value in column {c}" for c in encoded]
        zero = ops.add(zero, checks.fail_if_any(categories.lookup_table(flat, table), reasons))
    return zero


def _in_output_order(estimator, probe: _Probe, columns, y, encoded, blocks):
    """The encoded blocks and the columns passed through, in the encoder's output column order."""
    position, start = {}, 0
    for col in encoded:
        for o in blocks[col]:
            position[o] = start
            start += 1
    passed = [o for o in probe.known.columns if o not in position]
    for o in passed:
        if o not in probe.names or columns.kinds[probe.names.index(o)] != "number":
            raise UnsupportedParameterError(
                f"{type(estimator).__name__} passes column {o!r} through unchanged as text; a Keras "
                "model needs numbers. Encode it too (cols=...) or drop it before the encoder."
            )
        position[o] = start
        start += 1
    parts = [] if y is None else [y]
    if passed:
        parts.append(columns.select([probe.names.index(o) for o in passed]))
    return affine.take_columns(records.concat(parts), [position[o] for o in probe.known.columns])


_NOTES = (
    "transform on new data (y=None); handle_unknown and handle_missing 'value', 'return_nan', 'error' "
    "(fails at inference), a number, and the encoder's own options ('indicator', 'ignore'); drop_invariant; "
    "DataFrame output column order, columns not encoded passed through. Refused: callables, composite_cols, "
    "hierarchy, min_group_size."
)

for _cls in ENCODERS:
    register_converter(_cls, notes=_NOTES, input_kinds=encoder_kinds)(convert_encoder)

register_refusal(
    ce.HashingEncoder,
    "it hashes values with hash_method (MD5 by default, a hashlib digest), which no Keras operation "
    "computes; use OneHotEncoder or BinaryEncoder, or hash the column before it reaches the model",
)
