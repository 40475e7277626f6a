"""``scorer``: the fast path from raw rows gives what the model gives on ``to_inputs`` of a DataFrame."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from cases_tabular import frame as tabular_frame
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from keras_embed_prep import embed, export, scorer, to_inputs, to_keras
from keras_embed_prep.errors import InputError


@pytest.fixture(scope="module")
def tabular():
    """An MLP behind a ColumnTransformer of numbers (NaN), text (None, NaN, unseen) and integers."""
    fit, test = tabular_frame()
    ct = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["bill length (mm)", "mass/kg"]),
            ("txt", OneHotEncoder(handle_unknown="ignore"), ["island", "sex", "grade"]),
            ("int", OneHotEncoder(handle_unknown="ignore"), ["code", "year", "flag"]),
        ]
    ).fit(fit)
    keras.utils.set_random_seed(0)
    width = ct.transform(fit.head(1)).shape[1]
    mlp = keras.Sequential(
        [keras.Input((width,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    full = embed(mlp, ct)
    expected = np.asarray(full(to_inputs(test, full)))
    return full, test, expected


def _close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_a_dataframe_scores_as_the_model_on_to_inputs(tabular):
    full, test, expected = tabular
    score = scorer(full)
    _close(score(test)["output_0"], expected)  # more rows than the whole-frame route takes
    _close(score(test.head(3))["output_0"], expected[:3])
    _close(score(test.iloc[[5]])["output_0"], expected[5:6])


def test_rows_as_dicts_and_tf_serving_requests_score_as_the_dataframe(tabular):
    full, test, expected = tabular
    score = scorer(full)
    records = test.head(6).to_dict("records")  # None, NaN, pd.NA of the frame stay as they are
    _close(score(records)["output_0"], expected[:6])
    _close(score(records[2])["output_0"], expected[2:3])
    _close(score({"instances": records})["output_0"], expected[:6])
    columns = {k: list(v) for k, v in test.head(4).items()}
    _close(score(columns)["output_0"], expected[:4])
    _close(score({"inputs": columns})["output_0"], expected[:4])


def test_a_keras_file_and_an_array_model(tabular, tmp_path):
    full, test, expected = tabular
    full.save(tmp_path / "m.keras")
    _close(scorer(tmp_path / "m.keras")(test.head(2))["output_0"], expected[:2])
    X = np.random.default_rng(0).normal(size=(20, 3))
    model = to_keras(StandardScaler().fit(X))
    _close(scorer(model)(X)["output_0"], StandardScaler().fit(X).transform(X.astype(np.float32)))


def test_a_one_column_frame(tmp_path):
    frame = pd.DataFrame({"c": ["a", "b", None, "z"]})
    model = to_keras(OneHotEncoder(handle_unknown="ignore").fit(frame.head(3)))
    expected = OneHotEncoder(handle_unknown="ignore").fit(frame.head(3)).transform(frame).toarray()
    np.testing.assert_array_equal(scorer(model)(frame)["output_0"], expected)
    np.testing.assert_array_equal(scorer(model)([{"c": "b"}])["output_0"], expected[1:2])


def test_decoded_labels_come_back_as_str(tmp_path):
    from sklearn.preprocessing import LabelEncoder

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    labels = LabelEncoder().fit(["no", "yes"])
    mlp = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    full = embed(mlp, StandardScaler().fit(X), target=labels)
    out = scorer(full)(X)
    proba = np.asarray(mlp(StandardScaler().fit(X).transform(X).astype(np.float32)))
    np.testing.assert_array_equal(out["label"], labels.inverse_transform(np.argmax(proba, axis=1)))
    assert out["label"].dtype.kind == "U"
    export(full, tmp_path / "sm")  # the packed signature keeps the output names of serving_default
    signatures = tf.saved_model.load(str(tmp_path / "sm")).signatures
    assert set(signatures["serving_packed"].structured_outputs) == {"probabilities", "label"}
    assert set(signatures["serving_default"].structured_outputs) == {"probabilities", "label"}


@pytest.mark.parametrize(
    "bad, message",
    [
        ([{"bill length (mm)": 1.0}], "needs column"),
        ([["not", "a", "dict"]], "rows as dicts"),
        (np.zeros((2, 8)), "one named input per column"),
    ],
)
def test_bad_rows_are_named(tabular, bad, message):
    with pytest.raises(InputError, match=message):
        scorer(tabular[0])(bad)


def test_a_text_value_in_a_number_column_is_refused_as_to_inputs_refuses_it(tabular):
    full, test, _ = tabular
    row = test.head(1).to_dict("records")[0] | {"mass/kg": "heavy"}
    with pytest.raises(InputError, match="'mass/kg' must be numeric"):
        scorer(full)([row])


def test_a_savedmodel_directory_is_pointed_to_its_signature(tabular, tmp_path):
    export(tabular[0], tmp_path / "sm")
    with pytest.raises(InputError, match="serving_packed"):
        scorer(tmp_path / "sm")
    assert "serving_packed" in tf.saved_model.load(str(tmp_path / "sm")).signatures
