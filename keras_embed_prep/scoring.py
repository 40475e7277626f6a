"""Scoring raw rows from Python at low latency: :func:`scorer`.

``model(...)`` and ``model.predict(...)`` run Keras' per-call machinery (input
structure checks, a new step function per shape for ``predict``); a DataFrame goes
through ``to_inputs`` column by column. A :class:`Scorer` holds one compiled
``tf.function`` of the model and feeds it two tensors a call, one float32 block of
the number columns and one string block of the text columns (the ``serving_packed``
signature's layout), built straight from a DataFrame, a dict or a list of dicts.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .errors import InputError
from .export.signatures import packed, serving
from .feeds import SMALL_FRAME_ROWS, as_float32, as_text, frame_blocks
from .inputs import defined_inputs, keras_input_name, to_inputs

#: Python types of values a number column may hold in a dict or a list of dicts (None is NaN).
_NUMBER_TYPES = (int, float, bool, np.integer, np.floating, np.bool_, type(None))


class Scorer:
    """A compiled model and the column layout of its inputs; call it on raw rows.

    Build one with :func:`scorer`. ``scorer(X)`` takes what ``to_inputs`` takes (a
    DataFrame, an array for a model fitted on one) plus a dict of one row
    (``{"column": value}``) or of columns (``{"column": [values]}``), a list of such
    row dicts, and a TF Serving style request (``{"instances": [...]}`` or
    ``{"inputs": {...}}``). It returns the model's named outputs (the signature's
    names) as numpy arrays, decoded labels as ``str``. Values and missing-value rules
    are exactly ``to_inputs``'s.
    """

    def __init__(self, model: keras.Model):
        inputs = defined_inputs(model)
        self.model = model
        self._by_row = len(inputs) > 1 or len(inputs[0].shape) == 1
        self.numbers = [t.name for t in inputs if t.dtype != "string"] if self._by_row else []
        self.text = [t.name for t in inputs if t.dtype == "string"] if self._by_row else []
        specs, fn = serving(model)
        if self._by_row:
            specs, fn = packed(model, fn) or _one_column(model, fn)
        # the concrete function: calling it skips tf.function's argument binding (~0.4 ms a call)
        self._fn = tf.function(fn, input_signature=[specs], autograph=False).get_concrete_function()

    def __call__(self, X: Any) -> dict[str, np.ndarray]:
        """The model's outputs on the raw rows ``X``, by output name."""
        if not self._by_row:
            return _plain(self._fn({self.model.inputs[0].name: to_inputs(X, self.model)}))
        if isinstance(X, dict) and ("instances" in X or "inputs" in X):
            X = X["instances"] if "instances" in X else X["inputs"]
        if isinstance(X, dict):
            one_row = not any(isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in X.values())
            X = [X] if one_row else pd.DataFrame(X)
        if isinstance(X, (list, tuple)):
            blocks = self._record_blocks(X)
        elif isinstance(X, pd.DataFrame):
            blocks = self._frame_blocks(X)
        else:
            raise InputError(
                f"{self.model.name} takes one named input per column. Received {type(X).__name__}. "
                "Pass a DataFrame, a dict of columns or of one row, or a list of row dicts."
            )
        return _plain(self._fn(blocks))

    def _frame_blocks(self, frame: pd.DataFrame) -> dict:
        by_name = {keras_input_name(c): c for c in frame.columns.tolist()}
        missing = [n for n in self.numbers + self.text if n not in by_name]
        if missing:
            raise InputError(
                f"{self.model.name} needs columns {missing} that the DataFrame lacks. "
                f"Received columns {list(frame.columns)}."
            )
        names = self.numbers + self.text
        kinds = [False] * len(self.numbers) + [True] * len(self.text)
        small = len(frame) <= SMALL_FRAME_ROWS
        blocks = frame_blocks(frame, [by_name[n] for n in names], kinds) if small else None
        if blocks is None:  # many rows, or columns that need the per-column rules
            numbers = [as_float32(str(by_name[n]), frame[by_name[n]]) for n in self.numbers]
            text = [as_text(str(by_name[n]), frame[by_name[n]]) for n in self.text]
            return self._feed(
                np.stack(numbers, axis=1) if numbers else None, tf.stack(text, axis=1) if text else None
            )
        numbers, texts = blocks
        return self._feed(
            None if numbers is None else numbers.T,
            None if texts is None else _rows(texts, len(frame)),
        )

    def _record_blocks(self, rows: list) -> dict:
        try:
            keyed = [{keras_input_name(k): v for k, v in row.items()} for row in rows]
            numbers = [[row[n] for n in self.numbers] for row in keyed]
            texts = [[row[n] for n in self.text] for row in keyed]
        except KeyError as missing:
            raise InputError(
                f"{self.model.name} needs column {missing.args[0]!r}, which a row lacks. "
                f"Received keys {sorted(map(str, rows[0]))[:10]} in the first row."
            ) from None
        except AttributeError:
            raise InputError(
                f"{self.model.name} takes rows as dicts of column to value. "
                f"Received a {type(rows[0]).__name__} row."
            ) from None
        if not all(isinstance(v, _NUMBER_TYPES) for r in numbers for v in r):
            return self._frame_blocks(pd.DataFrame(list(rows)))  # text, pd.NA, ...: the DataFrame rules
        values = np.asarray(numbers, dtype=np.float64).reshape(len(rows), len(self.numbers))
        text = np.asarray(texts, dtype=object).reshape(len(rows), len(self.text))
        return self._feed(values.astype(np.float32), as_text("rows", text) if self.text else None)

    def _feed(self, numbers, text) -> dict:
        feed = {}
        if self.numbers:
            feed["numbers"] = tf.constant(numbers, dtype=tf.float32)
        if self.text:
            feed["text"] = text if tf.is_tensor(text) else tf.constant(text, dtype=tf.string)
        return feed


