"""The command line through ``main([...])``: embed, verify, inspect, demo, and a table of every bad input."""

from __future__ import annotations

import json
import pathlib
import types
import zipfile
from collections.abc import Callable
from typing import Any, NamedTuple

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from keras_embed_prep import to_inputs
from keras_embed_prep.cli import main
from keras_embed_prep.verify import as_served, compare, merge_reports

COLUMNS = ["bill length (mm)", "depth", "mass"]
#: skops does not trust these internals of KNeighborsTransformer by default.
KNN_TYPES = ["sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.neighbors._kd_tree.KDTree"]


def _model(n_in: int, n_out: int, name: str) -> keras.Model:
    """A small model with fixed (seeded) weights; parity does not need training."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((n_in,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(n_out)],
        name=name,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Fitted preprocessors and models, their files, data files, and the embedded artifacts."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)) * [1.0, 10.0, 300.0] + [40.0, 17.0, 4200.0], columns=COLUMNS)
    X.iloc[::7, 0] = np.nan
    pre = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(X)
    X_np = rng.normal(size=(200, 4)) * 5.0 + 1.0
    pre_np = StandardScaler().fit(X_np)

    f = types.SimpleNamespace(root=root, X=X, fitted=pre, X_np=X_np, fitted_np=pre_np)
    f.keras_model, f.keras_model_np = _model(3, 2, "tiny"), _model(4, 1, "tiny_np")
    paths = {
        "model": "model.keras",
        "model_np": "model_np.keras",
        "pre": "pre.skops",
        "pre_np": "pre_np.skops",
        "other": "other.skops",
        "unfitted": "unfitted.skops",
        "classifier": "classifier.skops",
        "knn": "knn.skops",
        "pickle": "pre.joblib",
        "csv": "data.csv",
        "parquet": "data.parquet",
        "csv_np": "data_np.csv",
        "full": "full.keras",
        "full_np": "full_np.keras",
        "serving": "serving",
    }
    for key, name in paths.items():
        setattr(f, key, str(root / name))
    f.keras_model.save(f.model)
    f.keras_model_np.save(f.model_np)
    skops.io.dump(pre, f.pre)
    skops.io.dump(pre_np, f.pre_np)
    # Same width as `pre`, different preprocessing: an embedded model checked against it fails.
    skops.io.dump(make_pipeline(SimpleImputer(), MinMaxScaler()).fit(X), f.other)
    skops.io.dump(make_pipeline(StandardScaler()), f.unfitted)
    skops.io.dump(LogisticRegression().fit(X_np, X_np[:, 0] > 1), f.classifier)
    skops.io.dump(make_pipeline(StandardScaler(), KNeighborsTransformer(n_neighbors=3)).fit(X_np), f.knn)
    joblib.dump(pre, f.pickle)
    X.to_csv(f.csv, index=False)
    X.to_parquet(f.parquet)
    pd.DataFrame(X_np, columns=[f"x{i}" for i in range(4)]).to_csv(f.csv_np, index=False)

    assert main(["embed", f.model, f.pre, "-o", f.full, "--savedmodel", f.serving]) == 0
    assert main(["embed", f.model_np, f.pre_np, "-o", f.full_np]) == 0
    return f


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """OneHotEncoder(handle_unknown="error") on a text column, embedded; and its "ignore" twin."""
    root = tmp_path_factory.mktemp("sites")
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"site": rng.choice(["007", "12", "3"], 120).astype(object)})
    X.loc[::9, "site"] = None
    encoder = OneHotEncoder().fit(X)
    skops.io.dump(encoder, root / "encoder.skops")
    skops.io.dump(OneHotEncoder(handle_unknown="ignore").fit(X), root / "lenient.skops")
    _model(len(encoder.get_feature_names_out()), 2, "onehot").save(root / "m.keras")
    X.to_csv(root / "sites.csv", index=False)
    X.assign(site=X["site"].where(X.index != 5, "99")).to_csv(root / "unknown.csv", index=False)
    assert (
        main(["embed", str(root / "m.keras"), str(root / "encoder.skops"), "-o", str(root / "f.keras")]) == 0
    )
    return root


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _fails(capsys, argv, *fragments, code=2):
    """``main(argv)`` exits with ``code`` and ONE stderr line containing every fragment."""
    got, out, err = _run(capsys, argv)
    assert got == code, (out, err)
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


# --------------------------------------------------------------------------- help, usage


@pytest.mark.parametrize("command", [[], ["embed"], ["verify"], ["inspect"], ["demo"]], ids=str)
def test_help_documents_exit_codes(capsys, command):
    code, out, _ = _run(capsys, [*command, "--help"])
    assert code == 0
    assert "usage: keras-embed-prep" in out
    assert "exit status" in out and "1  verify: parity failed" in out and "2  usage error" in out


@pytest.mark.parametrize("argv", [[], ["embed"], ["verify", "a", "b"], ["frobnicate"]], ids=str)
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = _run(capsys, argv)
    assert code == 2
    assert "usage: keras-embed-prep" in err


# --------------------------------------------------------------------------- bad input: one table


class Bad(NamedTuple):
    """One command that must fail.

    ``argv`` has its tokens formatted with the paths of ``files``, ``tmp`` and ``sites``; ``setup``
    writes the files it reads first; its one stderr line holds every fragment; ``absent`` is a file
    the failed command must not leave behind.
    """

    argv: str
    fragments: tuple[str, ...]
    code: int = 2
    setup: Callable[[Any, pathlib.Path], object] | None = None
    absent: str | None = None


def _zip_of_notes(path: pathlib.Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.txt", "hello")


def _csv(path: pathlib.Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False)


#: Every command that must fail with one line on stderr, by test id.
BAD_INPUT = {
    # embed
    "embed-unsupported-target": Bad(
        "embed {model} {pre} -o {tmp}/t.keras --target {other}",
        ("target=Pipeline has no decoder",),
        absent="t.keras",
    ),
    "embed-output-not-keras": Bad("embed {model} {pre} -o {tmp}/full.h5", ("must end in .keras",)),
    "embed-width-mismatch": Bad(
        "embed {model} {pre_np} -o {tmp}/w.keras", ("outputs 4 columns", "expects 3")
    ),
    # bad files
    "corrupt-skops": Bad(
        "embed {model} {tmp}/broken.skops -o {tmp}/x.keras",
        ("broken.skops", "not a skops file"),
        setup=lambda f, tmp: (tmp / "broken.skops").write_bytes(pathlib.Path(f.pre).read_bytes()[:200]),
    ),
    "zip-not-skops": Bad(
        "inspect {tmp}/notes.skops",
        ("notes.skops", "not a readable skops file"),
        setup=lambda f, tmp: _zip_of_notes(tmp / "notes.skops"),
    ),
    "keras-model-as-preprocessor": Bad(
        "embed {model} {model} -o {tmp}/x.keras", ("not a readable skops file",)
    ),
    "model-is-text-file": Bad(
        "embed {tmp}/model.keras {pre} -o {tmp}/x.keras",
        ("is not a .keras model file",),
        setup=lambda f, tmp: (tmp / "model.keras").write_text("hello\n"),
    ),
    "model-is-preprocessor-file": Bad("embed {pre} {pre} -o {tmp}/x.keras", ("is not a .keras model file",)),
    "missing-model": Bad("embed {tmp}/nope.keras {pre} -o {tmp}/x.keras", ("nope.keras", "does not exist")),
    "missing-preprocessor": Bad("inspect {tmp}/nope.skops", ("nope.skops", "does not exist")),
    "missing-data": Bad("verify {full} {pre} {model} {tmp}/nope.csv", ("nope.csv", "does not exist")),
    "unwritable-output": Bad("embed {model} {pre} -o {tmp}/no/such/dir.keras", ()),
    "unfitted-preprocessor": Bad("embed {model} {unfitted} -o {tmp}/x.keras", ("unfitted", "Fit it")),
    "not-a-transformer": Bad(
        "embed {model} {classifier} -o {tmp}/x.keras",
        ("LogisticRegression", "not a scikit-learn transformer"),
    ),
    "pickle-needs-allow-pickle": Bad(
        "embed {model} {pickle} -o {tmp}/x.keras", ("arbitrary code", "--allow-pickle"), absent="x.keras"
    ),
    "pickle-detected-by-content": Bad(
        "inspect {tmp}/pre.skops",
        ("pickle", "--allow-pickle"),
        setup=lambda f, tmp: (tmp / "pre.skops").write_bytes(pathlib.Path(f.pickle).read_bytes()),
    ),
    "untrusted-types": Bad(
        "inspect {knn}", ("not trusted by default", *KNN_TYPES, *(f"--trust {name}" for name in KNN_TYPES))
    ),
    # verify
    "verify-data-missing-columns": Bad(
        "verify {full} {pre} {model} {tmp}/partial.csv",
        ("lacks columns ['bill length (mm)']",),
        setup=lambda f, tmp: _csv(tmp / "partial.csv", f.X.drop(columns=["bill length (mm)"])),
    ),
    "verify-numpy-fitted-wrong-width": Bad(
        "verify {full_np} {pre_np} {model_np} {tmp}/narrow.csv",
        ("has 3 columns", "4 columns"),
        setup=lambda f, tmp: _csv(tmp / "narrow.csv", pd.DataFrame(f.X_np[:, :3])),
    ),
    "verify-non-numeric-column": Bad(
        "verify {full} {pre} {model} {tmp}/text.csv",
        ("depth", "numeric"),
        setup=lambda f, tmp: _csv(tmp / "text.csv", f.X.assign(depth="deep")),
    ),
    "verify-data-suffix": Bad(
        "verify {full} {pre} {model} {tmp}/data.txt",
        ("expected .csv",),
        setup=lambda f, tmp: (tmp / "data.txt").write_text("a,b\n"),
    ),
    "verify-data-empty": Bad(
        "verify {full} {pre} {model} {tmp}/empty.csv",
        ("could not be read as CSV",),
        setup=lambda f, tmp: (tmp / "empty.csv").write_text(""),
    ),
    "verify-header-only": Bad(
        "verify {full} {pre} {model} {tmp}/header.csv",
        ("has no rows",),
        setup=lambda f, tmp: (tmp / "header.csv").write_text(",".join(COLUMNS) + "\n"),
    ),
    "verify-savedmodel-of-other-inputs": Bad(
        "verify {serving} {pre_np} {model_np} {csv_np}", ("SavedModel", "takes inputs")
    ),
    "verify-unknown-category-both-refuse": Bad(
        "verify {sites}/f.keras {sites}/encoder.skops {sites}/m.keras {sites}/unknown.csv",
        ("OneHotEncoder.transform failed on DATA rows 0..119", "unknown categories"),
    ),
    "verify-model-refuses-what-sklearn-accepts": Bad(
        "verify {sites}/f.keras {sites}/lenient.skops {sites}/m.keras {sites}/unknown.csv",
        ("parity FAILED", "refused DATA rows 0..119", "unknown category"),
        code=1,
    ),
    # inspect
    "inspect-directory-that-is-not-a-saved-model": Bad("inspect {tmp}", ("not a SavedModel",)),
}


@pytest.mark.parametrize("case", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_fails_with_one_line(capsys, files, sites, tmp_path, case):
    if case.setup is not None:
        case.setup(files, tmp_path)
    paths = {key: value for key, value in vars(files).items() if isinstance(value, str)}
    paths.update(tmp=tmp_path, sites=sites)
    _fails(capsys, [token.format(**paths) for token in case.argv.split()], *case.fragments, code=case.code)
    if case.absent is not None:
        assert not (tmp_path / case.absent).exists()


# --------------------------------------------------------------------------- loading


def test_pickle_loads_with_allow_pickle(capsys, files):
    code, out, _ = _run(capsys, ["inspect", files.pickle, "--allow-pickle"])
    assert code == 0
    assert "embeddable: yes (3 -> 3 columns)" in out


def test_untrusted_types_trusted_one_by_one(capsys, files):
    code, out, _ = _run(capsys, ["inspect", files.knn, "--trust", KNN_TYPES[0], "--trust", KNN_TYPES[1]])
    assert code == 0
    assert "standardscaler (StandardScaler)" in out and "converts (4 -> 4 columns)" in out
    assert "kneighborstransformer (KNeighborsTransformer)" in out and "has no converter" in out
    assert "because of a step below" in out
    assert out.rstrip().endswith("embeddable: no (see above)")


def test_default_trusted_types_cover_simple_imputer(files):
    # SimpleImputer stores a numpy.dtype, which skops does not trust by default.
    assert "numpy.dtype" in skops.io.get_untrusted_types(file=files.pre)
    from keras_embed_prep.io import default_trusted_types, load_preprocessor

    assert "sklearn.preprocessing._data.StandardScaler" in default_trusted_types()
    loaded = load_preprocessor(files.pre)
    np.testing.assert_array_equal(loaded.transform(files.X), files.fitted.transform(files.X))


# --------------------------------------------------------------------------- embed


def test_embed_matches_model_of_sklearn_transform(files):
    full = keras.saving.load_model(files.full, safe_mode=True)
    assert [t.name for t in full.inputs] == COLUMNS
    expected = files.keras_model.predict(
        files.fitted.transform(as_served(files.X)).astype(np.float32), verbose=0
    )
    got = full.predict(to_inputs(files.X, full), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (pathlib.Path(files.serving) / "saved_model.pb").is_file()


def test_embed_reports_what_it_wrote(capsys, files, tmp_path):
    code, out, _ = _run(capsys, ["embed", files.model_np, files.pre_np, "-o", tmp_path / "np.keras"])
    assert code == 0
    assert "np.keras: 1 raw input(s) ['features']" in out
    full = keras.saving.load_model(tmp_path / "np.keras", safe_mode=True)
    expected = files.keras_model_np.predict(files.fitted_np.transform(as_served(files.X_np)), verbose=0)
    np.testing.assert_allclose(
        full.predict(files.X_np.astype(np.float32), verbose=0), expected, rtol=1e-5, atol=1e-6
    )


# --------------------------------------------------------------------------- verify


def test_verify_keras_csv_passes(capsys, files):
    code, out, _ = _run(capsys, ["verify", files.full, files.pre, files.model, files.csv])
    assert code == 0
    assert "parity PASSED: 300 rows, 2 output columns" in out


def test_verify_savedmodel_parquet_json_in_chunks(capsys, files):
    code, out, _ = _run(
        capsys, ["verify", files.serving, files.pre, files.model, files.parquet, "--json", "--chunk-rows", 64]
    )
    assert code == 0
    report = json.loads(out)
    assert report["passed"] is True
    assert report["rows"] == 300 and report["chunks"] == 5
    assert [c["column"] for c in report["columns"]] == ["0", "1"]
    assert report["data"] == files.parquet
    assert report["max_abs_error"] <= 1e-6


def test_verify_numpy_fitted_csv_by_position(capsys, files):
    code, out, _ = _run(capsys, ["verify", files.full_np, files.pre_np, files.model_np, files.csv_np])
    assert code == 0, out
    assert "parity PASSED: 200 rows, 1 output columns" in out


def test_verify_against_other_preprocessor_fails_with_1(capsys, files):
    code, out, err = _run(capsys, ["verify", files.full, files.other, files.model, files.csv, "--json"])
    assert code == 1
    report = json.loads(out)
    assert report["passed"] is False
    assert all(c["violations"] > 0 for c in report["columns"])
    assert err == ""


def test_verify_extra_columns_are_ignored(capsys, files, tmp_path):
    data = tmp_path / "extra.csv"
    files.X.assign(label=1).iloc[:, ::-1].to_csv(data, index=False)
    code, out, _ = _run(capsys, ["verify", files.full, files.pre, files.model, data])
    assert code == 0, out


def test_verify_reads_text_columns_as_text(capsys, sites):
    # Parsed as numbers, "007" would become 7, which OneHotEncoder(handle_unknown="error") rejects.
    code, out, err = _run(
        capsys, ["verify", sites / "f.keras", sites / "encoder.skops", sites / "m.keras", sites / "sites.csv"]
    )
    assert code == 0, (out, err)
    assert "parity PASSED: 120 rows" in out


def test_verify_progress_bar_on_stderr(capsys, files):
    code, _, err = _run(capsys, ["verify", files.full, files.pre, files.model, files.csv, "--progress", "on"])
    assert code == 0
    assert "verify data.csv" in err


def test_merge_reports_equals_one_report():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(90, 3))
    ours = ref + rng.normal(scale=1e-6, size=ref.shape)
    ours[5, 1] = np.nan
    whole = compare(ours, ref)
    merged = merge_reports(compare(ours[i : i + 20], ref[i : i + 20]) for i in range(0, 90, 20))
    assert merged.to_dict() == whole.to_dict()


# --------------------------------------------------------------------------- inspect, demo


def test_inspect_preprocessor(capsys, files):
    code, out, _ = _run(capsys, ["inspect", files.pre])
    assert code == 0
    assert f"fitted on a DataFrame with 3 columns {COLUMNS}" in out
    assert "simpleimputer (SimpleImputer)" in out and "standardscaler (StandardScaler)" in out
    assert out.count("converts (3 -> 3 columns)") == 3
    assert out.rstrip().endswith("embeddable: yes (3 -> 3 columns)")


def test_inspect_unfitted_preprocessor(capsys, files):
    code, out, _ = _run(capsys, ["inspect", files.unfitted])
    assert code == 0
    assert "not fitted" in out and "does not convert" in out
    assert "embeddable: no" in out


def test_inspect_keras_model(capsys, files):
    code, out, _ = _run(capsys, ["inspect", files.full])
    assert code == 0
    assert "Keras model 'tiny_with_preprocessing'" in out
    assert "'bill length (mm)' -> 'bill_length__mm_'  float32  (None,)" in out
    assert "output_0  float32  (None, 2)" in out


def test_inspect_saved_model(capsys, files):
    code, out, _ = _run(capsys, ["inspect", files.serving])
    assert code == 0
    assert "TensorFlow SavedModel" in out
    assert "'bill_length__mm_'  float32  (None,)" in out
    assert "output_0  float32  (None, 2)" in out


def test_inspect_lists_stages_and_plots_them(capsys, files, tmp_path):
    columns = ", ".join(repr(c) for c in COLUMNS)
    stages = [
        f"  simpleimputer  <- {columns}  -> 3 float64",
        f"  standardscaler  <- {columns}  -> 3 float64",
        f"  tiny  <- {columns}  -> 2 float32",
    ]
    png = tmp_path / "model.png"
    code, out, _ = _run(capsys, ["inspect", files.full, "--plot", str(png)])
    assert code == 0 and all(line in out.splitlines() for line in stages), out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = _run(capsys, ["inspect", files.serving])
    assert code == 0 and all(line in out.splitlines() for line in stages), out


def test_demo_forwards_out(capsys, monkeypatch, tmp_path):
    import keras_embed_prep.demo

    calls = []
    monkeypatch.setattr(keras_embed_prep.demo, "main", lambda argv: calls.append(argv) or 0)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert main(["demo"]) == 0
    assert calls == [["--out", str(tmp_path)], []]
