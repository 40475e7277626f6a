"""The raw rows as the doctor reads them: a table of raw columns, graph values matched back to those
columns, and per-row NaN and magnitude."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..columns import category_text


@dataclass
class RawColumn:
    """One column of the raw rows, by name (the DataFrame column, or its position for arrays)."""

    name: str
    values: np.ndarray  # float64 (float32-rounded) or object (str)

    @property
    def text(self) -> bool:
        return self.values.dtype == object


def raw_table(X: Any) -> list[RawColumn]:
    """The raw columns of ``X``, numbers as the float32 values a model receives."""
    if isinstance(X, pd.DataFrame):
        columns = []
        for name in X.columns:
            series = X[name]
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
                columns.append(RawColumn(str(name), values.astype(np.float32).astype(np.float64)))
            else:
                text = [category_text(v) for v in series.tolist()]
                columns.append(RawColumn(str(name), np.array(text, dtype=object)))
        return columns
    array = np.asarray(X)
    if array.dtype.kind in "fiub":
        array = array.astype(np.float32).astype(np.float64)
        return [RawColumn(str(j), array[:, j]) for j in range(array.shape[1])]
    return [
        RawColumn(str(j), np.array([category_text(v) for v in array[:, j].tolist()], dtype=object))
        for j in range(array.shape[1])
    ]


def as_text(values: np.ndarray) -> np.ndarray:
    """Graph text values (bytes or str) as an object array of str, same shape."""
    flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values.ravel()]
    return np.array(flat, dtype=object).reshape(values.shape)


def match(values: np.ndarray, table: list[RawColumn]) -> list[RawColumn | None]:
    """For each column of ``values`` (rows, k), the raw column it equals (where the raw value is finite)."""
    values = values.reshape(values.shape[0], -1)
    text = values.dtype.kind in "OSU"
    if text:
        values = as_text(values)
    return [_equal_column(values[:, j], text, table) for j in range(values.shape[1])]


def _equal_column(col: np.ndarray, text: bool, table: list[RawColumn]) -> RawColumn | None:
    for raw in table:
        if raw.text != text:
            continue
        if text:
            if np.array_equal(col, raw.values):
                return raw
            continue
        if col.dtype.kind not in "fc":
            continue
        finite = np.isfinite(raw.values)
        if not finite.any():
            continue
        head = np.flatnonzero(finite)[:32]  # a cheap first look before the whole column
        if np.array_equal(col[head], raw.values[head]) and np.array_equal(col[finite], raw.values[finite]):
            return raw
    return None


def bad_rows(array: np.ndarray, n: int) -> np.ndarray:
    """Rows of ``array`` holding NaN or Inf (float arrays with a batch axis only)."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or array.ndim == 0 or array.shape[0] != n:
        return np.zeros(n, dtype=bool)
    return ~np.isfinite(array.reshape(n, -1)).all(axis=1)


def row_max_abs(array: np.ndarray, n: int) -> np.ndarray | None:
    """Per row, the largest finite ``|value|`` of ``array``; None when it has no float batch axis."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or array.ndim == 0 or array.shape[0] != n or array.size == 0:
        return None
    flat = np.abs(array.reshape(n, -1).astype(np.float64))
    return np.where(np.isfinite(flat), flat, 0.0).max(axis=1)
