"""Transform parity: every parity case, against scikit-learn itself."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_case, model_inputs, sklearn_reference
from parity_cases import CASES, FIT_FLOAT32, PARITY_ONLY

from keras_embed_prep import to_keras
from keras_embed_prep.verify import ATOL, RTOL, as_served, compare

ALL = CASES + PARITY_ONLY + FIT_FLOAT32


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_transform_matches_sklearn(case):
    estimator, X = fit_case(case)
    reference = sklearn_reference(estimator, X)
    model = to_keras(estimator)
    ours = np.asarray(model(model_inputs(X, model)))
    assert ours.dtype == np.float32
    assert ours.shape == reference.shape
    report = compare(ours, reference, rtol=RTOL, atol=ATOL)
    assert report.passed, f"{case.id}\n{report}"


FAILING = [c for c in CASES + PARITY_ONLY if c.failing_rows is not None]


@pytest.mark.parametrize("case", FAILING, ids=[c.id for c in FAILING])
def test_fails_where_sklearn_raises(case):
    import tensorflow as tf

    estimator, _ = fit_case(case)
    bad = case.failing_rows()
    with pytest.raises((ValueError, TypeError)):  # TypeError: pd.NA where it cannot be compared
        estimator.transform(as_served(bad))
    model = to_keras(estimator)
    with pytest.raises(tf.errors.InvalidArgumentError, match=case.failing_match):
        model(model_inputs(bad, model))
