"""Walking composite estimators and building the raw inputs of a converted model.

``Pipeline``, ``ColumnTransformer`` and ``FeatureUnion`` are converters like any
other, registered here; they call :func:`keras_embed_prep.registry.convert` on their
parts. Each column's kind (number or text) comes from the estimators that consume
it, through the registry's ``input_kinds``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from . import blocks
from .blocks import UNUSED, Columns
from .errors import NotFittedError, UnsupportedParameterError
from .registry import convert, input_kinds, lookup, register_converter

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
    if n is None:
        raise NotFittedError(
            f"{type(preprocessor).__name__} does not record how many columns it was fitted on "
            "(no n_features_in_). Fit it on a numpy array or a DataFrame before converting."
        )
    return int(n)


def build_inputs(preprocessor: Any):
    """Keras inputs for the raw data ``preprocessor`` was fitted on.

    Returns ``(inputs, x)``: the ``keras.Input`` objects and what the preprocessor's
    converter receives. Fitted on a DataFrame: a list of 1-D inputs named by
    :func:`keras_input_name`, in column order, float32 for numbers and string for
    text. Fitted on a numpy array: one ``(batch, n_features_in_)`` input, float32, or
    string when every column is text. ``x`` is a float64 tensor, a string tensor, or
    :class:`~keras_embed_prep.blocks.Columns` when kinds are mixed.
    """
    n = _n_features_in(preprocessor)
    kinds = input_kinds(preprocessor, n)
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is None:
        used = {k for k in kinds if k != UNUSED}
        if len(used) > 1:
            text = [i for i, k in enumerate(kinds) if k == "text"]
            raise UnsupportedParameterError(
                f"{type(preprocessor).__name__} was fitted on a numpy array mixing text columns "
                f"{text} with numbers; a model input has one dtype. Fit it on a pandas DataFrame "
                "instead: each column then becomes its own named input."
            )
        if used == {"text"}:
            inputs = keras.Input(shape=(n,), dtype="string", name=ARRAY_INPUT_NAME)
            return inputs, inputs
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
        numbers=blocks.as_float64(ops.stack(numbers, axis=1)) if numbers else None,
        text=ops.stack(text, axis=1) if text else None,
    )
    # With unused columns only a ColumnTransformer reads the table, by original column index.
    return inputs, table if UNUSED in kinds else table.select(range(n))


def to_keras(preprocessor: Any) -> keras.Model:
    """Convert a fitted preprocessor into a Keras model.

    Parameters
    ----------
    preprocessor : fitted scikit-learn transformer, Pipeline, ColumnTransformer, ...
        Anything :func:`supported_estimators` lists, nested as scikit-learn allows.

    Returns
    -------
    keras.Model
        Takes the raw inputs (see :func:`to_inputs`) and returns exactly
        ``preprocessor.transform(X)`` as a dense float32 ``(batch, n_out)`` tensor.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from keras_embed_prep import to_keras
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> pre = to_keras(StandardScaler().fit(X))
    >>> np.asarray(pre(X.astype("float32"))).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    inputs, y = build(preprocessor)
    return keras.Model(inputs, ops.cast(y, "float32"), name="preprocessing")


def build(preprocessor: Any):
    """``(inputs, y)``: the raw Keras inputs and the numeric output of ``preprocessor``.

    ``y`` is float64 (cast to float32 by the caller, once, at the end), and keeps the
    record of its blocks that :func:`keras_embed_prep.blocks.segments` reads.
    """
    lookup(preprocessor)  # unsupported or unfitted: fail before building anything
    inputs, x = build_inputs(preprocessor)
    y = convert(preprocessor, x)
    if isinstance(y, Columns) or y.dtype == "string":
        raise UnsupportedParameterError(
            f"{type(preprocessor).__name__} outputs text columns; a Keras model needs numbers. "
            "End the preprocessing with an encoder (OneHotEncoder, OrdinalEncoder, ...)."
        )
    return inputs, blocks.as_float64(y)


# --- Pipeline -------------------------------------------------------------------------------


def _pipeline_steps(pipeline: Pipeline) -> list:
    return [step for _, step in pipeline.steps if step is not None and step != "passthrough"]


def _pipeline_kinds(pipeline: Pipeline, n_columns: int) -> list[str]:
    steps = _pipeline_steps(pipeline)
    return input_kinds(steps[0], n_columns) if steps else ["number"] * n_columns


