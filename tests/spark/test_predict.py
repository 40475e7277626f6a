"""spark.predict: a Spark DataFrame scored on the executors equals the in-process model on every row."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.preprocessing import LabelEncoder

from keras_embed_prep import embed, export, to_inputs, to_keras
from keras_embed_prep.errors import FileFormatError, InputError

from .spark_data import dirty_rows, spark_frame


@pytest.fixture(scope="module")
def served(fitted, tmp_path_factory):
    """The keep pipeline embedded before a small classifier with decoded labels, saved both ways."""
    model, _, spark_out = fitted["keep"]
    keras.utils.set_random_seed(0)
    net = keras.Sequential(
        [keras.Input((spark_out["features"].shape[1],)), keras.layers.Dense(2, activation="softmax")]
    )
    full = embed(net, model, target=LabelEncoder().fit(["no", "yes"]))
    root = tmp_path_factory.mktemp("spark_models")
    export(full, root / "savedmodel")
    full.save(root / "model.keras")
    return full, root


@pytest.mark.parametrize("artifact", ["savedmodel", "model.keras"])
def test_predict_equals_the_in_process_model(artifact, served, spark):
    from keras_embed_prep.spark import predict

    full, root = served
    rows = dirty_rows()
    scored = predict(spark_frame(spark, rows), root / artifact, batch_size=7)
    assert sorted(scored.columns[-2:]) == ["label", "probabilities"]
    assert dict(scored.dtypes)["label"] == "string"
    assert dict(scored.dtypes)["probabilities"] == "array<float>"
    got = scored.select("label", "probabilities").toPandas()
    expected = full(to_inputs(rows, full))
    np.testing.assert_allclose(
        np.stack(got["probabilities"]), np.asarray(expected["probabilities"]), rtol=1e-6
    )
    labels = [v.decode() for v in np.asarray(expected["label"]).reshape(-1)]
    assert got["label"].tolist() == labels


def test_schema_errors_are_raised_on_the_driver(served, spark, tmp_path):
    from pyspark.sql import functions as F

    from keras_embed_prep.spark import predict

    _, root = served
    df = spark_frame(spark, dirty_rows())
    with pytest.raises(InputError, match=r"needs columns \['color'\]"):
        predict(df.drop("color"), root / "savedmodel")
    with pytest.raises(InputError, match=r"column 'b' must be a numeric column.*Received string"):
        predict(df.withColumn("b", F.col("b").cast("string")), root / "model.keras")
    with pytest.raises(InputError, match=r"\['nope'\] are not among them"):
        predict(df, root / "savedmodel", outputs=["nope"])
    with pytest.raises(FileFormatError, match="is not a model"):
        predict(df, tmp_path)


def test_an_unseen_label_fails_the_job_naming_the_column(fitted, spark, tmp_path):
    from keras_embed_prep.spark import predict

    model, _, _ = fitted["error"]
    export(to_keras(model, output_col="color_e"), tmp_path / "indexer")
    scored = predict(spark_frame(spark, dirty_rows()), tmp_path / "indexer")
    with pytest.raises(
        Exception, match=r"StringIndexerModel: a null or a label unseen at fit in column color "
    ):
        scored.collect()


def test_a_model_saved_again_at_the_same_path_is_scored_anew(fitted, spark, tmp_path):
    """Workers keep the models they loaded; a model written over the old one must not be served stale."""
    from keras_embed_prep.spark import predict

    model, rows, _ = fitted["keep"]
    frame, path = spark_frame(spark, rows[["a", "b"]]), tmp_path / "imputer.keras"
    scored = []
    for column in ("a_mean", "a_median"):  # the nulls of 'a' imputed differently
        converted = to_keras(model, output_col=column)
        converted.save(path)
        got = predict(frame, path).toPandas().iloc[:, -1].to_numpy()
        scored.append(got)
        np.testing.assert_allclose(got, np.asarray(converted(to_inputs(rows, converted))).reshape(-1))
    assert not np.allclose(*scored)
