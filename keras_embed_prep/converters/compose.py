"""Composite estimators: ``Pipeline``, ``ColumnTransformer`` and ``FeatureUnion``.

They are converters like any other; they call :func:`keras_embed_prep.registry.convert` on
their parts. Each column's kind (number or text) comes from the estimators that consume it,
through the registry's ``input_kinds``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from ..blocks import floats, records
from ..columns import UNUSED, Columns
from ..errors import UnsupportedParameterError
from ..registry import input_kinds, register_converter
from ..stages import mark_composite, step

# --- Pipeline -------------------------------------------------------------------------------


def _pipeline_steps(pipeline: Pipeline) -> list:
    """``(name, step)`` of the steps that do something."""
    return [(n, s) for n, s in pipeline.steps if s is not None and s != "passthrough"]


def _pipeline_kinds(pipeline: Pipeline, n_columns: int) -> list[str]:
    steps = [s for _, s in _pipeline_steps(pipeline)]
    return input_kinds(steps[0], n_columns) if steps else ["number"] * n_columns


@register_converter(
    Pipeline,
    notes="Steps in order; 'passthrough' and None steps are skipped.",
    input_kinds=_pipeline_kinds,
)
def convert_pipeline(estimator, x):
    for name, part in _pipeline_steps(estimator):
        x = step(name, part, x)
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
    y = floats.as_float64(y)
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
    table = Columns.of(x)
    weights = estimator.transformer_weights
    outputs = [
        _weighted(step(name, transformer, table.select(idx)), weights, name)
        for name, transformer, idx in _ct_parts(estimator)
    ]
    if not outputs:
        raise UnsupportedParameterError(
            "ColumnTransformer selects no columns (everything is dropped): there is nothing to convert."
        )
    return records.concat(outputs)


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
            y = step(name, transformer, x)
        outputs.append(_weighted(y, estimator.transformer_weights, name))
    return records.concat(outputs)


mark_composite(Pipeline, ColumnTransformer, FeatureUnion)
