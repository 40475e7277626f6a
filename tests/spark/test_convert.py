"""Fitted Spark ML pipelines converted with to_keras and embed: parity with Spark's own transform."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_embed_prep import embed, to_inputs, to_keras
from keras_embed_prep.errors import (
    InputError,
    NotFittedError,
    UnsupportedEstimatorError,
    UnsupportedParameterError,
)
from keras_embed_prep.parity import ATOL, RTOL

from .spark_pipelines import CASES


def _ours(model, rows) -> np.ndarray:
    out = np.asarray(model(to_inputs(rows, model)), dtype=np.float64)
    return out.reshape(len(rows), -1)


def max_abs_error(case, fitted) -> float:
    """Convert ``case``'s column, check it against Spark's output, return the largest |difference|."""
    model, rows, spark_out = fitted[case.pipeline]
    ours, reference = _ours(to_keras(model, output_col=case.column), rows), spark_out[case.column]
    assert ours.shape == reference.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference), err_msg=f"NaN differ: {case.id}")
    if case.exact:
        np.testing.assert_array_equal(ours, reference, err_msg=case.id)
    else:
        np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL, err_msg=case.id)
    finite = ~np.isnan(reference)
    return float(np.max(np.abs(ours[finite] - reference[finite]), initial=0.0))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_parity_with_spark(case, fitted):
    max_abs_error(case, fitted)


def test_default_output_is_the_last_column_and_inputs_are_the_raw_columns(fitted):
    model, rows, spark_out = fitted["keep"]
    converted = to_keras(model)
    assert [t.name for t in converted.inputs] == ["a", "b", "k", "color", "size", "c"]
    assert [t.dtype for t in converted.inputs] == ["float32"] * 3 + ["string"] * 2 + ["float32"]
    np.testing.assert_allclose(_ours(converted, rows), spark_out["features"], rtol=RTOL, atol=ATOL)


def test_a_single_fitted_stage_reads_its_vector_column(fitted):
    model, _, spark_out = fitted["keep"]
    scaler = next(s for s in model.stages if type(s).__name__ == "StandardScalerModel")
    converted = to_keras(scaler)
    assert [(t.name, tuple(t.shape)) for t in converted.inputs] == [("v", (None, 3))]
    ours = np.asarray(converted(spark_out["v"].astype(np.float32)), dtype=np.float64)
    np.testing.assert_allclose(ours, spark_out["s_std"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    ("column", "named"),
    [("color_e", "in column color "), ("v_e", "in column c "), ("c_bin_e", "in column c ")],
    ids=["unseen-label-or-null", "assembler-nan", "bucketizer-nan"],
)
def test_error_mode_fails_the_row_naming_the_column(column, named, fitted):
    from .spark_data import dirty_rows

    model, _, _ = fitted["error"]
    converted = to_keras(model, output_col=column)
    with pytest.raises(Exception, match=named):
        converted(to_inputs(dirty_rows(), converted))


def test_embed_equals_the_model_on_spark_features(fitted):
    model, rows, spark_out = fitted["keep"]
    features = spark_out["features"]
    net = keras.Sequential([keras.Input((features.shape[1],)), keras.layers.Dense(3, activation="tanh")])
    full = embed(net, model)
    ours = np.asarray(full(to_inputs(rows, full)), dtype=np.float64)
    reference = np.asarray(net(np.nan_to_num(features).astype(np.float32)), dtype=np.float64)
    finite = ~np.isnan(features).any(axis=1)
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=1e-5, atol=1e-5)


def test_refused_by_name(fitted, spark):
    from pyspark.ml.feature import SQLTransformer, StandardScaler, VectorSlicer

    model, _, _ = fitted["keep"]
    with pytest.raises(UnsupportedEstimatorError, match="SQLTransformer does not convert"):
        to_keras(SQLTransformer(statement="SELECT * FROM __THIS__"))
    with pytest.raises(NotFittedError, match="StandardScaler is a Spark ML Estimator"):
        to_keras(StandardScaler(inputCol="v", outputCol="s"))
    indexer = next(s for s in model.stages if type(s).__name__ == "StringIndexerModel")
    with pytest.raises(UnsupportedParameterError, match=r"StringIndexerModel\(handleInvalid='skip'\)"):
        to_keras(indexer.copy().setHandleInvalid("skip"), output_col="color_fd")
    with pytest.raises(UnsupportedParameterError, match=r"VectorSlicer\(names="):
        to_keras(VectorSlicer(inputCol="v", outputCol="s", names=["a"]))
    with pytest.raises(UnsupportedParameterError, match="no stage writes that column"):
        to_keras(model, output_col="nope")
    with pytest.raises(InputError):
        to_inputs(np.zeros((2, 2)), to_keras(model))
