"""The registry: coverage by parity cases, converter signatures, exact-class lookup."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from parity_cases import CASES, PARITY_ONLY
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from keras_embed_prep import register_converter, supported_estimators, to_keras
from keras_embed_prep.errors import UnsupportedEstimatorError
from keras_embed_prep.registry import CONVERTER_PARAMETERS, unregister_converter


def _classes_in(estimator):
    """The estimator's class and, for composites, its steps' classes."""
    yield type(estimator)
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:
            if step is not None and step != "passthrough":
                yield from _classes_in(step)


def _sklearn_entries():
    """Registered scikit-learn classes (Spark ML stages have their own cases, in tests/spark)."""
    return [e for e in supported_estimators() if not e.module.startswith("pyspark.")]


def test_every_registered_class_has_a_parity_case():
    covered = {cls for case in CASES + PARITY_ONLY for cls in _classes_in(case.make())}
    missing = [e.name for e in _sklearn_entries() if e.estimator_class not in covered]
    assert not missing, f"registered without a parity case: {missing}"


@pytest.mark.parametrize("entry", _sklearn_entries(), ids=lambda e: e.name)
def test_converter_signature(entry):
    assert tuple(inspect.signature(entry.converter).parameters) == CONVERTER_PARAMETERS
    assert entry.notes, f"{entry.name} has no notes for the supported-estimators table"
    packages = ("sklearn.", "category_encoders.", "feature_engine.")
    assert entry.module.startswith(packages) and "._" not in entry.module


def test_case_ids_are_unique():
    ids = [c.id for c in CASES + PARITY_ONLY]
    assert len(ids) == len(set(ids))


def test_register_rejects_a_drifted_signature():
    class Thing:
        pass

    with pytest.raises(TypeError, match=r"\('estimator', 'x'\)"):

        @register_converter(Thing)
        def convert(est, tensor):  # wrong parameter names
            return tensor


def test_subclass_is_not_converted_as_its_parent():
    class MyScaler(StandardScaler):
        def transform(self, X, copy=None):
            return super().transform(X) * 2

    est = MyScaler().fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(UnsupportedEstimatorError, match="MyScaler has no converter"):
        to_keras(est)


def test_third_party_converter_plugs_in():
    from sklearn.base import BaseEstimator, TransformerMixin

    from keras_embed_prep.blocks import affine

    class Shift(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.offset_ = np.asarray(X).mean(axis=0)
            self.n_features_in_ = np.asarray(X).shape[1]
            return self

        def transform(self, X):
            return np.asarray(X) - self.offset_

    @register_converter(Shift, notes="test-only")
    def convert_shift(estimator, x):
        return affine.center_scale(x, center=estimator.offset_)

    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    est = Shift().fit(X)
    np.testing.assert_allclose(np.asarray(to_keras(est)(X.astype(np.float32))), est.transform(X))
    # test-only registration: remove it so the coverage test above stays about built-ins
    from keras_embed_prep import registry

    registry.unregister_converter(Shift)


def test_every_preprocessing_class_converts_or_says_why_not():
    from keras_embed_prep.registry import unsupported_estimators

    missing = unsupported_estimators()
    without_reason = [name for name, reason in missing.items() if reason == "no converter yet"]
    assert not without_reason, (
        f"sklearn.preprocessing classes with neither converter nor reason: {without_reason}"
    )
    assert {"LabelEncoder", "KernelCenterer"} <= set(missing)
    assert "StandardScaler" not in missing


def test_supported_estimators_state_what_holds_on_jax_without_x64():
    states = {e.name: e.jax_without_x64 for e in supported_estimators() if e.module.startswith("sklearn.")}
    assert states["MaxAbsScaler"] == "exact"
    assert states["StandardScaler"].startswith("loses float64")
    assert states["Pipeline"] == "as its worst step"

    class MaxAbsScaler:  # another package's class of the same name: not what was measured
        pass

    register_converter(MaxAbsScaler)(lambda estimator, x: x)
    try:
        entry = next(e for e in supported_estimators() if e.estimator_class is MaxAbsScaler)
        assert entry.jax_without_x64.startswith("not measured")
    finally:
        unregister_converter(MaxAbsScaler)
