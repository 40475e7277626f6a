"""Raw data <-> Keras inputs: input names, the inputs of a converted model, ``to_inputs``."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import ops

from .blocks import floats
from .columns import UNUSED, Columns
from .errors import InputError, NotFittedError, UnsupportedParameterError
from .feeds import as_float32, as_text, frame_feeds, frame_positions
from .registry import input_kinds, lookup

#: Name of the single input of a model converted from a preprocessor fitted on a numpy array.
ARRAY_INPUT_NAME = "features"


def keras_input_name(column: Any) -> str:
    """The Keras input name of a DataFrame column.

    Keras layer names cannot contain ``/``; it becomes ``_``. Every other name is
    kept as it is. :func:`keras_embed_prep.to_inputs` applies the same rule.
    """
    return str(column).replace("/", "_")


def _n_features_in(preprocessor: Any) -> int:
    n = getattr(preprocessor, "n_features_in_", None)
    steps = [s for _, s in getattr(preprocessor, "steps", []) if s is not None and s != "passthrough"]
    if n is None and steps:
        # a Pipeline takes its width from its first step: name that step when it cannot convert
        lookup(steps[0])
        return _n_features_in(steps[0])
    if n is None:
        raise NotFittedError(
            f"{type(preprocessor).__name__} does not record how many columns it was fitted on "
            "(no n_features_in_). Fit it on a numpy array or a DataFrame before converting."
        )
    return int(n)


def takes_documents(preprocessor: Any) -> bool:
    """Whether ``preprocessor`` takes one string per row (a text vectorizer, or a Pipeline starting
    with one): it has no ``n_features_in_`` and its converter reads text."""
    if getattr(preprocessor, "n_features_in_", None) is not None:
        return False
    steps = [s for _, s in getattr(preprocessor, "steps", []) if s is not None and s != "passthrough"]
    if steps:
        return takes_documents(steps[0])
    return input_kinds(preprocessor, 1) == ["text"]


def build_inputs(preprocessor: Any):
    """Keras inputs for the raw data ``preprocessor`` was fitted on.

    Returns ``(inputs, x)``: the ``keras.Input`` objects and what the preprocessor's
    converter receives. Fitted on a DataFrame: a list of 1-D inputs named by
    :func:`keras_input_name`, in column order, float32 for numbers and string for
    text. Fitted on a numpy array: one ``(batch, n_features_in_)`` input, float32, or
    string when every column is text. ``x`` is a float64 tensor, a string tensor, or
    :class:`~keras_embed_prep.columns.Columns` when kinds are mixed.
    """
    if takes_documents(preprocessor):
        inputs = keras.Input(shape=(), dtype="string", name=ARRAY_INPUT_NAME)
        return inputs, inputs
    n = _n_features_in(preprocessor)
    kinds = input_kinds(preprocessor, n)
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is None:
        used = {k for k in kinds if k != UNUSED}
        if used == {"text"}:
            inputs = keras.Input(shape=(n,), dtype="string", name=ARRAY_INPUT_NAME)
            return inputs, inputs
        if used <= {"number"}:
            inputs = keras.Input(shape=(n,), dtype="float32", name=ARRAY_INPUT_NAME)
            return inputs, floats.as_float64(inputs)
        # a numpy object array mixing text and numbers: one input per column, as for a DataFrame,
        # named as scikit-learn names array columns (x0, x1, ...); to_inputs splits arrays by position
        names = [f"x{i}" for i in range(n)]
    keys = [keras_input_name(name) for name in names]
    if len(set(keys)) != len(keys):
        clashes = sorted({str(n) for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
        raise UnsupportedParameterError(
            f"Columns {clashes} map to the same Keras input name ('/' becomes '_'). "
            "Rename one of them before fitting."
        )
    # A list, not a dict: Keras would sort a dict's keys, and column order is what users expect.
    # Calls still take a dict keyed by input name. Columns no step reads get no input.
    inputs, numbers, text = [], [], []
    for key, kind in zip(keys, kinds, strict=True):
        if kind == UNUSED:
            continue
        tensor = keras.Input(shape=(), dtype="string" if kind == "text" else "float32", name=key)
        inputs.append(tensor)
        (text if kind == "text" else numbers).append(tensor)
    table = Columns(
        kinds,
        numbers=floats.as_float64(ops.stack(numbers, axis=1)) if numbers else None,
        text=ops.stack(text, axis=1) if text else None,
    )
    # With unused columns only a ColumnTransformer reads the table, by original column index.
    return inputs, table if UNUSED in kinds else table.select(range(n))


def required_columns(preprocessor: Any, columns: Any, *, where: str) -> list[str] | None:
    """The columns ``preprocessor`` takes, by name, from data whose columns are ``columns``.

    Fitted on a DataFrame: its ``feature_names_in_`` as strings (InputError naming those that
    ``where`` lacks). Fitted on a numpy array: None (all columns, in order), after checking that
    there are exactly ``n_features_in_`` of them. ``where`` names the data in messages
    (``"The data"``, ``"DATA 'x.csv'"``).
    """
    columns = [str(c) for c in columns]
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is not None:
        names = [str(c) for c in names]
        present = set(columns)
        missing = [c for c in names if c not in present]
        if missing:
            shown = columns[:10] + (["..."] if len(columns) > 10 else [])
            raise InputError(
                f"{where} lacks columns {missing} that {type(preprocessor).__name__} was fitted on. "
                f"Received columns {shown}. Add them (columns are matched by name)."
            )
        return names
    n = getattr(preprocessor, "n_features_in_", None)
    if n is not None and len(columns) != int(n):
        raise InputError(
            f"{where} has {len(columns)} columns, but {type(preprocessor).__name__} was fitted on a "
            f"numpy array of {int(n)} columns. Pass exactly these {int(n)} columns, in the order used "
            "for fitting."
        )
    return None


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


def _array_positions(inputs) -> list[int] | None:
    """Column positions of a model converted from a mixed numpy array (inputs ``x0``, ``x1``, ...)."""
    names = [t.name for t in inputs]
    if all(len(t.shape) == 1 for t in inputs) and all(n[:1] == "x" and n[1:].isdigit() for n in names):
        return [int(n[1:]) for n in names]
    return None


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
        numpy arrays; text values become ``tf.string`` tensors, with NaN, None, pd.NA
        and NaT written as their markers (``"__missing__"``, ``"__none__"``, ``"__na__"``,
        ``"__nat__"``: :data:`keras_embed_prep.columns.MARKERS`). A model with
        any text input gets tensors only (Keras refuses calls that mix arrays and
        tensors).

    Raises
    ------
    InputError
        A column is missing, has the wrong kind, or the array has the wrong width.
    """
    plan = _plan(model)
    if plan.documents and not isinstance(X, pd.DataFrame):
        documents = X.to_numpy(dtype=object) if isinstance(X, pd.Series) else np.asarray(X, dtype=object)
        if documents.ndim != 1:
            raise InputError(
                f"{model.name} takes one document (string) per row, as a text vectorizer does. "
                f"Received shape {documents.shape}. Pass a list, a 1-D array or a pandas Series of text."
            )
        return as_text("The documents", documents)
    if plan.width is not None:
        array = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        if array.ndim != 2 or array.shape[1] != plan.width:
            raise InputError(
                f"{model.name} expects a 2-D array with {plan.width} columns. "
                f"Received shape {array.shape}. Pass the same columns the preprocessor was fitted on."
            )
        if plan.text[0]:
            return as_text("The array", array)
        return as_float32("The array", array)
    positions = plan.positions
    if not isinstance(X, pd.DataFrame) and positions is not None and np.ndim(X) == 2:
        array = np.asarray(X, dtype=object)
        if array.shape[1] <= max(positions):
            raise InputError(
                f"{model.name} reads array columns up to x{max(positions)}. Received shape {array.shape}. "
                "Pass the same columns the preprocessor was fitted on."
            )
        X = pd.DataFrame({f"x{i}": array[:, i] for i in positions})
    if not isinstance(X, pd.DataFrame):
        names = plan.names
        raise InputError(
            f"{model.name} takes one named input per column ({names[:5]}{'...' if len(names) > 5 else ''}). "
            f"Received {type(X).__name__}. Pass a pandas DataFrame with these columns."
        )
    frame_columns, columns, where = plan.last_frame
    if X.columns is not frame_columns:  # a pandas Index is immutable: the same object, the same columns
        by_input_name = {keras_input_name(c): c for c in X.columns.tolist()}
        missing = [n for n in plan.names if n not in by_input_name]
        if missing:
            raise InputError(
                f"{model.name} needs columns {missing} that the DataFrame lacks. "
                f"Received columns {list(X.columns)}."
            )
        columns = [by_input_name[n] for n in plan.names]
        where = frame_positions(X.columns, columns)
        plan.last_frame = (X.columns, columns, where)  # one assignment: safe with threads
    return frame_feeds(X, plan.names, columns, plan.text, where)


