"""Transform parity: every parity case, against scikit-learn itself."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_case, sklearn_reference
from parity_cases import CASES

from keras_embed_prep import to_keras
from keras_embed_prep.verify import ATOL, RTOL, compare


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_transform_matches_sklearn(case):
    estimator, X32 = fit_case(case)
    reference = sklearn_reference(estimator, X32)
    ours = np.asarray(to_keras(estimator)(X32))
    assert ours.dtype == np.float32
    assert ours.shape == reference.shape
    report = compare(ours, reference, rtol=RTOL, atol=ATOL)
    assert report.passed, f"{case.id}\n{report}"


FAILING = [c for c in CASES if c.failing_rows is not None]


@pytest.mark.parametrize("case", FAILING, ids=[c.id for c in FAILING])
def test_fails_where_sklearn_raises(case):
    import tensorflow as tf

    estimator, _ = fit_case(case)
    bad = case.failing_rows().astype(np.float32)
    with pytest.raises(ValueError):
        estimator.transform(bad.astype(np.float64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="error_on_new"):
        to_keras(estimator)(bad)
