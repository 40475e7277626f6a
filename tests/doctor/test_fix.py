"""The fix (doctor/fix.py): the embed call, and the parity it reaches, recomputed with embed and verify."""

from __future__ import annotations

import pytest

from doctor.scenarios import codes
from keras_embed_prep import diagnose, to_inputs
from keras_embed_prep.verify import as_served, compare


def test_unscaled_fix_parity_comes_from_embed_and_verify(s):
    fix = s.unscaled.fix
    assert "full = embed(model, preprocessor)" in fix.python
    assert fix.error is None and fix.nonfinite_rows == 0
    expected = s.model.predict(s.scaler.transform(as_served(s.X)).astype("float32"), verbose=0)
    got = s.full.predict(to_inputs(s.X, s.full), verbose=0)
    reference = compare(got, expected)
    assert fix.parity["passed"] is True and fix.parity["rows"] == len(s.X)
    assert fix.parity["max_abs_error"] == pytest.approx(float(reference.max_abs_error.max()), abs=1e-7)


def test_nan_without_embedding_keeps_nan_after_the_fix(s):
    report = diagnose(s.model, s.X_nan, preprocessor=s.scaler)
    assert "nan_without_imputer" in codes(report)
    nan_rows = int(s.X_nan["depth"].isna().sum())
    assert report.fix.parity["passed"] is True  # NaN in the same places as scikit-learn + Keras
    assert report.fix.nonfinite_rows == nan_rows
    assert any("Embedding alone keeps the NaN" in a for a in report.fix.advice)
