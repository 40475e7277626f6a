"""The command line through ``main([...])``: embed, verify, inspect, demo, and every bad file."""

from __future__ import annotations

import json
import pathlib
import types
import zipfile

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


def test_embed_refuses_an_unsupported_target(capsys, files, tmp_path):
    _fails(
        capsys,
        ["embed", files.model, files.pre, "-o", tmp_path / "t.keras", "--target", files.other],
        "target=Pipeline has no decoder",
    )
    assert not (tmp_path / "t.keras").exists()


def test_embed_output_must_be_keras(capsys, files, tmp_path):
    _fails(capsys, ["embed", files.model, files.pre, "-o", tmp_path / "full.h5"], "must end in .keras")


def test_embed_width_mismatch(capsys, files, tmp_path):
    _fails(
        capsys,
        ["embed", files.model, files.pre_np, "-o", tmp_path / "w.keras"],
        "outputs 4 columns",
        "expects 3",
    )


# --------------------------------------------------------------------------- bad files


def test_corrupt_skops_file(capsys, files, tmp_path):
    broken = tmp_path / "broken.skops"
    broken.write_bytes(pathlib.Path(files.pre).read_bytes()[:200])
    _fails(
        capsys, ["embed", files.model, broken, "-o", tmp_path / "x.keras"], "broken.skops", "not a skops file"
    )


def test_zip_that_is_not_skops(capsys, files, tmp_path):
    archive = tmp_path / "notes.skops"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    _fails(capsys, ["inspect", archive], "notes.skops", "not a readable skops file")


def test_keras_model_given_as_preprocessor(capsys, files, tmp_path):
    _fails(
        capsys, ["embed", files.model, files.model, "-o", tmp_path / "x.keras"], "not a readable skops file"
    )


@pytest.mark.parametrize("content", ["hello\n", None], ids=["text-file", "preprocessor-file"])
def test_wrong_model_file(capsys, files, tmp_path, content):
    if content is None:
        model = files.pre
    else:
        model = tmp_path / "model.keras"
        model.write_text(content)
    _fails(capsys, ["embed", model, files.pre, "-o", tmp_path / "x.keras"], "is not a .keras model file")


def test_missing_paths(capsys, files, tmp_path):
    _fails(
        capsys,
        ["embed", tmp_path / "nope.keras", files.pre, "-o", tmp_path / "x.keras"],
        "nope.keras",
        "does not exist",
    )
    _fails(capsys, ["inspect", tmp_path / "nope.skops"], "nope.skops", "does not exist")
    _fails(
        capsys,
        ["verify", files.full, files.pre, files.model, tmp_path / "nope.csv"],
        "nope.csv",
        "does not exist",
    )


def test_unwritable_output(capsys, files, tmp_path):
    _fails(capsys, ["embed", files.model, files.pre, "-o", tmp_path / "no" / "such" / "dir.keras"])


def test_unfitted_preprocessor(capsys, files, tmp_path):
    _fails(capsys, ["embed", files.model, files.unfitted, "-o", tmp_path / "x.keras"], "unfitted", "Fit it")


def test_not_a_transformer(capsys, files, tmp_path):
    _fails(
        capsys,
        ["embed", files.model, files.classifier, "-o", tmp_path / "x.keras"],
        "LogisticRegression",
        "not a scikit-learn transformer",
    )


def test_pickle_needs_allow_pickle(capsys, files, tmp_path):
    _fails(
        capsys,
        ["embed", files.model, files.pickle, "-o", tmp_path / "x.keras"],
        "arbitrary code",
        "--allow-pickle",
    )
    assert not (tmp_path / "x.keras").exists()
    code, out, _ = _run(capsys, ["inspect", files.pickle, "--allow-pickle"])
    assert code == 0
    assert "embeddable: yes (3 -> 3 columns)" in out


def test_pickle_detected_by_content(capsys, files, tmp_path):
    disguised = tmp_path / "pre.skops"
    disguised.write_bytes(pathlib.Path(files.pickle).read_bytes())
    _fails(capsys, ["inspect", disguised], "pickle", "--allow-pickle")


