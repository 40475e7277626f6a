"""DataFrame columns as the tensors a model's named inputs take: ``frame_feeds``.

Two routes give the same values. A frame of many rows goes column by column (one
numpy conversion and one ``tf.constant`` per column: the cost is in the values). A
frame of a few rows has each column's stored array read once (no Series) and is
split into one float32 and one string block, each made a tensor once and unpacked
into columns: for one row of 16 columns that is about a third of the per-column
route, whose cost is pandas' per-column Series and one eager tensor per column, not
the values. Measured for one row of the benchmark's 16 columns, before this route:
``frame.to_numpy(dtype=object)`` (Arrow strings to objects) and ``frame.dtypes`` (a
Series) were about half of ``to_inputs``, ``tf.unstack``'s Python a quarter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from .columns import category_text
from .errors import InputError

#: Frames of at most this many rows take the whole-frame route (below the measured crossover
#: of the benchmark's 16-column table, where both routes cost the same).
SMALL_FRAME_ROWS = 128


def as_float32(name: str, values: Any) -> np.ndarray:
    """Numeric values (numpy, pandas nullable, bool) as float32; missing becomes NaN."""
    if isinstance(values, pd.Series):
        if values.dtype in (np.float64, np.float32):  # no missing-value mapping needed: cast once
            return values.to_numpy().astype(np.float32)
        if values.dtype == object:  # numbers stored as objects (e.g. ints with None)
            try:
                values = pd.to_numeric(values)
            except (TypeError, ValueError):
                pass
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise InputError(
                f"Column {name!r} must be numeric (the model input is float32). "
                f"Received dtype {values.dtype}. Convert it with pd.to_numeric or fix the column."
            )
        return values.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
    values = np.asarray(values)
    if values.dtype.kind not in "fiub":
        raise InputError(
            f"{name} must be numeric (the model input is float32). Received dtype {values.dtype}."
        )
    return values.astype(np.float32)


def as_text(name: str, values: Any):
    """Text values as a TensorFlow string tensor; None, NaN, pd.NA and NaT become their markers.

    A tensor rather than a numpy array: ``model.predict`` rejects numpy text arrays
    (object or unicode) for a 2-D input, and a tensor works everywhere (``predict``,
    calling the model, a SavedModel signature).
    """
    if isinstance(values, pd.Series):  # tolist: the values to_numpy(dtype=object) holds, one copy less
        listed = values.tolist()
        if isinstance(values.dtype, pd.StringDtype):  # str or missing only: str needs no mapping
            try:
                return tf.constant(listed, dtype=tf.string)
            except (TypeError, ValueError):  # a missing value: map the markers
                pass
        return tf.constant(_texts(listed), dtype=tf.string)
    values = np.asarray(values, dtype=object)
    tensor = tf.constant(_texts(values.ravel().tolist()), dtype=tf.string)  # from a list: no unicode copy
    return tensor if values.ndim == 1 else tf.reshape(tensor, values.shape)


def _texts(values: list) -> list[str]:
    # A str is its own text (category_text(v) == v): only other values go through category_text.
    return [v if type(v) is str else category_text(v) for v in values]


def frame_feeds(
    frame: pd.DataFrame, names: Sequence[str], columns: Sequence[Any], text: Sequence[bool], where=None
):
    """``{name: values}`` for each model input ``names[i]``, read from ``frame[columns[i]]``.

    ``text[i]`` says whether that input is a string one. Numbers come back as float32
    numpy arrays and text as ``tf.string`` tensors; with any text input, everything is
    a tensor (Keras refuses calls that mix arrays and tensors). ``where``, optional, is
    :func:`frame_positions` of these columns in ``frame`` (a caller that sees the same
    columns again keeps it).
    """
    if len(frame) <= SMALL_FRAME_ROWS:
        feeds = small_frame_feeds(frame, names, columns, text, where)
        if feeds is not None:
            return feeds
    return column_feeds(frame, names, columns, text)


def column_feeds(frame: pd.DataFrame, names, columns, text):
    """The per-column route of :func:`frame_feeds` (any frame)."""
    feeds = {
        name: (as_text if is_text else as_float32)(str(column), frame[column])
        for name, column, is_text in zip(names, columns, text, strict=True)
    }
    if any(text):
        # tf.constant, not tf.convert_to_tensor: half the overhead a column (tf.is_tensor costs as much).
        feeds = {k: tf.constant(v) if isinstance(v, np.ndarray) else v for k, v in feeds.items()}
    return feeds


def small_frame_feeds(frame: pd.DataFrame, names, columns, text, where=None):
    """The whole-frame route of :func:`frame_feeds`, or None where a column needs the per-column route."""
    blocks = frame_blocks(frame, columns, text, where)
    if blocks is None:
        return None
    numbers, texts = blocks
    split = {
        False: iter(() if numbers is None else _split(numbers) if any(text) else list(numbers)),
        True: iter(() if texts is None else _split(_text_tensor(texts, len(frame)))),
    }
    return {name: next(split[is_text]) for name, is_text in zip(names, text, strict=True)}


def frame_positions(frame_columns: pd.Index, columns) -> list[int] | None:
    """The position in ``frame_columns`` of each of ``columns``; None where a name repeats
    (``frame[column]`` is then a frame: the per-column route deals with it)."""
    positions = {column: i for i, column in enumerate(frame_columns.tolist())}
    if len(positions) != len(frame_columns):
        return None
    return [positions[column] for column in columns]


def frame_blocks(frame: pd.DataFrame, columns, text, where=None):
    """``(numbers, texts)``: the number columns as one float32 ``(n_numbers, rows)`` array and the
    text columns as ``n_text`` lists of values' texts (None for a kind with no column); or None
    where a column needs the per-column route.

    Each column's stored array is read once, without the Series that ``frame[column]``
    builds (that Series, not the values, is most of the per-column route's cost for a
    few rows). Only numeric inputs read from numpy numeric columns are taken here
    (float64, then float32, as the column route converts them); a nullable, object or
    categorical column feeding a number input goes per column. Text inputs take any
    column, read with ``tolist`` as the per-column route reads them. ``where``:
    :func:`frame_positions` of ``columns``, if known.
    """
    if where is None:
        where = frame_positions(frame.columns, columns)
        if where is None:
            return None
    arrays = _column_arrays(frame, where)
    numbers = [a for a, is_text in zip(arrays, text, strict=True) if not is_text]
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "fiub" for a in numbers):
        return None
    block = np.array(numbers, dtype=np.float64).astype(np.float32) if numbers else None
    texts = [_texts(a.tolist()) for a, is_text in zip(arrays, text, strict=True) if is_text] or None
    return block, texts


def _column_arrays(frame: pd.DataFrame, where: list[int]) -> list:
    """The values of the columns at positions ``where`` as pandas stores them (a numpy array or
    a pandas extension array), read-only.

    ``DataFrame._get_column_array`` is pandas' own accessor for this (private, there since
    pandas 1.3 and still in 3.x); without it, ``frame.iloc[:, i]`` gives the same values
    through one Series per column.
    """
    get = getattr(frame, "_get_column_array", None)
    if get is not None:
        return [get(i) for i in where]
    return [_series_values(frame.iloc[:, i]) for i in where]


def _series_values(series: pd.Series):
    """What ``series`` stores: a numpy array for numbers and objects, else its extension array
    (whose ``tolist`` gives Timestamps, categories' values, ... as the Series' does)."""
    numpy = isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiubO"
    return series.to_numpy() if numpy else series.array


def _text_tensor(texts: list[list[str]], rows: int):
    """Nested lists of strings as one ``tf.string`` tensor of shape ``(len(texts), rows)``."""
    return tf.constant(texts, dtype=tf.string) if rows else tf.zeros((len(texts), 0), tf.string)


def _split(block) -> list:
    """The rows of a 2-D block (columns x rows) as 1-D tensors, one eager op for many columns.

    ``tf.raw_ops.Unpack`` rather than ``tf.unstack``: the same kernel, half the Python
    around it (about 15 us instead of 30 a call).
    """
    if isinstance(block, np.ndarray):
        if len(block) == 1:
            return [tf.constant(block[0])]
        block = tf.constant(block)
    if len(block) == 1:
        return [tf.reshape(block, [-1])]
    return tf.raw_ops.Unpack(value=block, num=len(block), axis=0)