def _one_column(model: keras.Model, serve):
    """``(specs, fn)`` in the packed layout for a model with one 1-D input (``packed`` needs two)."""
    (tensor,) = model.inputs
    key = "text" if tensor.dtype == "string" else "numbers"
    dtype = tf.string if key == "text" else tf.float32
    specs = {key: tf.TensorSpec([None, 1], dtype, name=key)}
    return specs, lambda tensors: serve({tensor.name: tensors[key][:, 0]})


def _rows(texts: list[list[str]], rows: int):
    """Column-major lists of strings as a ``(rows, n_text)`` string tensor."""
    if not rows:
        return tf.zeros((0, len(texts)), tf.string)
    return tf.constant([list(row) for row in zip(*texts, strict=True)], dtype=tf.string)


def _plain(outputs: dict) -> dict[str, np.ndarray]:
    out = {}
    for key, value in outputs.items():
        array = value.numpy()
        out[key] = np.char.decode(array.astype(bytes), "utf-8") if array.dtype == object else array
    return out


def scorer(model: keras.Model | str | os.PathLike) -> Scorer:
    """A :class:`Scorer`: the fast way to score raw rows of a DataFrame, a dict or records from Python.

    Parameters
    ----------
    model : keras.Model or path
        A model from :func:`to_keras` or :func:`embed`, or the path of its ``.keras``
        file (loaded with ``safe_mode=True``).

    Examples
    --------
    >>> score = scorer(embedded)                      # doctest: +SKIP
    >>> score({"bill length (mm)": 39.1, "island": "Torgersen"})["output_0"]  # doctest: +SKIP
    """
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not (path.endswith(".keras") and os.path.isfile(path)):
            raise InputError(
                f"scorer takes a Keras model or the path of a .keras file. Received {path!r}. "
                "For an exported SavedModel, call its serving_packed signature (docs/serving.md)."
            )
        model = keras.saving.load_model(path, safe_mode=True)
    if not isinstance(model, keras.Model):
        raise InputError(f"scorer takes a Keras model or a .keras path. Received {type(model).__name__}.")
    return Scorer(model)
