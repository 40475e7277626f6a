"""Issue 19's table, row for row: None in an object column is not NaN to scikit-learn, nor to the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import model_inputs, sklearn_reference
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from keras_embed_prep import to_inputs, to_keras
from keras_embed_prep.columns import MISSING, NA, NAT, NONE


def _frame(values):
    return pd.DataFrame({"c": pd.Series(values, dtype=object)})


TRAIN = _frame(["a", "a", "b", "b", "b", None, None])
TEST = _frame(["a", "b", None])
TRAIN_BOTH = _frame(["a", "b", "b", None, np.nan])
TEST_BOTH = _frame(["a", None, np.nan])

ROWS = {
    "ordinal-unknown": (
        lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        TRAIN,
        TEST,
        [[0], [1], [2]],
    ),
    "onehot-ignore": (lambda: OneHotEncoder(handle_unknown="ignore"), TRAIN, TEST, np.eye(3)),
    "ordinal-error": (OrdinalEncoder, TRAIN, TEST, [[0], [1], [2]]),
    "ordinal-none-and-nan": (
        lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        TRAIN_BOTH,
        TEST_BOTH,
        [[0], [2], [np.nan]],
    ),
    "impute-then-onehot": (
        lambda: make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
        ),
        _frame(["a", "b", "b"]),
        _frame(["b", None]),
        [[0, 1], [0, 0]],
    ),
}


@pytest.mark.parametrize("name", list(ROWS), ids=list(ROWS))
def test_issue_table(name):
    make, train, test, expected = ROWS[name]
    estimator = make().fit(train)
    reference = sklearn_reference(estimator, test)
    np.testing.assert_array_equal(reference, np.asarray(expected, dtype=np.float64))  # the issue's numbers
    model = to_keras(estimator)
    np.testing.assert_array_equal(np.asarray(model(model_inputs(test, model))), reference)


def test_target_encoder_none_row():
    estimator = TargetEncoder(smooth=0, target_type="continuous").fit(TRAIN, np.arange(7.0))
    model = to_keras(estimator)
    ours = np.asarray(model(model_inputs(TEST, model)))
    assert ours[2, 0] == pytest.approx(5.5)  # the mean of y over the two None rows, as scikit-learn gives
    np.testing.assert_allclose(ours, sklearn_reference(estimator, TEST), rtol=1e-6)


def test_to_inputs_writes_one_marker_per_missing_value():
    estimator = OneHotEncoder(handle_unknown="ignore").fit(_frame(["a", None]))
    model = to_keras(estimator)
    served = _frame(["a", None, np.nan, pd.NA, pd.NaT])
    written = [v.decode() for v in np.asarray(to_inputs(served, model)["c"])]
    assert written == ["a", NONE, MISSING, NA, NAT]
    as_str = pd.DataFrame({"c": pd.Series(["a", None], dtype="str")})  # pandas makes None NaN here
    assert [v.decode() for v in np.asarray(to_inputs(as_str, model)["c"])] == ["a", MISSING]
