"""Walking composite estimators and building the raw inputs of a converted model."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops
from sklearn.pipeline import Pipeline

from . import blocks
from .errors import NotFittedError, UnsupportedParameterError
from .registry import convert, lookup, register_converter

#: Name of the single input of a model converted from a preprocessor fitted on a numpy array.
ARRAY_INPUT_NAME = "features"


def keras_input_name(column: str) -> str:
    """The Keras input name of a DataFrame column.

    Keras layer names cannot contain ``/``; it becomes ``_``. Every other name is
    kept as it is. :func:`keras_embed_prep.to_inputs` applies the same rule.
    """
    return str(column).replace("/", "_")


def _n_features_in(preprocessor: Any) -> int:
    n = getattr(preprocessor, "n_features_in_", None)
    if n is None:
        raise NotFittedError(
            f"{type(preprocessor).__name__} does not record how many columns it was fitted on "
            "(no n_features_in_). Fit it on a numpy array or a DataFrame before converting."
        )
    return int(n)


def build_inputs(preprocessor: Any):
    """Keras inputs for the raw data ``preprocessor`` was fitted on.

    Returns ``(inputs, x)``: the ``keras.Input`` objects (a list of 1-D
    inputs named by :func:`keras_input_name`, in column order, for a DataFrame fit, one tensor for a numpy fit) and the float64
    ``(batch, n_features_in_)`` tensor that the preprocessor's converter receives.
    """
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is None:
        n = _n_features_in(preprocessor)
        inputs = keras.Input(shape=(n,), dtype="float32", name=ARRAY_INPUT_NAME)
        return inputs, blocks.as_float64(inputs)
    keys = [keras_input_name(name) for name in names]
    if len(set(keys)) != len(keys):
        clashes = sorted({str(n) for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
        raise UnsupportedParameterError(
            f"Columns {clashes} map to the same Keras input name ('/' becomes '_'). "
            "Rename one of them before fitting."
        )
    # A list, not a dict: Keras would sort a dict's keys, and column order is what users expect.
    # Calls still take a dict keyed by input name.
    inputs = [keras.Input(shape=(), dtype="float32", name=key) for key in keys]
    x = ops.stack(inputs, axis=1)
    return inputs, blocks.as_float64(x)


def to_keras(preprocessor: Any) -> keras.Model:
    """Convert a fitted preprocessor into a Keras model.

    Parameters
    ----------
    preprocessor : fitted scikit-learn transformer, Pipeline, ...
        Anything :func:`supported_estimators` lists, or a ``Pipeline`` of them.

    Returns
    -------
    keras.Model
        Takes the raw inputs (see :func:`to_inputs`) and returns exactly
        ``preprocessor.transform(X)`` as a dense float32 ``(batch, n_out)`` tensor.

    Examples
    --------
    >>>     >>> from sklearn.preprocessing import StandardScaler
    >>> from keras_embed_prep import to_keras
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> pre = to_keras(StandardScaler().fit(X))
    >>> np.asarray(pre(X.astype("float32"))).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    inputs, y = build(preprocessor)
    return keras.Model(inputs, y, name="preprocessing")


def build(preprocessor: Any):
    """``(inputs, y)``: the raw Keras inputs and the float32 output of ``preprocessor``."""
    lookup(preprocessor)  # unsupported or unfitted: fail before building anything
    inputs, x = build_inputs(preprocessor)
    y = convert(preprocessor, x)
    return inputs, ops.cast(y, "float32")


def _pipeline_steps(pipeline: Pipeline) -> list:
    return [step for _, step in pipeline.steps if step is not None and step != "passthrough"]


@register_converter(Pipeline, notes="Steps in order; 'passthrough' and None steps are skipped.")
def convert_pipeline(estimator, x):
    for step in _pipeline_steps(estimator):
        x = convert(step, x)
    return x
