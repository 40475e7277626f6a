"""embed, verify, to_inputs and export signatures, in-process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from keras_embed_prep import embed, export, signature_keys, to_inputs, to_keras, verify
from keras_embed_prep.verify import compare


@pytest.fixture(scope="module")
def diabetes():
    frame, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = frame * 100 + 1e3  # far from what the model was trained on, if unscaled
    frame.iloc[::5, 3] = np.nan
    return frame, y.to_numpy()


@pytest.fixture(scope="module")
def trained(diabetes):
    import keras

    frame, y = diabetes
    pipeline = make_pipeline(SimpleImputer(), StandardScaler()).fit(frame)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(frame.shape[1],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(pipeline.transform(frame).astype("float32"), y, epochs=2, verbose=0)
    return pipeline, model


def test_embedded_model_equals_model_after_transform(diabetes, trained):
    frame, _ = diabetes
    pipeline, model = trained
    full = embed(model, pipeline)
    report = verify(pipeline, full, frame, model=model)
    assert report.passed, str(report)
    assert report.rows == len(frame)
    assert [t.name for t in full.inputs] == list(frame.columns)


def test_embed_leaves_the_model_unchanged_and_usable(diabetes, trained):
    frame, _ = diabetes
    pipeline, model = trained
    before = [w.copy() for w in model.get_weights()]
    features = pipeline.transform(frame).astype("float32")
    expected = np.asarray(model(features))
    embed(model, pipeline)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(np.asarray(model(features)), expected)
    assert len(model.inputs) == 1 and model.inputs[0].shape[-1] == frame.shape[1]


def test_verify_catches_a_different_preprocessor(diabetes):
    frame, _ = diabetes
    clean = frame.fillna(0.0)
    standard = StandardScaler().fit(clean)
    minmax = MinMaxScaler().fit(clean)
    report = verify(minmax, to_keras(standard), clean)
    assert not report.passed
    assert report.violations.sum() > 0
    assert "FAILED" in str(report)


def test_compare_counts_nan_disagreement_and_accepts_equal_infinities():
    ref = np.array([[1.0, np.inf, np.nan], [1e60, 0.0, 2.0]])
    ours = np.array([[1.0, np.inf, np.nan], [np.inf, 0.0, 2.0]], dtype=np.float32)
    assert compare(ours, ref).passed  # 1e60 is inf in float32
    ours_nan = ours.copy()
    ours_nan[1, 2] = np.nan
    report = compare(ours_nan, ref)
    assert not report.passed and report.nan_mismatches.tolist() == [0, 0, 1]
    ours_off = ours.copy()
    ours_off[0, 0] = 1.0 + 3e-5
    report = compare(ours_off, ref)
    assert not report.passed and report.violations.tolist() == [1, 0, 0]


def test_to_inputs_casts_to_float32_and_keeps_nan(diabetes):
    frame, _ = diabetes
    model = to_keras(SimpleImputer().fit(frame))
    inputs = to_inputs(frame, model)
    assert set(inputs) == set(frame.columns)
    assert all(v.dtype == np.float32 and v.shape == (len(frame),) for v in inputs.values())
    assert np.isnan(inputs[frame.columns[3]]).sum() == frame.iloc[:, 3].isna().sum()
    nullable = frame.iloc[:, :2].astype("Float64")
    nullable.iloc[0, 0] = pd.NA
    model2 = to_keras(SimpleImputer().fit(frame.iloc[:, :2]))
    assert np.isnan(to_inputs(nullable, model2)[frame.columns[0]][0])


def test_signature_keys_are_sanitized_deterministically():
    import keras

    names = ["ok_name", "bill length (mm)", "(raw)", "a b", "a_b", "4th"]
    inputs = [keras.Input(shape=(), name=n) for n in names]
    model = keras.Model(inputs, keras.ops.stack(inputs, axis=1))
    assert signature_keys(model) == {
        "ok_name": "ok_name",
        "bill length (mm)": "bill_length__mm_",
        "(raw)": "input_raw_",
        "a b": "a_b",
        "a_b": "a_b_2",
        "4th": "4th",
    }


def test_export_signature_uses_the_sanitized_keys(tmp_path):
    import tensorflow as tf

    frame = pd.DataFrame({"bill length (mm)": [39.1, 40.3, 50.0], "mass": [3750.0, 3800.0, 4000.0]})
    scaler = StandardScaler().fit(frame)
    export(to_keras(scaler), tmp_path / "sm")
    serve = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {"bill_length__mm_", "mass"}
    out = serve(
        bill_length__mm_=tf.constant(frame.iloc[:, 0].to_numpy(np.float32)),
        mass=tf.constant(frame.iloc[:, 1].to_numpy(np.float32)),
    )["output_0"]
    assert compare(out.numpy(), scaler.transform(frame)).passed
