"""What is diagnosed: the arguments checked, the rows cut to the preprocessor's columns, and what the
model is fed (the raw rows, or the preprocessed rows when it cannot take the raw ones)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd

from ..errors import InputError, ShapeMismatchError, UnsupportedEstimatorError
from ..inputs import defined_inputs, required_columns, to_inputs
from ..io import quote_error
from ..registry import check_fitted
from ..verify import dense_rows, reference_output
from .data import RawColumn, raw_table
from .sites import embeds


@dataclass(frozen=True)
class Case:
    """The model, the raw rows (the preprocessor's columns), their table, and the preprocessor."""

    model: keras.Model
    X: Any
    preprocessor: Any
    embedded: bool
    table: list[RawColumn]

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def plain(self) -> bool:
        """A preprocessor was given that the model does not embed."""
        return self.preprocessor is not None and not self.embedded

    @property
    def bare(self) -> bool:
        """Neither a preprocessor given nor one embedded."""
        return self.preprocessor is None and not self.embedded


@dataclass(frozen=True)
class Feed:
    """What the model is fed (``values``), and the preprocessed rows where there are some."""

    values: Any
    prepared: np.ndarray | None = None  # preprocessor.transform(X), float32
    transform_error: str | None = None
    cannot_take: str | None = None  # why the model cannot take the raw rows (it is fed ``prepared``)
    notes: list[str] = field(default_factory=list)

    @property
    def raw(self) -> bool:
        """The model is fed the raw rows."""
        return self.values is not self.prepared


def check_case(model: Any, X: Any, preprocessor: Any) -> Case:
    """The arguments checked, ``X`` cut to the columns the preprocessor takes."""
    _check_model(model)
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.ndim != 2:
            raise InputError(f"X must be 2-D (rows, columns). Received shape {X.shape}.")
    if len(X) == 0:
        raise InputError("X has no rows. Pass the rows to diagnose.")
    if preprocessor is not None:
        _check_fitted(preprocessor)
        X = _select(X, preprocessor)
    return Case(model, X, preprocessor, embeds(model), raw_table(X))


def feed(case: Case) -> Feed:
    """What the model receives: the raw rows, or (when it cannot take them) the preprocessed rows."""
    model, preprocessor = case.model, case.preprocessor
    prepared, transform_error, notes = None, None, []
    if preprocessor is not None:
        try:
            prepared = _transform(preprocessor, case.X, dense=case.plain)
        except (ValueError, TypeError) as exc:
            transform_error = quote_error(exc)
            notes.append(f"{type(preprocessor).__name__}.transform failed on the rows ({transform_error})")
    try:
        values, cannot_take = _feeds(model, case.X), None
    except InputError as exc:
        if not case.plain:
            raise
        values, cannot_take = None, str(exc)
    if case.plain and prepared is not None:
        width = int(model.inputs[0].shape[-1])
        if prepared.shape[1] != width:
            raise ShapeMismatchError(
                f"{type(preprocessor).__name__} outputs {prepared.shape[1]} columns but model {model.name!r} "
                f"takes {width}. Pass the preprocessor the model was trained behind."
            )
    if values is None:
        if prepared is None:
            raise InputError(
                f"{cannot_take} {type(preprocessor).__name__}.transform failed too ({transform_error})."
            )
        values = prepared
    return Feed(values, prepared, transform_error, cannot_take, notes)


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise UnsupportedEstimatorError(
            f"diagnose expects a keras.Model as its first argument. Received {type(model).__name__}."
        )
    defined_inputs(model)


def _check_fitted(preprocessor: Any) -> None:
    if not callable(getattr(preprocessor, "transform", None)):
        raise UnsupportedEstimatorError(
            f"preprocessor must be a fitted scikit-learn transformer. Received {type(preprocessor).__name__}."
        )
    check_fitted(
        preprocessor,
        f"{type(preprocessor).__name__} is not fitted. Pass the preprocessor fitted on the training data.",
    )


def _select(X: Any, preprocessor: Any) -> Any:
    """The columns the preprocessor takes (by name for DataFrames)."""
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is not None and not isinstance(X, pd.DataFrame):
        raise InputError(
            f"{type(preprocessor).__name__} was fitted on a DataFrame with columns "
            f"{[str(c) for c in names][:10]}. Received {type(X).__name__}. Pass a DataFrame."
        )
    columns = X.columns if isinstance(X, pd.DataFrame) else range(X.shape[1])
    names = required_columns(preprocessor, columns, where="The data")
    if names is None:
        return X
    by_name = {str(c): c for c in X.columns}
    return X[[by_name[name] for name in names]]


def _feeds(model: keras.Model, X: Any) -> Any:
    """What ``model`` takes for the raw rows ``X`` (InputError if it cannot take them)."""
    inputs = model.inputs
    if len(inputs) == 1 and len(inputs[0].shape) == 2:
        width = int(inputs[0].shape[-1])
        array = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        if array.shape[1] != width:
            raise InputError(
                f"Model {model.name!r} takes {width} columns; the data has {array.shape[1]}. Pass data "
                "with exactly the model's columns (or the preprocessor whose output the model takes)."
            )
    return to_inputs(X, model)


def _transform(preprocessor: Any, X: Any, dense: bool) -> np.ndarray | None:
    """The preprocessed rows as the model is fed them, float32, where ``dense`` (a model fed them);
    else None, after transforming only to learn whether the preprocessor takes the rows.

    A model that embeds the preprocessor is never fed these rows, and its check against the
    original model (``verify``) streams them in chunks: densified whole here, a one-hot of
    200,000 categories would cost 0.8 MB a row (float32). scikit-learn's sparse output stays sparse.
    """
    output = reference_output(preprocessor, X)
    return dense_rows(output, slice(None), np.float32) if dense else None
