"""Decoded targets and SciKeras pipelines: labels exact, units within tolerance, against scikit-learn."""

from __future__ import annotations

import warnings

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
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from keras_embed_prep import embed, to_inputs
from keras_embed_prep.blocks.labels import numpy_argmax
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
        PowerTransformer,
        lambda: PowerTransformer(standardize=False),
        lambda: PowerTransformer(method="box-cox"),
        lambda: QuantileTransformer(n_quantiles=100),
        lambda: QuantileTransformer(n_quantiles=50, output_distribution="normal"),
    ],
    ids=[
        "standard",
        "standard-no-mean",
        "minmax",
        "maxabs",
        "robust",
        "log1p-expm1",
        "identity",
        "yeo-johnson",
        "yeo-johnson-raw",
        "box-cox",
        "quantile-uniform",
        "quantile-normal",
    ],
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


NONLINEAR_TARGETS = {
    "yeo-johnson": (lambda: PowerTransformer(), "signed"),
    "yeo-johnson-raw": (lambda: PowerTransformer(standardize=False), "signed"),
    "box-cox": (lambda: PowerTransformer(method="box-cox"), "positive"),
    "box-cox-raw": (lambda: PowerTransformer(method="box-cox", standardize=False), "positive"),
    "quantile-uniform": (lambda: QuantileTransformer(n_quantiles=100), "signed"),
    "quantile-normal": (
        lambda: QuantileTransformer(n_quantiles=50, output_distribution="normal"),
        "positive",
    ),
}


def _skewed_target(kind, n_columns):
    """Skewed y: one column around 20, one offset far from zero (signed: both cross zero)."""
    rng = np.random.default_rng(7)
    y = np.column_stack([rng.lognormal(3.0, 0.8, 400), 5e5 + 1e3 * rng.gamma(2.0, size=400)])
    if kind == "signed":
        y = y - np.median(y, axis=0)
    return y[:, :n_columns]


def _transformed_grid(target, y):
    """Model outputs: the fitted image of y, a grid three times as wide, and special values."""
    image = target.transform(y)
    lo, hi = image.min(axis=0), image.max(axis=0)
    grid = np.linspace(lo - (hi - lo), hi + (hi - lo), 601)
    special = np.array(
        [0.0, -0.0, 1.0, -1.0, 1e3, -1e3, 1e30, -1e30, np.nan]
    )  # inverse_transform rejects inf
    special = np.repeat(special[:, None], y.shape[1], axis=1)
    return np.concatenate([image, lo[None], hi[None], grid, special]).astype(np.float32)


def _identity_embedding(target, outputs):
    """``embed`` around a model that returns its input: the decoder sees exactly ``outputs``."""
    import keras

    width = outputs.shape[1]
    model = keras.Sequential([keras.Input(shape=(width,)), keras.layers.Identity()])
    return embed(model, FunctionTransformer().fit(outputs), target=target)


def _inverse(target, outputs):
    with warnings.catch_warnings():  # PowerTransformer warns where its inverse is NaN
        warnings.simplefilter("ignore", UserWarning)
        return target.inverse_transform(outputs.astype(np.float64))


@pytest.mark.parametrize("n_columns", [1, 2])
@pytest.mark.parametrize("name", list(NONLINEAR_TARGETS))
def test_nonlinear_targets_match_inverse_transform_beyond_the_fitted_range(name, n_columns):
    make_target, kind = NONLINEAR_TARGETS[name]
    y = _skewed_target(kind, n_columns)
    target = make_target().fit(y)
    outputs = _transformed_grid(target, y)
    full = _identity_embedding(target, outputs)
    ours = np.asarray(full(to_inputs(outputs, full)))
    report = compare(ours, _inverse(target, outputs))
    assert report.passed, str(report)


