"""The split parity check: the preprocessing boundary at the strict rule, the network within its bound."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from keras_embed_prep import embed, export, verify
from keras_embed_prep.errors import ExportError

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")
driver = importlib.import_module("keras_embed_prep.export.onnx.driver")


def _table(numbers: int, texts: int, categories: int, rows: int, seed: int = 0) -> pd.DataFrame:
    """Numeric columns of magnitudes 1 to 100 (every 11th value missing in the first), text columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"n{i}": rng.normal(size=rows) * 10.0 ** rng.integers(0, 3) for i in range(numbers)}
    )
    for j in range(texts):
        frame[f"t{j}"] = [f"t{j}_{v}" for v in rng.integers(0, categories, size=rows)]
    frame.iloc[::11, 0] = np.nan
    return frame


def _fitted(frame: pd.DataFrame):
    """The issue's setup: median imputer + StandardScaler, one-hot, an MLP 64-64-1 trained one epoch."""
    numbers = [c for c in frame if c.startswith("n")]
    texts = [c for c in frame if c.startswith("t")]
    preprocessor = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            ("cat", OneHotEncoder(handle_unknown="ignore"), texts),
        ]
    ).fit(frame)
    X = preprocessor.transform(frame)
    X = np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float32)
    y = X[:, :3].sum(axis=1) + np.random.default_rng(1).normal(size=len(X))
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    mlp.compile("adam", "mse")
    mlp.fit(X, y, epochs=1, batch_size=64, verbose=0)
    return preprocessor, mlp, X.shape[1]


TABLES = {"narrow": (12, 4, 1100, 2000), "wide": (400, 40, 24, 600)}


_FITTED: dict = {}


@pytest.fixture(params=list(TABLES), ids=list(TABLES))
def table(request):
    """Both tables (the wide one converts in seconds, so only the tests that need it take it)."""
    return _fit_once(request.param)


@pytest.fixture
def narrow():
    return _fit_once("narrow")


def _fit_once(name):
    if name not in _FITTED:
        frame = _table(*TABLES[name])
        _FITTED[name] = (frame, *_fitted(frame))
    return _FITTED[name]


def test_ordinary_tables_export_with_defaults(table, tmp_path):
    frame, preprocessor, mlp, width = table
    assert width > 1000
    full = embed(mlp, preprocessor)
    report = export(full, tmp_path / "model.onnx", format="onnx")
    assert report.passed and report.bounded and report.preprocessing.passed
    assert report.worst_ratio.max() < 1
    written = onnx.load(str(tmp_path / "model.onnx"))
    assert [o.name for o in written.graph.output] == ["output_0"]  # the boundary was for the check only
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output_0"]


def _perturbed(monkeypatch, pick, factor):
    """Convert as usual, then scale one initializer that ``pick`` chooses: a wrong conversion."""
    convert = driver._tf2onnx_convert

    def wrong(model, concrete):
        proto, log, checks = convert(model, concrete)
        init = next(i for i in proto.graph.initializer if pick(onnx.numpy_helper.to_array(i)))
        array = onnx.numpy_helper.to_array(init).copy()
        array.flat[0] = array.flat[0] * factor if array.flat[0] else 0.01
        init.CopyFrom(onnx.numpy_helper.from_array(array, init.name))
        return proto, log, checks

    monkeypatch.setattr(driver, "_tf2onnx_convert", wrong)


def test_a_perturbed_preprocessing_constant_is_refused(narrow, tmp_path, monkeypatch):
    frame, preprocessor, mlp, _ = narrow
    numbers = sum(c.startswith("n") for c in frame)
    # the StandardScaler's float64 mean or scale: 1e-4 off in one column
    _perturbed(monkeypatch, lambda a: a.dtype == np.float64 and a.shape == (numbers,), 1 + 1e-4)
    with pytest.raises(ExportError, match=r"in its preprocessing \(the tensor its network receives\)"):
        export(embed(mlp, preprocessor), tmp_path / "model.onnx", format="onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_a_perturbed_network_weight_is_refused(table, tmp_path, monkeypatch):
    _, preprocessor, mlp, _ = table
    # one weight of the last kernel doubled (1% of it hides under the wide table's bound: see the docs)
    _perturbed(monkeypatch, lambda a: a.dtype == np.float32 and a.shape == (64, 1), 2.0)
    with pytest.raises(ExportError, match=r"in its network's outputs.*rounding bound \(worst [\d.e+]+x"):
        export(embed(mlp, preprocessor), tmp_path / "model.onnx", format="onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_verify_splits_the_report_the_same_way(narrow):
    frame, preprocessor, mlp, _ = narrow
    rows = frame.iloc[:200]
    for fused in (True, False):
        report = verify(preprocessor, embed(mlp, preprocessor, fuse_one_hot=fused), rows, model=mlp)
        assert report.passed and report.bounded and report.preprocessing.passed, str(report)
        assert ("fused" in report.note) == fused
    wrong = keras.models.clone_model(mlp)
    wrong.set_weights([w * 1.01 if w.shape == (64, 1) else w for w in mlp.get_weights()])
    report = verify(preprocessor, embed(wrong, preprocessor), rows, model=mlp)
    assert "float32 rounding bound of the network" in str(report)
    assert not report.passed and report.preprocessing.passed and report.worst_ratio.max() > 1
