"""Round trips in fresh processes: .keras under safe_mode, SavedModel with TensorFlow alone.

All artifacts are written once per shard, then one subprocess (tests/fresh/replay.py) serves
every SavedModel before Keras is imported and loads every .keras file; keras_embed_prep is
blocked from importing but for the models that need its custom layer. The
artifacts are every parity case (preprocessing alone) and embedded models (numpy and
DataFrame inputs, trained Keras models).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
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
def _locked(path, wait: bool = True):
    """Hold an exclusive lock on ``path``; with ``wait=False``, yield False at once if another holds it."""
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: The parity cases replayed in fresh processes (all but a few costly text ones, see cases_text.py).
ROUNDTRIP = [c for c in CASES if c.roundtrip]

#: Artifacts are built in shards of neighbouring cases (a family's options stay together), so
#: that pytest-xdist workers share the work.
SHARDS = 8


def _shape(value, in_list: bool = False):
    """A layer config with what fitting decides left out: names, numbers, list lengths, vocabularies."""
    if isinstance(value, dict):
        skip = ("name", "layers", "input_layers", "output_layers", "inbound_nodes")
        return {k: _shape(v) for k, v in value.items() if k not in skip}
    if isinstance(value, (list, tuple)):
        return sorted({json.dumps(_shape(v, True), sort_keys=True) for v in value})
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, str):
        return "s" if in_list else value
    return type(value).__name__


def layer_kinds(config, found: set[str] | None = None) -> set[str]:
    """Every layer and constant of a model config, as class, registered name and config :func:`_shape`.

    Two models with the same set use the same Keras layers with the same options and
    constants of the same dtypes (wired differently, or holding other fitted numbers):
    their SavedModels are built from the same TensorFlow ops.
    """
    found = set() if found is None else found
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            entry = [config.get("module"), config["class_name"], config.get("registered_name")]
            entry.append(_shape(config["config"]))
            found.add(json.dumps(entry, sort_keys=True))
        for value in config.values():
            layer_kinds(value, found)
    elif isinstance(config, list):
        for value in config:
            layer_kinds(value, found)
    return found


def _build(root, shard: int, wanted: set[str]):
    """Write this shard's artifacts of the ``wanted`` cases and replay them in one fresh process.

    Every case is saved as ``.keras`` and replayed. A SavedModel is exported and served for the
    first case of each distinct :func:`layer_kinds` set in the shard; a later case with the same
    set records that case's id in ``savedmodel_as`` instead (its outputs are still checked
    against scikit-learn through the ``.keras`` file, here, and in test_parity.py).
    """
    first: dict[str, str] = {}
    cases = [c for i, c in enumerate(ROUNDTRIP) if i * SHARDS // len(ROUNDTRIP) == shard and c.id in wanted]
    for case in cases:
        estimator, X = fit_case(case)
        model = to_keras(estimator)
        kinds = json.dumps(sorted(layer_kinds(model.get_config())))
        write_artifact(root / case.id, model, model_inputs(X, model), savedmodel=kinds not in first)
        if kinds in first:
            (root / case.id / "savedmodel_as").write_text(first[kinds])
        first.setdefault(kinds, case.id)
        np.savez(root / case.id / "reference.npz", output_0=sklearn_reference(estimator, X))
    if shard == SHARDS - 1 and wanted & set(EMBEDDED):
        for case_id, full, inputs, reference in _embedded_cases():
            write_artifact(root / case_id, full, inputs)
            np.savez(root / case_id / "reference.npz", **{k: _plain(v) for k, v in reference.items()})
    if any(p.is_dir() for p in root.iterdir()):
        run_fresh("replay.py", root)


def _plain(array):
    return array.astype(str) if array.dtype == object else array


def _wanted(session) -> set[str]:
    """The case ids of this module's selected tests (all of them, unless ``-k`` or ids narrow the run)."""
    return {
        item.callspec.params["case_id"]
        for item in session.items
        if getattr(item, "module", None) is not None  # notebook items (nbmake) have none
        and item.module.__name__ == __name__
        and hasattr(item, "callspec")
    }


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory, request):
    """Every case's artifacts and fresh-process outputs, as ``{case id: directory}``.

    Built once per test run and shared by pytest-xdist workers: each shard is built
    under a file lock by the first worker that takes it; a worker starts with the
    shard of its own number, then takes or waits for the others. Only the cases of the
    selected tests are built, so ``pytest -k some-case`` does not build all of them.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp()
    root = base.parent / f"roundtrip-{run}" if run else base / "roundtrip"
    root.mkdir(exist_ok=True)
    wanted = _wanted(request.session)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    order = sorted(range(SHARDS), key=lambda k: (k - worker) % SHARDS)
    # First build every shard no other worker holds, then wait for the ones being built: a
    # worker that blocked on the first held lock would sit idle while shards were left to build.
    for wait in (False, True):
        for shard in order:
            directory = root / f"shard-{shard}"
            with _locked(root / f"shard-{shard}.lock", wait=wait) as held:
                if held and not (directory / "DONE").exists():
                    directory.mkdir(exist_ok=True)
                    _build(directory, shard, wanted)
                    (directory / "DONE").touch()
    shards = [root / f"shard-{shard}" for shard in range(SHARDS)]
    return {case.name: case for shard in shards for case in shard.iterdir() if case.is_dir()}


EMBEDDED = [
    "embed-frame-pca",
    "embed-array-poly",
    "embed-frame-text",
    "embed-target-labels",
    "embed-target-units",
]
IDS = [c.id for c in ROUNDTRIP] + EMBEDDED


@pytest.mark.parametrize("case_id", IDS)
@pytest.mark.parametrize("kind", ["keras_out", "savedmodel_out"])
def test_fresh_process_output_matches_sklearn(artifacts, case_id, kind):
    same = artifacts[case_id] / "savedmodel_as"
    if kind == "savedmodel_out" and same.exists():
        pytest.skip(f"same layers and options as {same.read_text()}, whose SavedModel is exported and served")
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
