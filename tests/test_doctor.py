"""``diagnose`` and ``keras-embed-prep doctor``: the three NaN-after-load scenarios, health, bad input.

1. A scaler not saved with the model: raw rows fed to a model trained on standardized rows.
2. A custom layer that divides by values that reach zero.
3. NaN in the raw inputs of a model that embeds its scaler (and no imputer).

Every number a test checks is recomputed here from scikit-learn and Keras.
"""

from __future__ import annotations

import json
import pathlib
import types

import keras
import numpy as np
import pandas as pd
import pytest
import skops.io
from keras import ops
from sklearn.preprocessing import StandardScaler

from keras_embed_prep import DoctorReport, diagnose, embed, to_inputs
from keras_embed_prep.cli import main
from keras_embed_prep.errors import InputError
from keras_embed_prep.verify import as_served, compare

COLUMNS = ["bill length (mm)", "depth", "mass"]


@keras.saving.register_keras_serializable(package="doctor_tests")
class RelativeTo(keras.layers.Layer):
    """Each input divided by input ``column``: NaN or Inf where that column is 0."""

    def __init__(self, column: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.column = column

    def call(self, x):
        return ops.divide(x, x[:, self.column : self.column + 1])

    def get_config(self):
        return {**super().get_config(), "column": self.column}


@keras.saving.register_keras_serializable(package="doctor_tests")
class Forgetful(keras.layers.Layer):
    """Multiplies by ``factor`` but forgets to save it: reloaded, it multiplies by 1."""

    def __init__(self, factor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return ops.multiply(x, self.factor)

    def get_config(self):  # the bug: `factor` is left out
        config = super().get_config()
        config.pop("factor", None)
        return config


def _penguins(rng, n):
    return pd.DataFrame(
        np.column_stack([rng.normal(44, 5, n), rng.normal(17, 2, n), rng.normal(4200, 800, n)]),
        columns=COLUMNS,
    )


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _fails(capsys, argv, *fragments):
    code, out, err = _run(capsys, argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    """Trained models, their files, the data of each scenario, and the reports of diagnose()."""
    root = tmp_path_factory.mktemp("doctor")
    rng = np.random.default_rng(0)
    X_train, X = _penguins(rng, 400), _penguins(rng, 120)
    scaler = StandardScaler().fit(X_train)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation="tanh", name="hidden"),
            keras.layers.Dense(1, activation="sigmoid", name="score"),
        ],
        name="penguins",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    y_train = (X_train["mass"] > 4200).to_numpy("float32")
    model.fit(scaler.transform(X_train).astype("float32"), y_train, epochs=10, verbose=0)
    full = embed(model, scaler)

    counts = pd.DataFrame({"cats": rng.integers(0, 20, 300), "dogs": rng.integers(0, 20, 300)}).astype(float)
    counts["total"] = counts.cats + counts.dogs + rng.integers(1, 5, 300)
    shares = keras.Sequential(
        [
            keras.Input((3,)),
            RelativeTo(column=2, name="relative_to_total"),
            keras.layers.Dense(4, activation="tanh", name="mix"),
            keras.layers.Dense(1, name="share"),
        ],
        name="shares",
    )
    shares.compile(optimizer="adam", loss="mse")
    shares.fit(
        counts.to_numpy("float32"), (counts.cats / counts.total).to_numpy("float32"), epochs=3, verbose=0
    )
    counts_test = counts.iloc[:80].copy()
    counts_test.loc[[3, 17, 40], :] = 0.0  # an empty shelter: 0 / 0
    counts_test.loc[55, ["cats", "total"]] = [4.0, 0.0]  # a data-entry error: 4 / 0

    X_nan = X.copy()
    X_nan.iloc[::9, 1] = np.nan

    f = types.SimpleNamespace(root=root, X=X, X_nan=X_nan, scaler=scaler, model=model, full=full)
    f.counts, f.shares = counts_test, shares
    f.model_file, f.scaler_file, f.full_file = (
        root / "penguins.keras",
        root / "scaler.skops",
        root / "full.keras",
    )
    f.shares_file, f.csv, f.nan_csv, f.counts_csv = (
        root / "shares.keras",
        root / "penguins.csv",
        root / "nan.csv",
        root / "counts.csv",
    )
    model.save(f.model_file)
    full.save(f.full_file)
    shares.save(f.shares_file)
    skops.io.dump(scaler, f.scaler_file)
    X.to_csv(f.csv, index=False)
    X_nan.to_csv(f.nan_csv, index=False)
    counts_test.to_csv(f.counts_csv, index=False)

    f.loaded_full = keras.saving.load_model(f.full_file, safe_mode=True)
    f.unscaled = diagnose(model, X, preprocessor=scaler)
    f.division = diagnose(shares, counts_test)
    f.missing = diagnose(f.loaded_full, X_nan)
    f.healthy = diagnose(f.loaded_full, X, preprocessor=scaler, reference_model=model)
    return f


def _codes(report: DoctorReport) -> list[str]:
    return [p.code for p in report.problems]


# --------------------------------------------------------------------------- 1. the scaler not saved


def test_unscaled_names_cause_layer_and_fix(s):
    report = s.unscaled
    assert not report.healthy and not report.embedded
    assert _codes(report)[:2] == ["preprocessor_not_applied", "unscaled"]
    assert {f.column for f in report.unprepared if f.issue == "unscaled"} == set(COLUMNS)
    b = report.breakdown
    assert (b.layer, b.layer_type, b.kind, b.rows) == ("hidden", "Dense", "blow_up", len(s.X))
    # The evidence, recomputed: pre-activations of the first layer on raw versus scaled rows.
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in s.model.get_layer("hidden").get_weights())
    raw = as_served(s.X).to_numpy() @ kernel + bias
    scaled = s.scaler.transform(as_served(s.X)).astype(np.float32).astype(np.float64) @ kernel + bias
    assert b.max_abs_output == pytest.approx(np.abs(raw).max(), rel=1e-6)
    assert b.reference_max_abs_output == pytest.approx(np.abs(scaled).max(), rel=1e-6)
    # "Outputs differ by up to": Keras on raw rows versus Keras on scikit-learn's output.
    on_raw = s.model.predict(s.X.to_numpy("float32"), verbose=0)
    on_scaled = s.model.predict(s.scaler.transform(as_served(s.X)).astype("float32"), verbose=0)
    assert f"by up to {np.abs(on_raw - on_scaled).max():.3g}" in report.problems[0].message


