"""Round trips in fresh processes: .keras under safe_mode, SavedModel with TensorFlow alone.

All artifacts are written once, then one subprocess loads every .keras file and one
serves every SavedModel; keras_embed_prep is blocked from importing in both. The
artifacts are every parity case (preprocessing alone) and embedded models (numpy and
DataFrame inputs, trained Keras models).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fit_case, model_inputs, run_fresh, sklearn_reference, write_artifact
from parity_cases import CASES
from sklearn.datasets import load_diabetes
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from keras_embed_prep import embed, to_inputs, to_keras
from keras_embed_prep.verify import compare

pytestmark = pytest.mark.xdist_group("roundtrip")


def _train(X, y, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input(shape=(X.shape[1],)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(X.astype(np.float32), y.astype(np.float32), epochs=3, batch_size=64, verbose=0)
    return model


def _embedded_cases():
    """(id, embedded model, inputs, reference output) for trained models behind preprocessors."""
    data = load_diabetes(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.columns = [f"{c} (raw)" if i % 3 == 0 else c for i, c in enumerate(frame.columns)]
    frame.iloc[::7, 2] = np.nan
    frame = frame.rename(columns={frame.columns[1]: "sex/gender", frame.columns[4]: "4th value"})
    y = data.target.to_numpy()
    cases = []
    pipe = make_pipeline(SimpleImputer(add_indicator=True), StandardScaler(), PCA(6, whiten=True))
    pipe.fit(frame)
    model = _train(pipe.transform(frame), y)
    cases.append(("embed-frame-pca", embed(model, pipe), frame, model, pipe))
    X = frame.to_numpy()[:, :4]
    pipe2 = make_pipeline(SimpleImputer(strategy="median"), PolynomialFeatures(2), StandardScaler())
    pipe2.fit(X)
    model2 = _train(pipe2.transform(X), y, seed=1)
    cases.append(("embed-array-poly", embed(model2, pipe2), X, model2, pipe2))
    out = []
    for case_id, full, raw, model, pipe in cases:
        inputs = to_inputs(raw, full)
        served = raw.astype({c: np.float32 for c in raw.columns}) if isinstance(raw, pd.DataFrame) else raw
        features = pipe.transform(served.astype(np.float32).astype(np.float64))
        reference = np.asarray(model(features.astype(np.float32)))
        out.append((case_id, full, inputs, reference))
    return out


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    references = {}
    for case in CASES:
        estimator, X = fit_case(case)
        model = to_keras(estimator)
        write_artifact(root / case.id, model, model_inputs(X, model))
        references[case.id] = sklearn_reference(estimator, X)
    for case_id, full, inputs, reference in _embedded_cases():
        write_artifact(root / case_id, full, inputs)
        references[case_id] = reference
    run_fresh("load_keras.py", root)
    run_fresh("load_savedmodel.py", root)
    return root, references


IDS = [c.id for c in CASES] + ["embed-frame-pca", "embed-array-poly"]


@pytest.mark.parametrize("case_id", IDS)
@pytest.mark.parametrize("kind", ["keras_out", "savedmodel_out"])
def test_fresh_process_output_matches_sklearn(artifacts, case_id, kind):
    root, references = artifacts
    ours = np.load(root / case_id / f"{kind}.npy")
    report = compare(ours, references[case_id])
    assert report.passed, f"{case_id} {kind}\n{report}"
