"""``to_keras`` and ``build``: raw inputs -> the registry's converters -> one float64 output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
from keras import ops

from .blocks import checks as checks_
from .blocks import floats
from .blocks.records import Records, recording
from .columns import Columns
from .errors import UnsupportedParameterError
from .inputs import build_inputs
from .registry import checking_once, lookup
from .stages import columns, staging, step


def to_keras(preprocessor: Any, *, output_col: str | None = None, checks: str = "raise") -> keras.Model:
    """Convert a fitted preprocessor into a Keras model.

    Parameters
    ----------
    preprocessor : fitted scikit-learn transformer, Pipeline, ColumnTransformer, ...
        Anything :func:`supported_estimators` lists, nested as scikit-learn allows, or a
        fitted Spark ML ``PipelineModel`` (or one fitted stage).
    output_col : str, optional
        Spark ML only: the column to output (default: the last stage's output column).
    checks : {"raise", "nan"}, default "raise"
        What a row does where scikit-learn's ``transform`` raises (an unknown category with
        ``handle_unknown="error"``, ``PowerTransformer(method="box-cox")`` on x <= 0, a
        ``SplineTransformer`` input out of range or missing, ...). ``"raise"``: the call fails
        with the reason; this needs TensorFlow (the model loads there only). ``"nan"``: that row
        comes out NaN in every column and the other rows are unchanged; the model loads and runs
        on TensorFlow, JAX (also under ``jax.jit``, where nothing can raise) and PyTorch. No effect
        on a preprocessor without such checks. See docs/backends.md.

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
    built = build(preprocessor, positions=False, output_col=output_col, checks=checks)
    features = checks_.nan_rows(built.features, built.flagged)
    return keras.Model(built.inputs, ops.cast(features, "float32"), name="preprocessing")


@dataclass(frozen=True)
class Built:
    """A converted preprocessor: its raw Keras inputs, its float64 output, and how that was built."""

    inputs: list
    #: float64 ``(batch, n_out)``; the caller casts it to float32, once, at the end.
    features: Any
    #: What the blocks noted (one-hot blocks, affine maps), read by :mod:`keras_embed_prep.fuse`.
    records: Records
    #: Bool ``(batch,)``: the rows an inference-time check flagged, with ``checks="nan"``; else None.
    #: The caller makes them NaN in its final output (:func:`~keras_embed_prep.blocks.checks.nan_rows`).
    flagged: Any = None


def _is_spark(preprocessor: Any) -> bool:
    return type(preprocessor).__module__.startswith("pyspark.")


def build(
    preprocessor: Any,
    *,
    positions: bool = True,
    reserved: set[str] = frozenset(),
    output_col: str | None = None,
    checks: str = "raise",
) -> Built:
    """The raw Keras inputs of ``preprocessor`` and its numeric output, as a :class:`Built`.

    Each step is one named stage (see :mod:`keras_embed_prep.stages`); with ``positions``,
    one-hot stages output their positions, so that a fused model never builds the wide
    one-hot matrix. ``reserved``: layer names the stages must leave free. ``output_col``: the
    column of a Spark ML pipeline to build (its stages are not staged). ``checks``: the form of
    the inference-time checks (see :func:`to_keras`).
    """
    mode = checks_.check_mode(checks, "to_keras")
    if _is_spark(preprocessor):
        from .spark.pipeline import build_spark  # pyspark loads only for Spark ML objects

        with checking_once(), recording() as records, checks_.checking(mode) as state:
            inputs, y = build_spark(preprocessor, output_col)
        return Built(inputs, floats.as_float64(y), records, checks_.flagged_rows(state))
    if output_col is not None:
        raise UnsupportedParameterError(
            f"to_keras(output_col={output_col!r}) picks a column of a Spark ML pipeline; "
            f"{type(preprocessor).__name__} is not one. Leave output_col unset."
        )
    with checking_once(), recording() as records, checks_.checking(mode) as state:
        lookup(preprocessor)  # unsupported or unfitted: fail before building anything
        inputs, x = build_inputs(preprocessor)
        names = {t.name for t in keras.tree.flatten(inputs)}
        with staging(positions=positions, reserved=names | set(reserved)):
            inputs, x = columns(inputs, x)
            y = step(None, preprocessor, x)
    if isinstance(y, Columns) or y.dtype == "string":
        raise UnsupportedParameterError(
            f"{type(preprocessor).__name__} outputs text columns; a Keras model needs numbers. "
            "End the preprocessing with an encoder (OneHotEncoder, OrdinalEncoder, ...)."
        )
    return Built(inputs, floats.as_float64(y), records, checks_.flagged_rows(state))
