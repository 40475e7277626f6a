"""Every error a user can cause: the package's own class, a message naming the thing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, Normalizer, OneHotEncoder, StandardScaler

from keras_embed_prep import embed, to_inputs, to_keras, verify
from keras_embed_prep.errors import (
    InputError,
    KerasEmbedPrepError,
    NotFittedError,
    ShapeMismatchError,
    UnsupportedEstimatorError,
    UnsupportedParameterError,
)

X = np.arange(24, dtype=float).reshape(8, 3)


def _iterative(**kw):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    X_nan = X.copy()
    X_nan[::3, 1] = np.nan
    return IterativeImputer(random_state=0, **kw).fit(X_nan)


class _Identity(TransformerMixin, BaseEstimator):
    """A user's own transformer that records nothing at fit (no n_features_in_)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def _mlp(width):
    import keras

    return keras.Sequential([keras.Input(shape=(width,)), keras.layers.Dense(1)])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: StandardScaler(), NotFittedError, "StandardScaler is not fitted"),
        (lambda: make_pipeline(StandardScaler(), PCA(2)), NotFittedError, "Pipeline is not fitted"),
        (
            lambda: make_pipeline(StandardScaler(), LogisticRegression()).fit(X, [0, 1] * 4),
            UnsupportedEstimatorError,
            "LogisticRegression has no converter. Supported classes: .*StandardScaler",
        ),
        (lambda: object(), UnsupportedEstimatorError, "builtins.object has no converter"),
        (
            lambda: FunctionTransformer(lambda v: v + 1).fit(X),
            UnsupportedParameterError,
            r"FunctionTransformer\(func='<lambda>.*register_converter",
        ),
        (
            lambda: FunctionTransformer(np.cbrt).fit(X),
            UnsupportedParameterError,
            r"FunctionTransformer\(func='cbrt'\)",
        ),
        (
            lambda: FunctionTransformer(np.log1p, kw_args={"dtype": "float32"}).fit(X),
            UnsupportedParameterError,
            r"FunctionTransformer\(kw_args=",
        ),
        (
            lambda: SimpleImputer(missing_values=0.1).fit(X),
            UnsupportedParameterError,
            r"SimpleImputer\(missing_values=0.1\).*float32",
        ),
        (
            lambda: SimpleImputer(strategy="most_frequent").fit(
                np.array([["a"], ["b"], ["a"]], dtype=object)
            ),
            UnsupportedParameterError,
            r"SimpleImputer outputs text columns.*End the preprocessing with an encoder",
        ),
        (
            lambda: make_pipeline(_Identity(), StandardScaler()).fit(X),
            UnsupportedEstimatorError,
            r"_Identity has no converter",
        ),
        (
            lambda: make_pipeline(StandardScaler().fit(X), LabelEncoder().fit(["a", "b"])),
            UnsupportedEstimatorError,
            r"LabelEncoder does not convert: it encodes targets \(y\).*embed\(\.\.\., target=\.\.\.\)",
        ),
        (
            lambda: _iterative(estimator=KNeighborsRegressor(n_neighbors=2)),
            UnsupportedParameterError,
            r"IterativeImputer\(estimator='KNeighborsRegressor'\) is not supported: only linear regressors",
        ),
        (
            lambda: _iterative(sample_posterior=True),
            UnsupportedParameterError,
            r"IterativeImputer\(sample_posterior=True\)",
        ),
    ],
    ids=[
        "unfitted",
        "unfitted-pipeline",
        "unsupported-step",
        "not-an-estimator",
        "lambda",
        "unlisted-numpy-function",
        "kw-args",
        "missing-value-not-float32",
        "text-output",
        "own-transformer-first-in-a-fitted-pipeline",
        "target-encoder-among-features",
        "iterative-nonlinear-estimator",
        "iterative-sample-posterior",
    ],
)
def test_to_keras_refuses_by_name(make, error, match):
    with pytest.raises(error, match=match) as info:
        to_keras(make())
    assert isinstance(info.value, KerasEmbedPrepError)


def test_embed_width_mismatch_is_caught_before_building():
    scaler = StandardScaler().fit(X)
    with pytest.raises(ShapeMismatchError, match=r"StandardScaler outputs 3 columns but model .* expects 5"):
        embed(_mlp(5), scaler)


def test_embed_refuses_a_model_without_inputs_and_a_non_model():
    import keras

    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(ShapeMismatchError, match="has no defined inputs"):
        embed(unbuilt, StandardScaler().fit(X))
    with pytest.raises(UnsupportedEstimatorError, match="expects a keras.Model"):
        embed(StandardScaler().fit(X), StandardScaler().fit(X))


def test_embed_refuses_an_unsupported_target():
    with pytest.raises(UnsupportedEstimatorError, match=r"target=PCA has no decoder. Supported targets: "):
        embed(_mlp(3), StandardScaler().fit(X), target=PCA(1).fit(X))


def test_to_inputs_wrong_width_and_kind():
    model = to_keras(StandardScaler().fit(X))
    with pytest.raises(InputError, match=r"expects a 2-D array with 3 columns. Received shape \(8, 2\)"):
        to_inputs(X[:, :2], model)
    with pytest.raises(InputError, match="must be numeric"):
        to_inputs(np.array([["a", "b", "c"]], dtype=object), model)


def test_to_inputs_missing_column_and_wrong_dtype_for_named_inputs():
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = to_keras(Normalizer().fit(frame))
    with pytest.raises(InputError, match=r"needs columns \['c'\]"):
        to_inputs(frame[["a", "b"]], model)
    with pytest.raises(InputError, match="Column 'b' must be numeric"):
        to_inputs(frame.assign(b=["x"] * len(frame)), model)
    with pytest.raises(InputError, match="Pass a pandas DataFrame"):
        to_inputs(X, model)


def test_clashing_column_names_are_refused():
    frame = pd.DataFrame(X, columns=["a/b", "a_b", "c"])
    with pytest.raises(UnsupportedParameterError, match=r"Columns \['a/b', 'a_b'\]"):
        to_keras(StandardScaler().fit(frame))


def test_verify_says_why_the_model_refuses_rows():
    frame = pd.DataFrame({"c": ["a", "b"]})
    encoder = OneHotEncoder().fit(frame)
    with pytest.raises(InputError, match=r"refuses some rows.*unknown category in column 0 \(c\)"):
        verify(encoder, to_keras(encoder), pd.DataFrame({"c": ["a", "zz"]}))
