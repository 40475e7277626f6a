"""``keras-embed-prep doctor``: the scenarios on the command line, exit codes, and bad input (exit 2)."""

from __future__ import annotations

import json

import keras

from keras_embed_prep import to_inputs
from keras_embed_prep.cli import main
from keras_embed_prep.verify import as_served, compare


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


def test_division_cli_json(capsys, s):
    code, out, err = _run(capsys, ["doctor", s.shares_file, s.counts_csv, "--json"])
    assert code == 1, (out, err)
    result = json.loads(out)
    assert result["healthy"] is False and result["model_path"] == str(s.shares_file)
    assert result["breakdown"]["layer"] == "relative_to_total"
    assert result["breakdown"]["cause"] == "division_by_zero"
    assert result["breakdown"]["row_indices"] == s.division.breakdown.row_indices
    assert result["problems"][0]["code"] == "non_finite_outputs"


def test_nan_inputs_cli(capsys, s):
    code, out, _ = _run(capsys, ["doctor", s.full_file, s.nan_csv])
    assert code == 1
    assert "first failing layer: 'penguins/hidden' (Dense)" in out
    assert "[nan_without_imputer" in out and "Impute ['depth']" in out


def test_healthy_cli_exits_0(capsys, s):
    code, out, err = _run(capsys, ["doctor", s.full_file, s.csv])
    assert code == 0, (out, err)
    assert "HEALTHY" in out


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
