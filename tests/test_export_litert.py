"""``export(..., format="litert")``: parity in the LiteRT interpreter with scikit-learn; refusals by name."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import fit_case, sklearn_reference
from parity_cases import CASES
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

from keras_embed_prep import embed, export, signature_keys, to_inputs, to_keras
from keras_embed_prep.errors import ExportError, InputError, MissingDependencyError
from keras_embed_prep.verify import ATOL, RTOL, compare

litert = pytest.importorskip("ai_edge_litert.interpreter")
driver = importlib.import_module("keras_embed_prep.export.litert.driver")


def _run(path, model, X):
    """The written file's ``serving_default`` output in the interpreter, fed by signature key."""
    runner = litert.Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    inputs = to_inputs(X, model)
    inputs = inputs if isinstance(inputs, dict) else {model.inputs[0].name: inputs}
    keys = signature_keys(model)
    return runner(**{keys[k]: np.asarray(v, dtype=np.float32) for k, v in inputs.items()})["output_0"]


#: Numeric parity cases that export: 1e6 offsets and 1e-9 spreads, NaN, bins, splines, projections.
EXPORTED = [
    "standard",
    "standard-nan",
    "minmax",
    "minmax-clip",
    "maxabs",
    "robust-quantile-range",
    "binarizer",
    "imputer-median",
    "imputer-indicator",
    "poly-2",
    "kbins-quantile-onehot",
    "kbins-uniform-ordinal",
]
BY_ID = {c.id: c for c in CASES}


@pytest.mark.parametrize("case_id", EXPORTED)
def test_numeric_cases_match_sklearn_in_the_interpreter(case_id, tmp_path):
    estimator, X = fit_case(BY_ID[case_id])
    model = to_keras(estimator)
    report = export(model, tmp_path / "model.tflite", format="litert", sample=X)
    assert report.passed
    got = _run(tmp_path / "model.tflite", model, X)
    reference = sklearn_reference(estimator, X)
    assert got.shape == reference.shape
    check = compare(got, reference, rtol=RTOL, atol=ATOL)
    assert check.passed, f"{case_id}\n{check}"


def test_integer_one_hot_matches_sklearn(tmp_path):
    """The category search (``LowerBound``) as compare-and-count; unseen and NaN rows are all zeros."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, size=(300, 3)).astype(float)
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X)
    test = np.vstack([X[:50], [[7.0, 0.0, 1.0], [np.nan, 2.0, 3.0], [4.5, -1.0, 1e-40]]])
    model = to_keras(encoder)
    export(model, tmp_path / "model.tflite", format="litert", sample=test)
    got = _run(tmp_path / "model.tflite", model, test)
    np.testing.assert_array_equal(got, sklearn_reference(encoder, test))


def test_embedded_network_matches_keras_and_sklearn(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)) * [1, 10, 1e-3, 1] + [0, 1e6, 0, 5]
    preprocessor = make_pipeline(StandardScaler(), PCA(n_components=3)).fit(X)
    mlp = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    model = embed(mlp, preprocessor)
    test = rng.normal(size=(100, 4)) * [1, 10, 1e-3, 1] + [0, 1e6, 0, 5]
    report = export(model, tmp_path / "model.tflite", format="litert", sample=test)
    assert report.passed and report.preprocessing is not None and report.preprocessing.passed
    got = _run(tmp_path / "model.tflite", model, test)
    reference = np.asarray(mlp(sklearn_reference(preprocessor, test).astype(np.float32)))
    assert compare(got, reference, rtol=1e-4, atol=1e-5).passed


def test_dataframe_inputs_keep_their_names(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"bill length (mm)": rng.normal(size=200) * 5 + 40, "mass": rng.normal(size=200) + 1e6}
    )
    scaler = StandardScaler().fit(frame)
    model = to_keras(scaler)
    export(model, tmp_path / "model.tflite", format="litert", sample=frame)
    runner = litert.Interpreter(model_path=str(tmp_path / "model.tflite")).get_signature_runner(
        "serving_default"
    )
    assert sorted(runner.get_input_details()) == sorted(signature_keys(model).values())
    got = _run(tmp_path / "model.tflite", model, frame)
    assert compare(got, sklearn_reference(scaler, frame), rtol=RTOL, atol=ATOL).passed


def test_columns_out_of_name_order_keep_their_values(tmp_path):
    """Columns whose order is not their names' sorted order, of very different scales: each
    value must reach its own column (the frozen graph takes its inputs by sorted name)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "zeta": rng.normal(size=200) + 1e6,
            "alpha": rng.normal(size=200) * 1e-3,
            "mid/kg": rng.normal(size=200) * 50 - 7,
        }
    )
    scaler = StandardScaler().fit(frame)
    model = to_keras(scaler)
    export(model, tmp_path / "model.tflite", format="litert", sample=frame)
    got = _run(tmp_path / "model.tflite", model, frame)
    assert compare(got, sklearn_reference(scaler, frame), rtol=RTOL, atol=ATOL).passed
    assert "onehot-integers" in BY_ID
    estimator, X = fit_case(BY_ID["onehot-integers"])  # year, code, flag: named out of order
    export(to_keras(estimator), tmp_path / "onehot.tflite", format="litert", sample=X)
    got = _run(tmp_path / "onehot.tflite", to_keras(estimator), X)
    np.testing.assert_array_equal(got, sklearn_reference(estimator, X))


