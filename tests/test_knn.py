"""KNNImputer: what cannot be reproduced is refused, at conversion or at inference."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.impute import KNNImputer

from keras_embed_prep import to_keras
from keras_embed_prep.errors import UnsupportedParameterError


def test_donors_tied_at_the_kth_distance_with_different_values_fail_at_inference():
    import tensorflow as tf

    # rows 0-3 are all at distance 1 from the query on column 0; their column-1 values differ,
    # so which two of them np.argpartition takes decides scikit-learn's answer
    fit = np.array([[0.0, 1.0], [2.0, 5.0], [0.0, 9.0], [2.0, 13.0], [7.0, 0.0]])
    query = np.array([[1.0, np.nan]], dtype=np.float32)
    imputer = KNNImputer(n_neighbors=2).fit(fit)
    assert imputer.transform(query)[0, 1] in {3.0, 5.0, 7.0, 9.0, 11.0}  # an average of two of them
    model = to_keras(imputer)
    with pytest.raises(tf.errors.InvalidArgumentError, match="donors tied at the k-th nearest distance"):
        model(query)
    untied = np.array([[0.0, np.nan]], dtype=np.float32)  # the same rows, but two are nearest
    np.testing.assert_allclose(np.asarray(model(untied)), imputer.transform(untied), rtol=1e-6)


@pytest.mark.parametrize("parameter", ["weights", "metric"])
def test_callables_are_refused_by_name(parameter):
    imputer = KNNImputer(**{parameter: lambda *a: None}).fit(np.eye(3))
    with pytest.raises(UnsupportedParameterError, match=rf"KNNImputer\({parameter}="):
        to_keras(imputer)
