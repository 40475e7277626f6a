"""``embed``: raw inputs -> preprocessing -> model, as one functional Keras model."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .errors import ShapeMismatchError, UnsupportedEstimatorError, UnsupportedParameterError
from .graph import build


def model_input_width(model: keras.Model) -> int:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ShapeMismatchError(
            f"Model {model.name!r} has no defined inputs. Build it first, e.g. start a "
            "Sequential with keras.Input(shape=(n_features,)) or call it once on data."
        )
    if len(inputs) != 1 or len(inputs[0].shape) != 2:
        shapes = [tuple(t.shape) for t in inputs]
        raise ShapeMismatchError(
            f"Model {model.name!r} must take one input of shape (batch, n_features) to sit after "
            f"a preprocessor. Received inputs of shapes {shapes}."
        )
    dtype = inputs[0].dtype
    if "float" not in str(dtype):
        raise ShapeMismatchError(
            f"Model {model.name!r} takes {dtype} input, but preprocessing outputs floats. "
            "Embed a model whose input is float32."
        )
    return int(inputs[0].shape[-1])


def embed(model: keras.Model, preprocessor: Any, *, target: Any = None) -> keras.Model:
    """Prepend a fitted preprocessor to a Keras model.

    Parameters
    ----------
    model : keras.Model
        A built Keras model trained on ``preprocessor.transform(X)``. It is not
        modified; the returned model calls it as a layer (and so shares its weights).
    preprocessor : fitted scikit-learn transformer or Pipeline
        See :func:`supported_estimators`.
    target : None
        Reserved for decoding targets (inverse transforms of ``y``); not supported
        in this version, so anything but None is refused.

    Returns
    -------
    keras.Model
        Raw inputs (see :func:`to_inputs`) -> ``model(preprocessor.transform(X))``.
        It saves as ``.keras`` and loads with ``safe_mode=True`` without
        keras_embed_prep installed.

    Raises
    ------
    ShapeMismatchError
        The preprocessor's output width differs from the model's input width.
    UnsupportedEstimatorError, UnsupportedParameterError, NotFittedError
        From the conversion of ``preprocessor``.

    Examples
    --------
    >>> full = embed(model, pipeline)                           # doctest: +SKIP
    >>> full.save("model.keras")                                # doctest: +SKIP
    """
    if target is not None:
        raise UnsupportedParameterError(
            f"embed(target={type(target).__name__}) is not supported yet: decoding targets is "
            "planned but not built. Call target.inverse_transform on the model's output instead."
        )
    if not isinstance(model, keras.Model):
        raise UnsupportedEstimatorError(
            f"embed expects a keras.Model as its first argument. Received {type(model).__name__}."
        )
    width = model_input_width(model)
    inputs, features = build(preprocessor)
    produced = int(features.shape[-1])
    if produced != width:
        raise ShapeMismatchError(
            f"{type(preprocessor).__name__} outputs {produced} columns but model {model.name!r} "
            f"expects {width}. Pass the preprocessor the model was trained behind."
        )
    if model.inputs[0].dtype != "float32":
        features = ops.cast(features, model.inputs[0].dtype)
    outputs = model(features)
    return keras.Model(inputs, outputs, name=f"{model.name}_with_preprocessing")