def test_without_sample_probe_rows_are_checked(tmp_path):
    estimator, _ = fit_case(BY_ID["standard"])
    report = export(to_keras(estimator), tmp_path / "model.tflite", format="litert")
    assert report.passed and report.rows >= 16


def test_text_inputs_are_refused_by_name(tmp_path):
    frame = pd.DataFrame({"colour": ["red", "green", "blue", "red"]})
    model = to_keras(OneHotEncoder(handle_unknown="ignore").fit(frame))
    with pytest.raises(ExportError, match="does not convert text .*'colour'"):
        export(model, tmp_path / "model.tflite", format="litert")
    assert not (tmp_path / "model.tflite").exists()


def test_inference_time_checks_are_refused_by_name(tmp_path):
    X = np.arange(12.0).reshape(6, 2) % 3
    model = to_keras(OneHotEncoder(sparse_output=False).fit(X))  # handle_unknown="error"
    with pytest.raises(ExportError, match="cannot keep the inference-time check"):
        export(model, tmp_path / "model.tflite", format="litert")
    assert not (tmp_path / "model.tflite").exists()


def test_checks_as_nan_rows_export(tmp_path):
    """Built with checks="nan", the check is plain ops: the file answers NaN where scikit-learn raises."""
    X = np.arange(12.0).reshape(6, 2) % 3
    encoder = OneHotEncoder(sparse_output=False).fit(X)  # handle_unknown="error"
    model = to_keras(encoder, checks="nan")
    test = np.vstack([X, [[7.0, 1.0]]])
    export(model, tmp_path / "model.tflite", format="litert", sample=test)
    got = _run(tmp_path / "model.tflite", model, test)
    with pytest.raises(ValueError, match="unknown categor"):
        encoder.transform(test[-1:])
    assert np.isnan(got[-1]).all()
    np.testing.assert_array_equal(got[:-1], sklearn_reference(encoder, X))


def test_ops_without_a_builtin_are_refused_by_name(tmp_path):
    X = np.random.default_rng(3).normal(size=(200, 2))
    model = to_keras(QuantileTransformer(n_quantiles=50, output_distribution="normal").fit(X))
    with pytest.raises(ExportError, match="no built-in kernel for: .*Erfinv"):
        export(model, tmp_path / "model.tflite", format="litert")
    assert not (tmp_path / "model.tflite").exists()


def test_tflite_is_spelled_litert(tmp_path):
    estimator, _ = fit_case(BY_ID["standard"])
    with pytest.raises(InputError, match="format='litert'"):
        export(to_keras(estimator), tmp_path / "model.tflite", format="tflite")


def test_missing_interpreter_says_what_to_install(tmp_path, monkeypatch):
    real = driver._import_optional

    def without_litert(name):
        if name.startswith("ai_edge_litert"):
            raise ImportError("No module named 'ai_edge_litert'")
        return real(name)

    monkeypatch.setattr(driver, "_import_optional", without_litert)
    estimator, _ = fit_case(BY_ID["standard"])
    with pytest.raises(MissingDependencyError, match=r"pip install keras-embed-prep\[litert\]"):
        export(to_keras(estimator), tmp_path / "model.tflite", format="litert")
    assert not (tmp_path / "model.tflite").exists()