def test_untrusted_types_refused_then_trusted(capsys, files):
    err = _fails(capsys, ["inspect", files.knn], "not trusted by default", *KNN_TYPES)
    for name in KNN_TYPES:
        assert f"--trust {name}" in err
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


def test_verify_data_missing_columns(capsys, files, tmp_path):
    data = tmp_path / "partial.csv"
    files.X.drop(columns=["bill length (mm)"]).to_csv(data, index=False)
    _fails(capsys, ["verify", files.full, files.pre, files.model, data], "lacks columns ['bill length (mm)']")


def test_verify_extra_columns_are_ignored(capsys, files, tmp_path):
    data = tmp_path / "extra.csv"
    files.X.assign(label=1).iloc[:, ::-1].to_csv(data, index=False)
    code, out, _ = _run(capsys, ["verify", files.full, files.pre, files.model, data])
    assert code == 0, out


def test_verify_numpy_fitted_wrong_width(capsys, files, tmp_path):
    data = tmp_path / "narrow.csv"
    pd.DataFrame(files.X_np[:, :3]).to_csv(data, index=False)
    _fails(
        capsys, ["verify", files.full_np, files.pre_np, files.model_np, data], "has 3 columns", "4 columns"
    )


def test_verify_non_numeric_column(capsys, files, tmp_path):
    data = tmp_path / "text.csv"
    files.X.assign(depth="deep").to_csv(data, index=False)
    _fails(capsys, ["verify", files.full, files.pre, files.model, data], "depth", "numeric")


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [("data.txt", "a,b\n", "expected .csv"), ("empty.csv", "", "could not be read as CSV")],
    ids=["suffix", "empty"],
)
def test_verify_bad_data_file(capsys, files, tmp_path, name, content, fragment):
    data = tmp_path / name
    data.write_text(content)
    _fails(capsys, ["verify", files.full, files.pre, files.model, data], fragment)


def test_verify_header_only(capsys, files, tmp_path):
    data = tmp_path / "header.csv"
    data.write_text(",".join(COLUMNS) + "\n")
    _fails(capsys, ["verify", files.full, files.pre, files.model, data], "has no rows")


def test_verify_savedmodel_of_other_inputs(capsys, files):
    _fails(
        capsys,
        ["verify", files.serving, files.pre_np, files.model_np, files.csv_np],
        "SavedModel",
        "takes inputs",
    )


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


def test_verify_reads_text_columns_as_text(capsys, sites):
    # Parsed as numbers, "007" would become 7, which OneHotEncoder(handle_unknown="error") rejects.
    code, out, err = _run(
        capsys, ["verify", sites / "f.keras", sites / "encoder.skops", sites / "m.keras", sites / "sites.csv"]
    )
    assert code == 0, (out, err)
    assert "parity PASSED: 120 rows" in out


def test_verify_unknown_category_both_refuse(capsys, sites):
    argv = ["verify", sites / "f.keras", sites / "encoder.skops", sites / "m.keras", sites / "unknown.csv"]
    _fails(capsys, argv, "OneHotEncoder.transform failed on DATA rows 0..119", "unknown categories")


def test_verify_model_refuses_what_sklearn_accepts(capsys, sites):
    argv = ["verify", sites / "f.keras", sites / "lenient.skops", sites / "m.keras", sites / "unknown.csv"]
    _fails(capsys, argv, "parity FAILED", "refused DATA rows 0..119", "unknown category", code=1)


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


def test_inspect_directory_that_is_not_a_saved_model(capsys, tmp_path):
    _fails(capsys, ["inspect", tmp_path], "not a SavedModel")


def test_demo_forwards_out(capsys, monkeypatch, tmp_path):
    import keras_embed_prep.demo

    calls = []
    monkeypatch.setattr(keras_embed_prep.demo, "main", lambda argv: calls.append(argv) or 0)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert main(["demo"]) == 0
    assert calls == [["--out", str(tmp_path)], []]
