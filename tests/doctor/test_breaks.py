"""Where it breaks (doctor/breaks.py): the layer, the rows, the cause, in each of the three scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from doctor.scenarios import COLUMNS, codes
from keras_embed_prep import to_inputs
from keras_embed_prep.verify import as_served


def test_unscaled_names_cause_layer_and_fix(s):
    report = s.unscaled
    assert not report.healthy and not report.embedded
    assert codes(report)[:2] == ["preprocessor_not_applied", "unscaled"]
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
    assert codes(report) == ["nan_without_imputer", "non_finite_outputs"]
    assert any(a.startswith("Impute ['depth']") for a in report.fix.advice)
