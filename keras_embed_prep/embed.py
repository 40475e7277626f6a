"""``embed``: raw inputs -> preprocessing -> model, as one functional Keras model."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .blocks.checks import check_mode, nan_rows
from .convert import build
from .decoders import decode, scikeras_target
from .errors import (
    NotFittedError,
    ShapeMismatchError,
    UnsupportedEstimatorError,
    UnsupportedParameterError,
)
from .fuse import fuse
from .inputs import defined_inputs


def model_input_width(model: keras.Model) -> int:
    inputs = defined_inputs(model, ShapeMismatchError)
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


def _scikeras_parts(pipeline: Any):
    """``(keras_model, preprocessor, target)`` of a Pipeline ending in a fitted SciKeras wrapper."""
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or not type(pipeline.steps[-1][1]).__module__.startswith(
        "scikeras"
    ):
        raise UnsupportedEstimatorError(
            f"embed(model) with one argument expects a Pipeline whose last step is a fitted SciKeras "
            f"KerasClassifier or KerasRegressor. Received {type(pipeline).__name__}; otherwise call "
            "embed(keras_model, preprocessor)."
        )
    wrapper = pipeline.steps[-1][1]
    model = getattr(wrapper, "model_", None)
    if model is None:
        raise NotFittedError(f"{type(wrapper).__name__} is not fitted. Fit the pipeline first.")
    preprocessor = pipeline[:-1]
    return model, preprocessor, scikeras_target(wrapper)


def embed(
    model: keras.Model | Any,
    preprocessor: Any = None,
    *,
    target: Any = None,
    fuse_one_hot: bool = True,
    fold: bool = False,
    checks: str = "raise",
) -> keras.Model:
    """Prepend a fitted preprocessor to a Keras model (and optionally decode its output).

    Parameters
    ----------
    model : keras.Model, or a fitted Pipeline ending in a SciKeras wrapper
        A built Keras model trained on ``preprocessor.transform(X)``. It is not
        modified; the returned model calls it as a layer (and so shares its weights).
        Given a ``Pipeline`` whose last step is a fitted SciKeras ``KerasClassifier``
        or ``KerasRegressor`` (and no ``preprocessor``), the steps before it are the
        preprocessor, its ``model_`` the model, and its target encoding the target.
    preprocessor : fitted scikit-learn transformer, Pipeline, ColumnTransformer, ...
        See :func:`supported_estimators`.
    target : fitted target transformer, optional
        Fitted on ``y``. Regression (``StandardScaler``, ``MinMaxScaler``,
        ``MaxAbsScaler``, ``RobustScaler``, ``FunctionTransformer``,
        ``PowerTransformer``, ``QuantileTransformer``): the model outputs
        ``target.inverse_transform(model(...))``, in original units.
        Classification (``LabelEncoder``, ``LabelBinarizer``, ``OneHotEncoder``): the
        model outputs ``{"probabilities": ..., "label": ...}``, labels decoded as
        numpy's argmax would. See ``keras_embed_prep.decoders.supported_targets()``.
    fuse_one_hot : bool, default True
        When the preprocessing ends in one-hot blocks (``OneHotEncoder``,
        ``KBinsDiscretizer(encode="onehot")``, in a ``ColumnTransformer``) and the
        model starts with a plain ``Dense`` layer, look up that layer's kernel rows
        instead of multiplying a wide one-hot matrix: the same result up to float32
        summation order, in time and memory that do not grow with the number of
        categories. The first layer's weights are then copied into the returned
        model (the rest of ``model`` is still shared). False keeps ``model`` whole.
    fold : bool, default False
        Also fold affine preprocessing (``StandardScaler``, ``RobustScaler``,
        ``MaxAbsScaler``, ``MinMaxScaler`` without ``clip``) into the first Dense
        layer's kernel and bias, so raw columns are multiplied directly. Faster, but
        the folded constants are float32: precision that the float64 preprocessing
        keeps is lost (a column offset by 1e6 loses about 4e-4). Off by default; check
        the result with :func:`verify`. Needs a model starting with a plain Dense layer.
    checks : {"raise", "nan"}, default "raise"
        What a row does where ``preprocessor.transform`` raises (see :func:`to_keras`).
        ``"raise"``: the call fails, on TensorFlow only. ``"nan"``: every output of that row is
        NaN (set after the model and the target decoder, so no Dense layer, threshold or
        argmax can turn it into a number); the model then loads on JAX and PyTorch too. A
        decoder with an integer or text label (``LabelEncoder`` of ints or strings, ...) is
        refused with ``"nan"`` when the preprocessing holds checks: a label cannot be NaN.

    Returns
    -------
    keras.Model
        Raw inputs (see :func:`to_inputs`) -> ``model(preprocessor.transform(X))``,
        decoded by ``target`` if given. It saves as ``.keras`` and loads with
        ``safe_mode=True`` without keras_embed_prep installed.

    Raises
    ------
    ShapeMismatchError
        The preprocessor's output width differs from the model's input width.
    UnsupportedEstimatorError, UnsupportedParameterError, NotFittedError
        From the conversion of ``preprocessor`` or ``target``.

    Examples
    --------
    >>> full = embed(model, pipeline)                           # doctest: +SKIP
    >>> full.save("model.keras")                                # doctest: +SKIP
    """
    check_mode(checks, "embed")
    if preprocessor is None:
        model, preprocessor, scikeras = _scikeras_parts(model)
        if target is None:
            target = scikeras
    if not isinstance(model, keras.Model):
        raise UnsupportedEstimatorError(
            f"embed expects a keras.Model as its first argument. Received {type(model).__name__}."
        )
    width = model_input_width(model)
    built = build(preprocessor, positions=fuse_one_hot, reserved={model.name}, checks=checks)
    inputs, features = built.inputs, built.features
    produced = int(features.shape[-1])
    if produced != width:
        raise ShapeMismatchError(
            f"{type(preprocessor).__name__} outputs {produced} columns but model {model.name!r} "
            f"expects {width}. Pass the preprocessor the model was trained behind."
        )
    outputs = fuse(model, features, built.records, one_hot=fuse_one_hot, fold=fold)
    if outputs is None:
        outputs = model(ops.cast(features, model.inputs[0].dtype))
    if target is not None:
        if isinstance(outputs, (list, tuple, dict)):
            raise UnsupportedParameterError(
                f"target= decodes one output, but model {model.name!r} has several. "
                "Embed without target and decode each output yourself."
            )
        outputs = decode(target, outputs)
    if built.flagged is not None:
        outputs = _nan_where_flagged(outputs, built.flagged, model, target)
    return keras.Model(inputs, outputs, name=f"{model.name}_with_preprocessing")


def _nan_where_flagged(outputs, flagged, model: keras.Model, target: Any):
    """Every output with the ``flagged`` rows NaN (``checks="nan"``); refuses an output that
    cannot hold NaN (an integer or text label), which would be a valid-looking answer."""

    def one(name: str, y):
        if "float" not in str(y.dtype):
            source = f"target={type(target).__name__}" if target is not None else f"model {model.name!r}"
            raise UnsupportedParameterError(
                f"embed(checks='nan'): output {name!r} of {source} is {y.dtype}, which cannot be NaN, "
                "so a row the preprocessing refuses would get a valid-looking value there. Use "
                "checks='raise' (TensorFlow), or embed without target= and decode the probabilities "
                "yourself, treating NaN rows as refused."
            )
        return nan_rows(y, flagged)

    if isinstance(outputs, dict):
        return {name: one(name, y) for name, y in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [one(f"output_{i}", y) for i, y in enumerate(outputs)]
    return one("output_0", outputs)
