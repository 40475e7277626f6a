"""What the parity cases cannot reach: fitted values on scipy's branch points, float64
blocks against numpy / scipy at full precision, and the refusals by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cases_numeric import signed
from scipy.interpolate import BSpline
from scipy.special import boxcox, ndtri
from scipy.stats import yeojohnson
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, SplineTransformer

from keras_embed_prep import to_keras
from keras_embed_prep.blocks import bins, power, quantile, splines
from keras_embed_prep.errors import UnsupportedParameterError
from keras_embed_prep.verify import compare

EPS = np.finfo(np.float64).eps


def _float64_model(build, n_columns: int):
    """A float64-in, float64-out model around one block, to compare without the final cast."""
    import keras

    x = keras.Input(shape=(n_columns,), dtype="float64")
    return keras.Model(x, build(x))


#: lambdas on and next to scipy's thresholds: 0 and 2 (Yeo-Johnson, eps), 0 (Box-Cox, 1e-19)
YEO_JOHNSON_LAMBDAS = [0.0, 2.0, EPS / 2, 2.0 + EPS, 2.0 - 4 * EPS, 3 * EPS, -0.7, 1.0]
BOX_COX_LAMBDAS = [0.0, 5e-20, -5e-20, 2e-19, 1e-12, -0.7, 2.5, 9.0]


@pytest.mark.parametrize(
    ("method", "lambdas"), [("yeo-johnson", YEO_JOHNSON_LAMBDAS), ("box-cox", BOX_COX_LAMBDAS)]
)
@pytest.mark.parametrize("standardize", [False, True])
def test_power_transformer_on_lambda_branch_points(method, lambdas, standardize):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(64, len(lambdas))) * 3.0
    if method == "box-cox":
        X = np.abs(X) + 0.01
    X = X.astype(np.float32).astype(np.float64)
    estimator = PowerTransformer(method=method, standardize=standardize).fit(X)
    estimator.lambdas_ = np.array(lambdas)  # set after fit: the scaler keeps its fitted values
    reference = estimator.transform(X)
    ours = np.asarray(to_keras(estimator)(X.astype(np.float32)))
    report = compare(ours, reference)
    assert report.passed, str(report)


def test_box_cox_block_in_float64_with_expm1_overflow_branch():
    lambdas = np.array([0.0, 5e-20, 2e-19, -0.5, 9.0, -9.0])
    # 2e34: 9 * log(x) = 709.9, past 709.78, where scipy switches to exp(... - log|lambda|)
    x = np.array([[2e34, 2e34, 0.3, 7.0, 2e34, 2e-34], [1.0, 5.0, 1e-300, 1e300, 1.5, 0.5]])
    ours = np.asarray(_float64_model(lambda t: power.box_cox(t, lambdas), 6)(x))
    np.testing.assert_allclose(ours, boxcox(x, lambdas), rtol=1e-14, atol=0)


def test_yeo_johnson_block_in_float64():
    lambdas = np.array(YEO_JOHNSON_LAMBDAS)
    x = signed()[0][:, [0, 1, 2, 0, 1, 2, 0, 1]]
    x[:3] = [[0.0] * 8, [-0.0] * 8, [-1e-300] * 8]
    ours = np.asarray(_float64_model(lambda t: power.yeo_johnson(t, lambdas), 8)(x))
    expected = np.column_stack([yeojohnson(x[:, j], lam) for j, lam in enumerate(lambdas)])
    np.testing.assert_allclose(ours, expected, rtol=1e-14, atol=1e-300)


def test_interpolate_block_matches_numpy_with_repeated_points():
    rng = np.random.default_rng(5)
    xp = np.sort(rng.integers(0, 6, size=(3, 12)).astype(float), axis=1)  # many repeats
    fp = np.sort(rng.random((3, 12)), axis=1)
    x = np.concatenate([xp.T, rng.uniform(-1, 7, size=(200, 3)), [[np.nan] * 3, [np.inf] * 3]])
    ours = np.asarray(_float64_model(lambda t: bins.interpolate(t, xp, fp), 3)(x))
    finite = ~np.isnan(x)
    for j in range(3):
        expected = np.interp(x[finite[:, j], j], xp[j], fp[j])
        np.testing.assert_array_equal(ours[finite[:, j], j], expected)
    assert np.isnan(ours[~finite]).all()


def test_normal_ppf_block_within_1e_11_of_ndtri():
    p = np.concatenate([[1e-7 - EPS, 1e-7, 0.5, 1 - 1e-7], np.linspace(1e-6, 1 - 1e-6, 999)])[:, None]
    ours = np.asarray(_float64_model(quantile.normal_ppf, 1)(p))
    np.testing.assert_allclose(ours, ndtri(p), rtol=0, atol=1e-11)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_bspline_basis_matches_scipy_design_matrix(degree):
    t = np.array([[0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.5, 5.0, 6.0, 7.0, 8.0]])
    x = np.concatenate([t[0], np.linspace(-1.0, 9.0, 101)])[:, None]
    ours = np.asarray(_float64_model(lambda v: splines.bspline_basis(v, t, degree), 1)(x))[:, 0]
    n = t.shape[1] - degree - 1
    expected = BSpline(t[0], np.eye(n), degree, extrapolate=True)(x[:, 0])
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)


def _fitted(estimator):
    X = np.arange(40.0).reshape(20, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X)


@pytest.mark.parametrize(
    ("estimator", "parameter"),
    [
        (SplineTransformer(degree=0, extrapolation="constant"), "degree"),
        (SplineTransformer(degree=0, extrapolation="linear", sparse_output=True), "sparse_output"),
        (
            SplineTransformer(handle_missing="zeros", extrapolation="continue", sparse_output=True),
            "sparse_output",
        ),
        (
            SplineTransformer(handle_missing="zeros", extrapolation="periodic", sparse_output=True),
            "sparse_output",
        ),
        (
            SplineTransformer(handle_missing="zeros", extrapolation="error", sparse_output=True),
            "sparse_output",
        ),
    ],
    ids=["degree0-constant", "degree0-sparse", "sparse-continue", "sparse-periodic", "sparse-error"],
)
def test_refused_by_name(estimator, parameter):
    with pytest.raises(UnsupportedParameterError, match=rf"SplineTransformer\({parameter}="):
        to_keras(_fitted(estimator))


@pytest.mark.parametrize(
    ("estimator", "parameter", "value"),
    [
        (PowerTransformer(), "method", "exp"),
        (QuantileTransformer(n_quantiles=10), "output_distribution", "laplace"),
        (SplineTransformer(), "extrapolation", "mirror"),
        (SplineTransformer(), "handle_missing", "mean"),
    ],
    ids=["power-method", "quantile-output", "spline-extrapolation", "spline-missing"],
)
def test_unknown_option_set_after_fit_is_refused(estimator, parameter, value):
    estimator = _fitted(estimator)
    setattr(estimator, parameter, value)
    with pytest.raises(UnsupportedParameterError, match=rf"\({parameter}='{value}'\)"):
        to_keras(estimator)
