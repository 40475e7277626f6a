"""``to_inputs``: turn a DataFrame or array into exactly what a converted model takes."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from . import blocks
from .errors import InputError
from .graph import keras_input_name


def _as_float32(name: str, values: Any) -> np.ndarray:
    """Numeric values (numpy, pandas nullable, bool) as float32; missing becomes NaN."""
    if isinstance(values, pd.Series):
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


def _as_text(name: str, values: Any):
    """Text values as a TensorFlow string tensor; None, NaN and pd.NA become :data:`blocks.MISSING`.

    A tensor rather than a numpy array: ``model.predict`` rejects numpy text arrays
    (object or unicode) for a 2-D input, and a tensor works everywhere (``predict``,
    calling the model, a SavedModel signature).
    """
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object)
    values = np.asarray(values, dtype=object)
    flat = [blocks.category_text(v) for v in values.ravel().tolist()]
    return tf.constant(np.array(flat, dtype=str).reshape(values.shape))


def defined_inputs(model: keras.Model, error: type[Exception] = InputError) -> list:
    """``model.inputs``, or ``error`` saying how to build a model that has none yet."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise error(
            f"Model {model.name!r} has no defined inputs. Build it first, e.g. start a "
            "Sequential with keras.Input(shape=(n_features,)) or call it once on data."
        )
    return list(inputs)


def to_inputs(X: Any, model: keras.Model) -> np.ndarray | dict[str, np.ndarray]:
    """Turn ``X`` into exactly what ``model`` takes.

    Parameters
    ----------
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        Raw data, as given to ``preprocessor.transform``.
    model : keras.Model
        A model built by :func:`to_keras` or :func:`embed` (or loaded from a
        ``.keras`` file: only its inputs are read, so this works without the
        package that built it).

    Returns
    -------
    numpy.ndarray or dict of str to numpy.ndarray
        A ``(n_samples, n_features)`` array for a model with one 2-D input; for a
        model with one named input per column, a dict of 1-D arrays keyed by input
        name. Numeric values are cast to float32, the dtype of the model's inputs
        (the converted model reproduces scikit-learn on these float32 values), as
        numpy arrays; text values become ``tf.string`` tensors, with None, NaN and
        pd.NA written as the missing-value sentinel ``"__missing__"``. A model with
        any text input gets tensors only (Keras refuses calls that mix arrays and
        tensors).

    Raises
    ------
    InputError
        A column is missing, has the wrong kind, or the array has the wrong width.
    """
    inputs = model.inputs
    if len(inputs) == 1 and len(inputs[0].shape) == 2:
        expected = int(inputs[0].shape[-1])
        array = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        if array.ndim != 2 or array.shape[1] != expected:
            raise InputError(
                f"{model.name} expects a 2-D array with {expected} columns. "
                f"Received shape {array.shape}. Pass the same columns the preprocessor was fitted on."
            )
        if inputs[0].dtype == "string":
            return _as_text("The array", array)
        return _as_float32("The array", array)
    if not isinstance(X, pd.DataFrame):
        names = [t.name for t in inputs]
        raise InputError(
            f"{model.name} takes one named input per column ({names[:5]}{'...' if len(names) > 5 else ''}). "
            f"Received {type(X).__name__}. Pass a pandas DataFrame with these columns."
        )
    by_input_name = {keras_input_name(c): c for c in X.columns}
    missing = [t.name for t in inputs if t.name not in by_input_name]
    if missing:
        raise InputError(
            f"{model.name} needs columns {missing} that the DataFrame lacks. "
            f"Received columns {list(X.columns)}."
        )
    feeds = {
        t.name: (_as_text if t.dtype == "string" else _as_float32)(t.name, X[by_input_name[t.name]])
        for t in inputs
    }
    if any(t.dtype == "string" for t in inputs):  # Keras refuses a call mixing arrays and tensors
        feeds = {k: tf.convert_to_tensor(v) for k, v in feeds.items()}
    return feeds
