"""Inputs that look unprepared (doctor/findings.py, doctor/sites.py): unscaled columns, values far
outside the fitted statistics."""

from __future__ import annotations

from doctor.scenarios import COLUMNS
from keras_embed_prep import diagnose


def test_unscaled_without_preprocessor_reads_the_first_dense_layer(s):
    report = diagnose(s.model, s.X)
    assert {(f.column, f.issue, f.source) for f in report.unprepared} == {
        (c, "unscaled", "first Dense layer") for c in COLUMNS
    }
    assert (report.breakdown.layer, report.breakdown.kind) == ("hidden", "unscaled")
    assert report.fix.python is None
    assert any("looks trained on scaled inputs" in a for a in report.fix.advice)


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
