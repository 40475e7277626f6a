"""Fitted Spark ML pipelines: the raw inputs they read, their stages in order, the column asked for.

:func:`build_spark` is what :func:`keras_embed_prep.to_keras` and :func:`keras_embed_prep.embed` run
for a ``pyspark.ml`` object. It flattens nested ``PipelineModel``\\ s, keeps the stages the output
column depends on, makes one named Keras input per raw column those stages read (text for a
``StringIndexer``, a vector whose width the stage's fitted values give, else a number) and runs each
stage's converter on the columns written so far.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops
from pyspark.ml import PipelineModel

from ..blocks import floats
from ..errors import UnsupportedEstimatorError, UnsupportedParameterError
from ..inputs import keras_input_name
from ..registry import lookup, registered_classes
from .frame import (
    RAW_KINDS,
    SCALAR,
    TEXT,
    VECTOR,
    Column,
    Frame,
    check_fitted,
    input_cols,
    output_cols,
    register_stage,
)

#: Spark ML stages that do not convert, and why (the rest without a converter get a generic refusal).
REFUSED = {
    "SQLTransformer": "it runs an arbitrary SQL statement; compute those columns before the pipeline",
    "RFormulaModel": "it parses a formula into hidden stages; build the pipeline from StringIndexer, "
    "OneHotEncoder and VectorAssembler instead",
    "ChiSqSelectorModel": "it is deprecated in Spark; use UnivariateFeatureSelector",
    "IndexToString": "it outputs text, and a Keras model needs numbers",
    "Tokenizer": "text tokenizers do not convert",
    "RegexTokenizer": "text tokenizers do not convert",
    "HashingTF": "text features do not convert",
    "CountVectorizerModel": "text features do not convert",
    "Word2VecModel": "text features do not convert",
    "FeatureHasher": "Spark's MurmurHash3 of column names and values is not reproduced",
}


def _spark_classes() -> list[str]:
    return sorted(c.__name__ for c in registered_classes() if c.__module__.startswith("pyspark."))


def stage_entry(stage: Any):
    """The registry entry of a Spark stage, after refusing unfitted or unsupported ones by name."""
    check_fitted(stage)
    name = type(stage).__name__
    if name in REFUSED:
        raise UnsupportedEstimatorError(f"{name} does not convert: {REFUSED[name]}.")
    try:
        return lookup(stage)
    except UnsupportedEstimatorError:
        raise UnsupportedEstimatorError(
            f"{type(stage).__module__}.{name} has no converter. Spark ML stages that convert: "
            f"{', '.join(_spark_classes())}."
        ) from None


def flat_stages(model: Any) -> list:
    """The stages of ``model`` in order, nested ``PipelineModel``\\ s flattened."""
    check_fitted(model)
    if isinstance(model, PipelineModel):
        return [s for stage in model.stages for s in flat_stages(stage)]
    return [model]


def _default_output(stages: list) -> str:
    outs = output_cols(stages[-1]) if stages else []
    if len(outs) != 1:
        raise UnsupportedParameterError(
            f"The last stage ({type(stages[-1]).__name__ if stages else 'none'}) writes {outs}; "
            "to_keras needs one output column. Name it: to_keras(model, output_col=...)."
        )
    return outs[0]


def _needed(stages: list, output_col: str) -> tuple[list, list[str]]:
    """The stages ``output_col`` depends on, in order, and the raw columns they read, in order."""
    written = {c for s in stages for c in output_cols(s)}
    if output_col not in written:
        raise UnsupportedParameterError(
            f"to_keras(output_col={output_col!r}): no stage writes that column. Stages write "
            f"{sorted(written)}."
        )
    needed, kept = {output_col}, []
    for stage in reversed(stages):
        outs = set(output_cols(stage))
        if outs & needed:
            kept.append(stage)
            needed = (needed - outs) | set(input_cols(stage))
    kept.reverse()
    produced, raw = set(), []
    for stage in kept:
        raw += [c for c in input_cols(stage) if c not in produced and c not in raw]
        produced.update(output_cols(stage))
    return kept, raw


def _raw_input(stages: list, name: str):
    """``(keras.Input, Column)`` for raw column ``name``, its kind set by the first stage reading it."""
    reader = next(s for s in stages if name in input_cols(s))
    kind = RAW_KINDS[type(reader)](reader) if type(reader) in RAW_KINDS else SCALAR
    key = keras_input_name(name)
    if kind == TEXT:
        tensor = keras.Input(shape=(), dtype="string", name=key)
        return tensor, Column(ops.expand_dims(tensor, 1), TEXT)
    if kind == SCALAR:
        tensor = keras.Input(shape=(), dtype="float32", name=key)
        # widened as (batch, 1): the exact float32 -> float64 view needs a known last dimension
        return tensor, Column(floats.as_float64(ops.expand_dims(tensor, 1)), SCALAR)
    tensor = keras.Input(shape=(int(kind),), dtype="float32", name=key)
    return tensor, Column(floats.as_float64(tensor), VECTOR)


def build_spark(model: Any, output_col: str | None):
    """``(inputs, float64 output)`` of a fitted Spark ML ``PipelineModel`` or stage."""
    stages = flat_stages(model)
    entries = [stage_entry(s) for s in stages]  # refuse before building anything
    converters = {id(s): e.converter for s, e in zip(stages, entries, strict=True)}
    output_col = output_col or _default_output(stages)
    kept, raw = _needed(stages, output_col)
    frame, inputs = Frame(), []
    for name in raw:
        tensor, column = _raw_input(kept, name)
        inputs.append(tensor)
        frame[name] = column
    for stage in kept:
        frame.update(converters[id(stage)](stage, frame))
    out = frame[output_col]
    if out.kind == TEXT:
        raise UnsupportedParameterError(
            f"Column {output_col!r} holds text; a Keras model needs numbers. Pick a numeric column."
        )
    return inputs, out.tensor


@register_stage(
    PipelineModel,
    notes="Stages in order, nested PipelineModels too; one named input per raw column; the output is "
    "the last stage's column or to_keras(..., output_col=...).",
)
def convert_pipeline_model(estimator, x):
    frame, written = Frame(x), {}
    for stage in flat_stages(estimator):
        out = stage_entry(stage).converter(stage, frame)
        frame.update(out)
        written.update(out)
    return written
