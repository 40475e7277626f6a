"""Decoded targets and SciKeras pipelines: labels exact, units within tolerance, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    LabelBinarizer,
    LabelEncoder,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)

from keras_embed_prep import embed, to_inputs
from keras_embed_prep.blocks import numpy_argmax
from keras_embed_prep.errors import ShapeMismatchError, UnsupportedEstimatorError, UnsupportedParameterError
from keras_embed_prep.verify import as_served, compare


def _mlp(width_in, width_out, activation=None, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(width_in,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(width_out, activation=activation),
        ]
    )


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, np.column_stack([y, y * 1e3 + 5e5])  # two outputs, one offset far from zero


@pytest.mark.parametrize(
    "make_target",
    [
        StandardScaler,
        lambda: StandardScaler(with_mean=False),
        lambda: MinMaxScaler(feature_range=(-1, 1)),
        MaxAbsScaler,
        lambda: RobustScaler(quantile_range=(10, 90)),
        lambda: FunctionTransformer(np.log1p, inverse_func=np.expm1),
        FunctionTransformer,
    ],
    ids=["standard", "standard-no-mean", "minmax", "maxabs", "robust", "log1p-expm1", "identity"],
)
def test_regression_outputs_come_back_in_original_units(diabetes, make_target):
    X, y = diabetes
    pre = StandardScaler().fit(X)
    target = make_target().fit(y)
    model = _mlp(X.shape[1], 2)
    full = embed(model, pre, target=target)
    ours = np.asarray(full(to_inputs(X, full)))
    scaled = np.asarray(model(pre.transform(as_served(X)).astype(np.float32)))
    reference = target.inverse_transform(scaled.astype(np.float64))
    assert compare(ours, reference).passed, str(compare(ours, reference))


def test_numpy_argmax_semantics_on_ties_and_nan():
    import keras

    scores = np.array(
        [
            [0.2, 0.5, 0.5],
            [np.nan, 0.9, np.nan],
            [0.1, np.nan, 0.9],
            [-np.inf] * 3,
            [0.3, 0.3, 0.3],
            [1, 2, 3],
        ],
        dtype=np.float32,
    )
    x = keras.Input(shape=(3,))
    model = keras.Model(x, numpy_argmax(x))
    np.testing.assert_array_equal(np.asarray(model(scores)), np.argmax(scores, axis=1))


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    return X, names


@pytest.mark.parametrize("kind", ["label-encoder", "label-binarizer", "one-hot"])
def test_multiclass_labels_decode_as_numpy_argmax(iris, kind):
    X, names = iris
    pre = StandardScaler().fit(X)
    target = {
        "label-encoder": lambda: LabelEncoder().fit(names),
        "label-binarizer": lambda: LabelBinarizer().fit(names),
        "one-hot": lambda: OneHotEncoder().fit(names.reshape(-1, 1)),
    }[kind]()
    model = _mlp(4, 3, activation="softmax")
    full = embed(model, pre, target=target)
    out = full(to_inputs(X, full))
    proba = np.asarray(model(pre.transform(as_served(X)).astype(np.float32)))
    np.testing.assert_allclose(np.asarray(out["probabilities"]), proba, rtol=1e-6)
    labels = np.array([v.decode() for v in np.asarray(out["label"])], dtype=object)
    if kind == "one-hot":
        expected = target.inverse_transform(np.eye(3)[np.argmax(proba, axis=1)]).ravel()
    else:
        expected = target.inverse_transform(
            np.argmax(proba, axis=1) if kind == "label-encoder" else np.eye(3)[np.argmax(proba, axis=1)]
        )
    np.testing.assert_array_equal(labels, expected)


def test_binary_sigmoid_with_integer_labels(iris):
    X, names = iris
    y = np.where(names == "setosa", 7, 3)
    pre = StandardScaler().fit(X)
    for target in (LabelEncoder().fit(y), LabelBinarizer().fit(y)):
        model = _mlp(4, 1, activation="sigmoid", seed=3)
        full = embed(model, pre, target=target)
        out = full(to_inputs(X, full))
        p = np.asarray(model(pre.transform(as_served(X)).astype(np.float32)))
        expected = target.inverse_transform(
            (p[:, 0] > 0.5).astype(int) if isinstance(target, LabelEncoder) else p
        )
        assert np.asarray(out["label"]).dtype == np.int64
        np.testing.assert_array_equal(np.asarray(out["label"]), expected)


def test_target_errors_name_the_problem(iris):
    X, names = iris
    pre = StandardScaler().fit(X)
    with pytest.raises(ShapeMismatchError, match="3 classes but the model outputs 2 columns"):
        embed(_mlp(4, 2), pre, target=LabelEncoder().fit(names))
    with pytest.raises(UnsupportedEstimatorError, match="target=PCA has no decoder"):
        from sklearn.decomposition import PCA

        embed(_mlp(4, 2), pre, target=PCA(2).fit(X))
    with pytest.raises(UnsupportedParameterError, match=r"FunctionTransformer\(inverse_func="):
        embed(_mlp(4, 1), pre, target=FunctionTransformer(np.log1p, inverse_func=np.cbrt).fit(X[:, :1]))
    with pytest.raises(UnsupportedEstimatorError, match="SciKeras"):
        embed(make_pipeline(StandardScaler()).fit(X))


def test_scikeras_pipeline_embeds_with_one_call(iris, tmp_path):
    scikeras = pytest.importorskip("scikeras.wrappers")
    import keras
    import tensorflow as tf

    from keras_embed_prep import export, signature_keys

    X, names = iris

    def build(meta):
        model = keras.Sequential(
            [
                keras.Input(shape=(meta["n_features_in_"],)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return model

    keras.utils.set_random_seed(0)
    pipeline = make_pipeline(
        StandardScaler(), scikeras.KerasClassifier(build, epochs=5, verbose=0, random_state=0)
    ).fit(X, names)
    full = embed(pipeline)
    export(full, tmp_path / "sm")
    serve = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    (key,) = signature_keys(full).values()
    out = serve(**{key: tf.constant(to_inputs(as_served(X), full))})
    labels = np.array([v.decode() for v in out["label"].numpy()], dtype=object)
    np.testing.assert_array_equal(labels, pipeline.predict(as_served(X)))


def test_scikeras_regressor(diabetes):
    scikeras = pytest.importorskip("scikeras.wrappers")
    import keras

    X, y = diabetes

    def build(meta):
        model = _mlp(meta["n_features_in_"], 1)
        model.compile(loss="mse", optimizer="adam")
        return model

    keras.utils.set_random_seed(0)
    pipeline = make_pipeline(StandardScaler(), scikeras.KerasRegressor(build, epochs=2, verbose=0)).fit(
        X, y[:, 0]
    )
    full = embed(pipeline)
    ours = np.asarray(full(to_inputs(X, full)))
    assert compare(ours, pipeline.predict(as_served(X))).passed