@pytest.mark.parametrize("name", ["yeo-johnson", "box-cox-raw", "quantile-normal", "quantile-uniform"])
def test_nonlinear_targets_served_as_in_keras(name, tmp_path):
    import keras
    import tensorflow as tf

    from keras_embed_prep import export, signature_keys

    make_target, kind = NONLINEAR_TARGETS[name]
    y = _skewed_target(kind, 2)
    target = make_target().fit(y)
    outputs = _transformed_grid(target, y)
    full = _identity_embedding(target, outputs)
    export(full, tmp_path / "sm")
    serve = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    (key,) = signature_keys(full).values()
    served = serve(**{key: tf.constant(to_inputs(outputs, full))})["output_0"].numpy()
    report = compare(served, _inverse(target, outputs))
    assert report.passed, str(report)
    eager = np.asarray(full(to_inputs(outputs, full)))
    np.testing.assert_array_equal(served, eager)
    full.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(to_inputs(outputs, loaded))), eager)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize(
    ("method", "lambdas"),
    [
        # 0 and 2: exp(x) - 1 and 1 - exp(-x); -0.7 and 3: a negative base (NaN) beyond a bound
        ("yeo-johnson", [0.0, 2.0, -0.7, 3.0, 2**-53, 2.0 - 2**-50]),
        # 0: exp(x); 9 and -9: lambda * x < -1 (NaN) and the huge-product branch
        ("box-cox", [0.0, 5e-20, -0.7, 2.5, 9.0, -9.0]),
    ],
)
def test_power_transformer_target_on_lambda_branch_points(method, lambdas, standardize):
    y = np.abs(np.random.default_rng(3).normal(size=(64, len(lambdas)))) * 3.0 + 0.01
    target = PowerTransformer(method=method, standardize=standardize).fit(y)
    target.lambdas_ = np.array(lambdas)  # set after fit: the scaler keeps its fitted values
    grid = np.linspace(-12.0, 12.0, 481)
    outputs = np.concatenate([grid, [1e30, -1e30, 1e38, np.nan]]).astype(np.float32)
    outputs = np.repeat(outputs[:, None], len(lambdas), axis=1)
    full = _identity_embedding(target, outputs)
    ours = np.asarray(full(to_inputs(outputs, full)))
    reference = _inverse(target, outputs)
    assert np.isnan(reference[:-1]).any() and np.isinf(reference).any()
    report = compare(ours, reference)
    assert report.passed, str(report)


def _float64_model(build, n_columns):
    import keras

    x = keras.Input(shape=(n_columns,), dtype="float64")
    return keras.Model(x, build(x))


def test_inverse_blocks_in_float64():
    from scipy.special import inv_boxcox, ndtr

    from keras_embed_prep.blocks import power as power_blocks
    from keras_embed_prep.blocks import quantile

    lambdas = np.array([0.0, 5e-20, 1e-12, -0.7, 2.5, 9.0, -9.0])
    # 1e308 * 9 overflows: scipy's third branch, exp((log(x + 1/lambda) + log|lambda|) / lambda)
    x = np.concatenate([np.linspace(-5, 5, 1001), [1e308, -1e308, 1e-300, -0.0, 1e3, np.nan]])
    x = np.repeat(x[:, None], lambdas.size, axis=1)
    ours = np.asarray(_float64_model(lambda t: power_blocks.box_cox_inverse(t, lambdas), lambdas.size)(x))
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(ours, inv_boxcox(x, lambdas), rtol=1e-14, atol=0)

    lambdas = np.array([0.0, 2.0, 2**-53, 2.0 - 2**-50, -0.7, 3.0, 0.5, 1.0])
    power = PowerTransformer(standardize=False).fit(np.ones((4, lambdas.size)) + np.arange(4)[:, None])
    power.lambdas_ = lambdas
    x = np.concatenate([np.linspace(-20, 20, 2001), [1e300, -1e300, 1e-300, -1e-300, -0.0, np.nan]])
    x = np.repeat(x[:, None], lambdas.size, axis=1)
    ours = np.asarray(_float64_model(lambda t: power_blocks.yeo_johnson_inverse(t, lambdas), lambdas.size)(x))
    # exp(x) - 1 and 1 - pow(...) cancel near 0: one ulp of exp or pow there is ~1e-13 relative
    np.testing.assert_allclose(ours, _inverse(power, x), rtol=1e-12, atol=0)

    # above -37.5: below it scipy's result is subnormal, which TensorFlow flushes to 0
    x = np.concatenate([np.linspace(-37.5, 40, 7751), [1e300, -1e300, np.nan]])[:, None]
    np.testing.assert_allclose(np.asarray(_float64_model(quantile.normal_cdf, 1)(x)), ndtr(x), rtol=1e-13)


def test_nonlinear_target_refusals():
    y = _skewed_target("positive", 2)
    power = PowerTransformer().fit(y)
    with pytest.raises(ShapeMismatchError, match="fitted on 2 column"):
        embed(_mlp(3, 1), StandardScaler().fit(y[:, :1].repeat(3, axis=1)), target=power)
    power.method = "log"
    with pytest.raises(UnsupportedParameterError, match=r"PowerTransformer\(method='log'\)"):
        embed(_mlp(3, 2), StandardScaler().fit(y[:, :1].repeat(3, axis=1)), target=power)
    quantile = QuantileTransformer(n_quantiles=10).fit(y)
    quantile.output_distribution = "lognormal"
    with pytest.raises(UnsupportedParameterError, match="output_distribution='lognormal'"):
        embed(_mlp(3, 2), StandardScaler().fit(y[:, :1].repeat(3, axis=1)), target=quantile)


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


def test_scaler_target_width_must_match_the_model_output(diabetes):
    X, y = diabetes
    pre = StandardScaler().fit(X)
    with pytest.raises(ShapeMismatchError, match="fitted on 2 column"):
        embed(_mlp(X.shape[1], 1), pre, target=StandardScaler().fit(y))