@register_converter(
    Pipeline,
    notes="Steps in order; 'passthrough' and None steps are skipped.",
    input_kinds=_pipeline_kinds,
)
def convert_pipeline(estimator, x):
    for step in _pipeline_steps(estimator):
        x = convert(step, x)
    return x


# --- ColumnTransformer ------------------------------------------------------------------------


def _column_indices(ct: ColumnTransformer, spec: Any) -> list[int]:
    """Resolve a fitted column spec (names, ints, slices, boolean masks) to indices."""
    n = int(ct.n_features_in_)
    names = list(getattr(ct, "feature_names_in_", []))
    position = {str(name): i for i, name in enumerate(names)}

    def index_of(name: Any) -> int:
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            return int(name) % n
        if str(name) in position:
            return position[str(name)]
        raise UnsupportedParameterError(
            f"ColumnTransformer column {name!r} is not among the fitted columns {names}."
        )

    if spec is None:
        return []
    if isinstance(spec, slice):
        if isinstance(spec.start, str) or isinstance(spec.stop, str):  # label slices include the stop
            start = index_of(spec.start) if spec.start is not None else 0
            stop = index_of(spec.stop) + 1 if spec.stop is not None else n
            return list(range(start, stop, spec.step or 1))
        return list(range(n))[spec]
    if isinstance(spec, (str, int, np.integer)):
        return [index_of(spec)]
    values = np.asarray(spec)
    if values.dtype == bool:
        return np.flatnonzero(values).tolist()
    return [index_of(v) for v in values.tolist()]


def _ct_parts(ct: ColumnTransformer):
    """``(name, transformer, column indices)`` in output order, without drops and empty selections."""
    for name, transformer, spec in ct.transformers_:
        idx = _column_indices(ct, spec)
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not idx:
            continue
        yield name, transformer, idx


def _weighted(y, weights: dict | None, name: str):
    """scikit-learn multiplies a part's output by ``transformer_weights[name]``."""
    y = blocks.as_float64(y)
    if weights and name in weights:
        y = ops.multiply(y, np.float64(weights[name]))
    return y


def _ct_kinds(ct: ColumnTransformer, n_columns: int) -> list[str]:
    kinds = [UNUSED] * n_columns
    for _, transformer, idx in _ct_parts(ct):
        for i, kind in zip(idx, input_kinds(transformer, len(idx)), strict=True):
            if kinds[i] != "text":
                kinds[i] = kind
    return kinds


@register_converter(
    ColumnTransformer,
    notes=(
        "Every column-spec style (names, ints, slices, boolean masks, callables and "
        "make_column_selector, resolved at fit), 'drop', 'passthrough' (numbers), remainder "
        "drop/passthrough/estimator, empty selections, transformer_weights; output in transform's "
        "column order."
    ),
    input_kinds=_ct_kinds,
)
def convert_column_transformer(estimator, x):
    table = x if isinstance(x, Columns) else Columns.of(x)
    weights = estimator.transformer_weights
    outputs = [
        _weighted(convert(transformer, table.select(idx)), weights, name)
        for name, transformer, idx in _ct_parts(estimator)
    ]
    if not outputs:
        raise UnsupportedParameterError(
            "ColumnTransformer selects no columns (everything is dropped): there is nothing to convert."
        )
    return blocks.concat(outputs)


# --- FeatureUnion -----------------------------------------------------------------------------


def _union_parts(union: FeatureUnion) -> list:
    return [(n, t) for n, t in union.transformer_list if not (isinstance(t, str) and t == "drop")]


def _union_kinds(union: FeatureUnion, n_columns: int) -> list[str]:
    kinds = ["number"] * n_columns
    for _, transformer in _union_parts(union):
        if isinstance(transformer, str):  # passthrough
            continue
        for i, kind in enumerate(input_kinds(transformer, n_columns)):
            if kind == "text":
                kinds[i] = "text"
    return kinds


@register_converter(
    FeatureUnion,
    notes="Transformers side by side on the same columns; 'drop', 'passthrough', transformer_weights.",
    input_kinds=_union_kinds,
)
def convert_feature_union(estimator, x):
    outputs = []
    for name, transformer in _union_parts(estimator):
        if isinstance(transformer, str):  # "passthrough"
            if not (hasattr(x, "dtype") and x.dtype == "float64"):
                raise UnsupportedParameterError(
                    "FeatureUnion passes text columns through unchanged; its output must be numeric."
                )
            y = x
        else:
            y = convert(transformer, x)
        outputs.append(_weighted(y, estimator.transformer_weights, name))
    return blocks.concat(outputs)