def test_unscaled_fix_parity_comes_from_embed_and_verify(s):
    fix = s.unscaled.fix
    assert "full = embed(model, preprocessor)" in fix.python
    assert fix.error is None and fix.nonfinite_rows == 0
    expected = s.model.predict(s.scaler.transform(as_served(s.X)).astype("float32"), verbose=0)
    got = s.full.predict(to_inputs(s.X, s.full), verbose=0)
    reference = compare(got, expected)
    assert fix.parity["passed"] is True and fix.parity["rows"] == len(s.X)
    assert fix.parity["max_abs_error"] == pytest.approx(float(reference.max_abs_error.max()), abs=1e-7)


def test_unscaled_cli_prints_a_command_that_works(capsys, s, tmp_path):
    code, out, err = _run(capsys, ["doctor", s.model_file, s.csv, "--preprocessor", s.scaler_file])
    assert code == 1, (out, err)
    assert "first failing layer: 'hidden' (Dense)" in out
    assert "[preprocessor_not_applied]" in out and "[unscaled]" in out
    fixed = s.root / "penguins_with_preprocessing.keras"
    command = f"keras-embed-prep embed {s.model_file} {s.scaler_file} -o {fixed}"
    assert command in out
    assert main(command.split()[1:]) == 0
    capsys.readouterr()
    served = keras.saving.load_model(fixed, safe_mode=True)
    expected = s.model.predict(s.scaler.transform(as_served(s.X)).astype("float32"), verbose=0)
    assert compare(served.predict(to_inputs(s.X, served), verbose=0), expected).passed