@dataclass
class _Plan:
    """What :func:`to_inputs` reads from ``model.inputs``, once per model."""

    inputs: list  # the model.inputs it was read from (rebuilt if the model's change)
    names: list[str]
    text: list[bool]  # whether each input is a string one
    documents: bool  # one 1-D input of documents (a text vectorizer's)
    width: int | None  # one 2-D input of this many columns
    positions: list[int] | None  # a mixed numpy array's column of each input (inputs x0, x1, ...)
    #: the columns of the last DataFrame seen, each input's column in it and their positions
    last_frame: tuple = (None, None, None)


#: One plan per model, dropped with the model.
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plan(model: keras.Model) -> _Plan:
    try:
        plan = _PLANS.get(model)
    except TypeError:  # not weakly referenceable: no cache
        plan = None
    if plan is not None and plan.inputs is model.inputs:
        return plan
    inputs = model.inputs
    plan = _Plan(
        inputs=inputs,
        names=[t.name for t in inputs],
        text=[t.dtype == "string" for t in inputs],
        documents=len(inputs) == 1 and len(inputs[0].shape) == 1 and inputs[0].name == ARRAY_INPUT_NAME,
        width=int(inputs[0].shape[-1]) if len(inputs) == 1 and len(inputs[0].shape) == 2 else None,
        positions=_array_positions(inputs),
    )
    try:
        _PLANS[model] = plan
    except TypeError:
        pass
    return plan
