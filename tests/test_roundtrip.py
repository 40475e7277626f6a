"""Round trips in fresh processes: .keras under safe_mode, SavedModel with TensorFlow alone.

All artifacts are written once, then one subprocess loads every .keras file and one
serves every SavedModel; keras_embed_prep is blocked from importing in both. The
artifacts are every parity case (preprocessing alone) and embedded models (numpy and
DataFrame inputs, trained Keras models).
"""

from __future__ import annotations

import contextlib
import fcntl
import os

import numpy as np
import pytest
from cases_tabular import frame as tabular_frame
from conftest import fit_case, model_inputs, run_fresh, sklearn_reference, write_artifact
from parity_cases import CASES
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    LabelEncoder,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)

from keras_embed_prep import embed, to_keras
from keras_embed_prep.verify import as_served, compare


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
    fit, test = tabular_frame()  # text with None/NaN and unseen values, ints, bools, 'category'
    ct = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["bill length (mm)", "mass/kg"]),
            (
                "txt",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                ["island", "sex", "grade"],
            ),
            ("int", OneHotEncoder(handle_unknown="ignore"), ["code", "year", "flag"]),
        ]
    ).fit(fit)
    model3 = _train(ct.transform(fit), fit["bill length (mm)"].fillna(40).to_numpy(), seed=2)
    cases.append(("embed-frame-text", embed(model3, ct), test, model3, ct))
    out = []
    for case_id, full, raw, model, pipe in cases:
        inputs = model_inputs(raw, full)
        features = pipe.transform(as_served(raw))
        reference = np.asarray(model(features.astype(np.float32)))
        out.append((case_id, full, inputs, {"output_0": reference}))
    out.append(_classifier_case())
    out.append(_regression_target_case())
    return out


def _classifier_case():
    """A softmax model behind a DataFrame pipeline, decoding string labels with LabelEncoder."""
    import keras

    iris = load_iris(as_frame=True)
    frame = iris.frame.drop(columns="target")
    names = np.asarray(iris.target_names, dtype=object)[iris.target]
    pipe = make_pipeline(StandardScaler()).fit(frame)
    labels = LabelEncoder().fit(names)
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(pipe.transform(frame), labels.transform(names), epochs=5, verbose=0)
    full = embed(model, pipe, target=labels)
    proba = np.asarray(model(pipe.transform(as_served(frame)).astype(np.float32)))
    expected = labels.inverse_transform(np.argmax(proba, axis=1))
    return "embed-target-labels", full, model_inputs(frame, full), {"probabilities": proba, "label": expected}


def _regression_target_case():
    """A regression model trained on a standardized target, answering in original units."""
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler()).fit(X)
    target = StandardScaler().fit(y.reshape(-1, 1))
    model = _train(pipe.transform(X), target.transform(y.reshape(-1, 1)).ravel(), seed=4)
    full = embed(model, pipe, target=target)
    scaled = np.asarray(model(pipe.transform(as_served(X)).astype(np.float32)))
    return "embed-target-units", full, model_inputs(X, full), {"output_0": target.inverse_transform(scaled)}


@contextlib.contextmanager
def _locked(path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: The parity cases replayed in fresh processes (all but a few costly text ones, see cases_text.py).
ROUNDTRIP = [c for c in CASES if c.roundtrip]

#: Artifacts are built in shards, so that pytest-xdist workers share the work.
SHARDS = 4


def _build(root, shard: int):
    """Write this shard's artifacts and replay them in the two fresh processes."""
    for i, case in enumerate(ROUNDTRIP):
        if i % SHARDS == shard:
            estimator, X = fit_case(case)
            model = to_keras(estimator)
            write_artifact(root / case.id, model, model_inputs(X, model))
            np.savez(root / case.id / "reference.npz", output_0=sklearn_reference(estimator, X))
    if shard == SHARDS - 1:
        for case_id, full, inputs, reference in _embedded_cases():
            write_artifact(root / case_id, full, inputs)
            np.savez(root / case_id / "reference.npz", **{k: _plain(v) for k, v in reference.items()})
    run_fresh("load_keras.py", root)
    run_fresh("load_savedmodel.py", root)


def _plain(array):
    return array.astype(str) if array.dtype == object else array


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """Every case's artifacts and fresh-process outputs, as ``{case id: directory}``.

    Built once per test run and shared by pytest-xdist workers: each shard is built
    under a file lock by the first worker that takes it; a worker starts with the
    shard of its own number, then takes or waits for the others.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp()
    root = base.parent / f"roundtrip-{run}" if run else base / "roundtrip"
    root.mkdir(exist_ok=True)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    for shard in sorted(range(SHARDS), key=lambda k: (k - worker) % SHARDS):
        directory = root / f"shard-{shard}"
        with _locked(root / f"shard-{shard}.lock"):
            if not (directory / "DONE").exists():
                directory.mkdir(exist_ok=True)
                _build(directory, shard)
                (directory / "DONE").touch()
    shards = [root / f"shard-{shard}" for shard in range(SHARDS)]
    return {case.name: case for shard in shards for case in shard.iterdir() if case.is_dir()}


IDS = [c.id for c in ROUNDTRIP] + [
    "embed-frame-pca",
    "embed-array-poly",
    "embed-frame-text",
    "embed-target-labels",
    "embed-target-units",
]


@pytest.mark.parametrize("case_id", IDS)
@pytest.mark.parametrize("kind", ["keras_out", "savedmodel_out"])
def test_fresh_process_output_matches_sklearn(artifacts, case_id, kind):
    with (
        np.load(artifacts[case_id] / f"{kind}.npz") as ours,
        np.load(artifacts[case_id] / "reference.npz") as ref,
    ):
        assert sorted(ours.files) == sorted(ref.files)
        for name in ref.files:
            reference = ref[name]
            if reference.dtype.kind in "OUS":  # decoded labels: exact
                np.testing.assert_array_equal(ours[name], reference.astype(str))
            else:
                report = compare(ours[name], reference)
                assert report.passed, f"{case_id} {kind} {name}\n{report}"