def test_unscaled_without_preprocessor_reads_the_first_dense_layer(s):
    report = diagnose(s.model, s.X)
    assert {(f.column, f.issue, f.source) for f in report.unprepared} == {
        (c, "unscaled", "first Dense layer") for c in COLUMNS
    }
    assert (report.breakdown.layer, report.breakdown.kind) == ("hidden", "unscaled")
    assert report.fix.python is None
    assert any("looks trained on scaled inputs" in a for a in report.fix.advice)


# --------------------------------------------------------------------------- 2. a division by zero


def test_division_names_layer_rows_and_divisor(s):
    report = s.division
    b = report.breakdown
    zero = np.flatnonzero(s.counts["total"].to_numpy() == 0)
    assert (b.layer, b.layer_type, b.kind, b.cause) == (
        "relative_to_total",
        "RelativeTo",
        "non_finite",
        "division_by_zero",
    )
    assert b.rows == len(zero) and b.row_indices == zero.tolist()
    assert b.input_columns[0] == {"column": "total", "rows": len(zero), "why": "0 in the layer's input"}
    # What Keras itself outputs on those rows.
    predicted = s.shares.predict(s.counts.to_numpy("float32"), verbose=0)
    assert b.output_rows == int(np.isnan(predicted).any(axis=1).sum()) == len(zero)
    assert any("Guard the division in RelativeTo.call" in a for a in report.fix.advice)
    assert report.roundtrip.custom_objects == ["doctor_tests>RelativeTo"]
    assert report.roundtrip.safe_mode and report.roundtrip.outputs_match


def test_division_cli_json(capsys, s):
    code, out, err = _run(capsys, ["doctor", s.shares_file, s.counts_csv, "--json"])
    assert code == 1, (out, err)
    result = json.loads(out)
    assert result["healthy"] is False and result["model_path"] == str(s.shares_file)
    assert result["breakdown"]["layer"] == "relative_to_total"
    assert result["breakdown"]["cause"] == "division_by_zero"
    assert result["breakdown"]["row_indices"] == s.division.breakdown.row_indices
    assert result["problems"][0]["code"] == "non_finite_outputs"


# --------------------------------------------------------------------------- 3. NaN in the raw inputs


def test_nan_inputs_name_column_layer_and_imputer(s):
    report = s.missing
    nan_rows = int(s.X_nan["depth"].isna().sum())
    assert report.embedded
    b = report.breakdown
    assert (b.layer, b.layer_type, b.cause, b.rows) == ("penguins/hidden", "Dense", "nan_in_inputs", nan_rows)
    assert b.input_columns == [{"column": "depth", "rows": nan_rows, "why": "NaN"}]
    predicted = s.loaded_full.predict(to_inputs(s.X_nan, s.loaded_full), verbose=0)
    assert b.output_rows == int(np.isnan(predicted).any(axis=1).sum())
    (finding,) = report.unprepared
    assert (finding.column, finding.issue, finding.rows) == ("depth", "nan_without_imputer", nan_rows)
    assert _codes(report) == ["nan_without_imputer", "non_finite_outputs"]
    assert any(a.startswith("Impute ['depth']") for a in report.fix.advice)


def test_nan_inputs_cli(capsys, s):
    code, out, _ = _run(capsys, ["doctor", s.full_file, s.nan_csv])
    assert code == 1
    assert "first failing layer: 'penguins/hidden' (Dense)" in out
    assert "[nan_without_imputer" in out and "Impute ['depth']" in out


def test_nan_without_embedding_keeps_nan_after_the_fix(s):
    report = diagnose(s.model, s.X_nan, preprocessor=s.scaler)
    assert "nan_without_imputer" in _codes(report)
    nan_rows = int(s.X_nan["depth"].isna().sum())
    assert report.fix.parity["passed"] is True  # NaN in the same places as scikit-learn + Keras
    assert report.fix.nonfinite_rows == nan_rows
    assert any("Embedding alone keeps the NaN" in a for a in report.fix.advice)


# --------------------------------------------------------------------------- healthy, and other findings


def test_healthy_embedded_model(s):
    report = s.healthy
    assert report.healthy, str(report)
    assert report.problems == [] and report.breakdown is None and report.unprepared == []
    assert report.roundtrip.safe_mode and report.roundtrip.outputs_match
    assert report.reference["passed"] is True
    assert str(report).splitlines()[1].startswith("HEALTHY")


def test_healthy_cli_exits_0(capsys, s):
    code, out, err = _run(capsys, ["doctor", s.full_file, s.csv])
    assert code == 0, (out, err)
    assert "HEALTHY" in out


def test_values_far_outside_the_embedded_statistics(s):
    X = s.X.copy()
    X.loc[[2, 5], "mass"] = 4.2e6  # grams where the model was fitted on... grams / 1000
    report = diagnose(s.loaded_full, X)
    (finding,) = report.unprepared
    assert (finding.column, finding.issue, finding.rows, finding.source) == (
        "mass",
        "far_outside_fit",
        2,
        "embedded graph",
    )
    assert f"center {s.scaler.mean_[2]:.3g} and scale {s.scaler.scale_[2]:.3g}" in finding.detail


def test_save_load_drift_and_lambda(s):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            Forgetful(3.0, name="forgetful"),
            keras.layers.Lambda(lambda x: x + 1.0, name="shift"),
            keras.layers.Dense(1, name="out"),
        ],
        name="drifting",
    )
    trip = diagnose(model, s.X.to_numpy()).roundtrip
    assert trip.safe_mode is False and trip.needs_unsafe_mode and trip.lambda_layers == ["shift"]
    assert trip.custom_objects == ["doctor_tests>Forgetful"]
    assert trip.outputs_match is False and trip.drift_layer == "forgetful", trip
    assert trip.failed_layers == [
        "forgetful (Forgetful): attributes not restored: factor=3.0 came back as 1.0 "
        "(return them from get_config)"
    ]


def test_to_dict_is_strict_json_with_the_documented_keys(s):
    for report in (s.unscaled, s.division, s.missing, s.healthy):
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert set(data) == {
            "healthy",
            "model",
            "rows",
            "columns",
            "preprocessor",
            "embedded",
            "problems",
            "breakdown",
            "refused",
            "unprepared",
            "roundtrip",
            "reference",
            "fix",
            "notes",
        }
        assert set(data["fix"]) == {"python", "cli", "parity", "nonfinite_rows", "error", "advice"}


# --------------------------------------------------------------------------- bad input


def test_doctor_help_documents_exit_codes(capsys):
    code, out, _ = _run(capsys, ["doctor", "--help"])
    assert code == 0
    assert "usage: keras-embed-prep doctor" in out and "doctor: problems found" in out


def test_unreadable_model(capsys, s, tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_text("not a model\n")
    _fails(capsys, ["doctor", bad, s.csv], "is not a .keras model file")


def test_model_with_unregistered_custom_class(capsys, s, tmp_path):
    @keras.saving.register_keras_serializable(package="doctor_tests_gone")
    class Gone(keras.layers.Layer):
        def call(self, x):
            return x

    path = tmp_path / "gone.keras"
    keras.Sequential([keras.Input((3,)), Gone(), keras.layers.Dense(1)]).save(path)
    del keras.saving.get_custom_objects()["doctor_tests_gone>Gone"]
    _fails(capsys, ["doctor", path, s.csv], "['doctor_tests_gone>Gone']", "--import MODULE")


def test_data_with_wrong_columns(capsys, s, tmp_path):
    data = tmp_path / "wrong.csv"
    s.X.rename(columns={"depth": "height"}).to_csv(data, index=False)
    _fails(capsys, ["doctor", s.full_file, data], "lacks columns ['depth']")
    _fails(capsys, ["doctor", s.model_file, data, "--preprocessor", s.scaler_file], "lacks columns ['depth']")
    narrow = tmp_path / "narrow.csv"
    s.X.iloc[:, :2].to_csv(narrow, index=False)
    _fails(capsys, ["doctor", s.model_file, narrow], "takes 3 columns; the data has 2")


def test_diagnose_refuses_bad_arguments(s):
    with pytest.raises(InputError, match="lacks columns"):
        diagnose(s.model, s.X.drop(columns="mass"), preprocessor=s.scaler)
    with pytest.raises(TypeError, match="keras.Model"):
        diagnose(s.scaler, s.X)
    assert isinstance(str(s.unscaled), str) and pathlib.Path(s.model_file).exists()
