"""Parity cases for the nonlinear converters and the feature selectors: data, not tests.

Same shape as cases_numeric.py: each dataset returns ``(X_fit, X_test)`` in float64
and the converted model sees ``X_test`` rounded to float32. Fitted values are
float32-representable, so test rows can equal them exactly; every test set also
holds, per column, the knots and quantiles of every case fitted on that dataset,
rounded to float32, and their float32 neighbours: the values where interval
searches and bounds checks decide.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np
from cases_numeric import DATASETS as SHARED_DATASETS
from cases_numeric import Case, mixed, mixed_nan
from sklearn.feature_selection import (
    RFE,
    RFECV,
    GenericUnivariateSelect,
    SelectFdr,
    SelectFpr,
    SelectFromModel,
    SelectFwe,
    SelectKBest,
    SelectPercentile,
    SequentialFeatureSelector,
    VarianceThreshold,
    f_classif,
    f_regression,
)
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    PowerTransformer,
    QuantileTransformer,
    SplineTransformer,
    StandardScaler,
)

N = 256


def _rng(name: str) -> np.random.Generator:
    """A generator seeded from the dataset's name, the same in every process."""
    return np.random.default_rng(sum(map(ord, name)))


def _f32(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, dtype=np.float64).astype(np.float32).astype(np.float64)


def _grid_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ties, a constant, exact knots and quantiles, and a large offset; all float32-exact."""
    return _f32(
        np.column_stack(
            [
                rng.integers(0, 9, size=n),  # integers 0..8: uniform knots 0, 2, 4, 6, 8
                rng.normal(size=n),  # plain
                np.full(n, 3.25),  # constant
                rng.integers(-32, 33, size=n) / 8.0,  # multiples of 1/8 in [-4, 4]
                1e6 + rng.integers(-64, 65, size=n),  # offset 1e6, spread 64
                np.where(rng.random(n) < 0.7, 0.0, rng.exponential(size=n)),  # mostly zeros
            ]
        )
    )


def _positive_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Strictly positive, skewed, tiny and huge (Box-Cox accepts no zero, no constant)."""
    return _f32(
        np.column_stack(
            [
                rng.lognormal(size=n),  # right-skewed
                1e6 * rng.exponential(size=n) + 1.0,  # large
                1e-6 * rng.uniform(0.1, 1.0, size=n),  # tiny
                rng.integers(1, 11, size=n),  # integers: ties
                10.0 - rng.lognormal(sigma=0.3, size=n).clip(max=9.5),  # left-skewed: lambda > 1
            ]
        )
    )


def _informative_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Eight columns for the selectors: three carry the target, one is constant."""
    X = rng.normal(size=(n, 8))
    X[:, 2] = 7.0  # constant: VarianceThreshold drops it
    X[:, 5] = 1e6 + X[:, 5]
    X[:, 7] = np.round(X[:, 7] * 3)
    return _f32(X)


def regression_target(X: np.ndarray) -> np.ndarray:
    """y for the selectors: columns 1, 4 and 6 matter, plus seeded noise."""
    noise = np.random.default_rng(7).normal(size=len(X))
    return X[:, 1] - 2.0 * X[:, 4] + 0.5 * X[:, 6] + 0.1 * noise


def class_target(X: np.ndarray) -> np.ndarray:
    """Labels 0, 1, 2 from the regression target's terciles."""
    y = regression_target(X)
    return np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))


def _beyond(fit: np.ndarray) -> np.ndarray:
    """Rows at and outside the fitted range, near and far."""
    low, high = np.nanmin(fit, axis=0), np.nanmax(fit, axis=0)
    span = np.maximum(high - low, 1.0)
    return np.vstack(
        [
            low,
            high,
            low - span / 3,
            high + span / 3,
            low - 1e3 * span,
            high + 1e3 * span,
            np.full_like(low, 1e30),
            np.full_like(low, -1e30),
        ]
    )


def _fitted_points(estimator) -> list[np.ndarray] | None:
    """Per column, the values where ``estimator``'s output changes rule."""
    if isinstance(estimator, QuantileTransformer):
        return list(estimator.quantiles_.T)
    if isinstance(estimator, SplineTransformer):
        return [spline.t for spline in estimator.bsplines_]
    if isinstance(estimator, PowerTransformer) and estimator.method == "yeo-johnson":
        return [np.array([0.0])] * estimator.n_features_in_  # the x >= 0 / x < 0 branches
    return None


def _normal32(v: np.ndarray) -> np.ndarray:
    """float32 values with subnormals moved to the smallest normal of their sign.

    TensorFlow on CPU flushes subnormals to zero, so the model reads the float32 neighbours
    of 0 (1.4e-45) as 0 where scikit-learn sees them as positive.
    """
    tiny = np.finfo(np.float32).tiny
    v = v.astype(np.float64)
    return np.where((v != 0) & (np.abs(v) < tiny), np.copysign(tiny, v), v)


def _probes(name: str, fit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per column: fitted knots / quantiles of this dataset's cases in float32, and neighbours."""
    per_column: list[set[float]] = [set() for _ in range(fit.shape[1])]
    for case in CASES:
        if case.data != name or case.fit_y is not None:
            continue
        estimator = case.make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(fit)
        points = _fitted_points(estimator)
        for j, values in enumerate(points or []):
            v32 = np.asarray(values, dtype=np.float64).astype(np.float32)
            for v in (v32, np.nextafter(v32, np.float32(np.inf)), np.nextafter(v32, np.float32(-np.inf))):
                per_column[j].update(_normal32(v).tolist())
    width = max(len(values) for values in per_column)
    if width == 0:
        return np.empty((0, fit.shape[1]))
    columns = []
    for j, values in enumerate(per_column):
        values = np.array(sorted(values)) if values else fit[:1, j]
        columns.append(np.concatenate([values, rng.choice(values, width - values.size)]))
    return np.column_stack(columns)


def _with_nan(X: np.ndarray, rng: np.random.Generator, rate: float = 0.15) -> np.ndarray:
    X = X.copy()
    X[rng.random(X.shape) < rate] = np.nan
    return X


def _dataset(name: str, draw, *, nan: bool = False, inside: bool = False, positive: bool = False):
    """A dataset: fit rows, then fresh rows, fit rows, the fitted range and beyond, probes.

    ``inside`` clips every test value into the fitted range (for estimators that raise
    outside it); ``positive`` keeps only the beyond rows that stay strictly positive.
    """

    @functools.cache
    def build() -> tuple[np.ndarray, np.ndarray]:
        rng = _rng(name)
        fit = draw(rng, N)
        if nan:
            fit = _with_nan(fit, rng)
        beyond = _beyond(fit)
        if positive:
            beyond = np.vstack([np.nanmin(fit, axis=0) / 2, np.nanmax(fit, axis=0) * 2])
        test = np.vstack([draw(rng, N), fit[:64], beyond, _probes(name, fit, rng)])
        if nan:
            test = _with_nan(test, rng)
        if inside:
            test = np.clip(test, np.nanmin(fit, axis=0), np.nanmax(fit, axis=0))
        if positive:  # the probes of the yeo-johnson cases hold 0 and -1.2e-38
            test = np.where(test <= 0, np.finfo(np.float32).tiny, test)
        return fit, test

    def dataset() -> tuple[np.ndarray, np.ndarray]:
        fit, test = build()
        return fit.copy(), test.copy()

    dataset.__name__ = name
    return dataset


def _mixed_finite() -> tuple[np.ndarray, np.ndarray]:
    """cases_numeric.mixed without its last two rows (3x beyond the range), which overflow
    the power transform of its 1e-9-spread column to infinity."""
    fit, test = mixed()
    return fit, test[:-2]


def _mixed_nan_finite() -> tuple[np.ndarray, np.ndarray]:
    """cases_numeric.mixed_nan without its last two rows, as in _mixed_finite."""
    fit, test = mixed_nan()
    return fit, test[:-2]


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "nl_grid": _dataset("nl_grid", _grid_columns),
    "nl_grid_nan": _dataset("nl_grid_nan", _grid_columns, nan=True),
    "nl_grid_inside": _dataset("nl_grid_inside", _grid_columns, inside=True),
    "nl_grid_nan_inside": _dataset("nl_grid_nan_inside", _grid_columns, nan=True, inside=True),
    "nl_positive": _dataset("nl_positive", _positive_columns, positive=True),
    "nl_positive_nan": _dataset("nl_positive_nan", _positive_columns, nan=True, positive=True),
    "nl_informative": _dataset("nl_informative", _informative_columns),
    "nl_mixed_finite": _mixed_finite,
    "nl_mixed_nan_finite": _mixed_nan_finite,
}
if set(DATASETS) & set(SHARED_DATASETS):
    raise ValueError(f"dataset names taken twice: {sorted(set(DATASETS) & set(SHARED_DATASETS))}")
SHARED_DATASETS.update(DATASETS)


def _grid_knots(n_knots: int) -> np.ndarray:
    """Explicit knots for the nl_grid columns (one period per column for 'periodic')."""
    return np.column_stack(
        [
            np.linspace(0.0, 8.0, n_knots),
            np.linspace(-2.0, 2.0, n_knots),
            np.linspace(3.0, 3.5, n_knots),
            np.linspace(-4.0, 4.0, n_knots),
            np.linspace(1e6 - 64, 1e6 + 64, n_knots),
            np.linspace(0.0, 2.0, n_knots),
        ]
    )


def _outside_row() -> np.ndarray:
    """One value above the last knot (column 0 ends at 8): extrapolation='error' raises."""
    return np.array([[9.0, 0.0, 3.25, 0.0, 1e6, 0.0]])


def _nan_row() -> np.ndarray:
    return np.array([[1.0, 0.0, 3.25, np.nan, 1e6, 0.0]])


def _non_positive_rows() -> np.ndarray:
    return np.array([[1.0, 2e6, 5e-7, 0.0, 9.0], [1.0, 2e6, -1e-7, 3.0, 9.0]])


def _overflow_row() -> np.ndarray:
    """3x beyond the fitted range of mixed: the power transform overflows to infinity."""
    return mixed()[1][-2:-1]


def _spline(**params) -> Callable[[], SplineTransformer]:
    return lambda: SplineTransformer(**params)


def _quantile(**params) -> Callable[[], QuantileTransformer]:
    return lambda: QuantileTransformer(**params)


EXTRAPOLATIONS = ("constant", "linear", "continue", "periodic")

POWER_CASES: list[Case] = [
    Case("power-yeo-johnson", PowerTransformer, "nl_mixed_finite"),
    Case("power-yeo-johnson-raw", lambda: PowerTransformer(standardize=False), "mixed"),
    Case("power-yeo-johnson-nan", PowerTransformer, "nl_mixed_nan_finite"),
    Case("power-yeo-johnson-raw-nan", lambda: PowerTransformer(standardize=False), "mixed_nan"),
    Case("power-yeo-johnson-signed", PowerTransformer, "signed"),
    Case("power-yeo-johnson-grid", lambda: PowerTransformer(standardize=False), "nl_grid"),
    Case("power-yeo-johnson-positive", PowerTransformer, "nl_positive"),
    Case(
        "power-yeo-johnson-overflow",
        PowerTransformer,
        "nl_mixed_finite",
        failing_rows=_overflow_row,
        failing_match="overflowed to infinity",
    ),
    Case(
        "power-box-cox",
        lambda: PowerTransformer(method="box-cox"),
        "nl_positive",
        failing_rows=_non_positive_rows,
        failing_match="strictly positive",
    ),
    Case("power-box-cox-raw", lambda: PowerTransformer(method="box-cox", standardize=False), "nl_positive"),
    Case("power-box-cox-nan", lambda: PowerTransformer(method="box-cox"), "nl_positive_nan"),
]

QUANTILE_CASES: list[Case] = [
    Case("quantile-uniform", QuantileTransformer, "mixed"),
    Case("quantile-normal", _quantile(output_distribution="normal"), "mixed"),
    Case("quantile-uniform-nan", _quantile(n_quantiles=100), "mixed_nan"),
    Case("quantile-normal-nan", _quantile(output_distribution="normal", n_quantiles=100), "mixed_nan"),
    Case("quantile-uniform-grid", QuantileTransformer, "nl_grid"),
    Case("quantile-normal-grid", _quantile(output_distribution="normal"), "nl_grid"),
    Case("quantile-uniform-grid-10", _quantile(n_quantiles=10), "nl_grid"),
    Case("quantile-normal-grid-5", _quantile(n_quantiles=5, output_distribution="normal"), "nl_grid"),
    Case("quantile-uniform-grid-nan", _quantile(n_quantiles=17), "nl_grid_nan"),
    Case("quantile-normal-grid-nan", _quantile(output_distribution="normal"), "nl_grid_nan"),
    Case("quantile-uniform-1", _quantile(n_quantiles=1), "nl_grid"),
    Case("quantile-normal-1", _quantile(n_quantiles=1, output_distribution="normal"), "nl_grid"),
    Case("quantile-uniform-2", _quantile(n_quantiles=2), "nl_grid"),
    Case("quantile-normal-2", _quantile(n_quantiles=2, output_distribution="normal"), "mixed"),
    Case(
        "quantile-subsample",
        _quantile(n_quantiles=50, subsample=100, random_state=0, output_distribution="normal"),
        "nl_grid",
    ),
    Case("quantile-positive", _quantile(n_quantiles=200), "nl_positive"),
]

SPLINE_CASES: list[Case] = [
    # every extrapolation x degree x knots on the grid (degree 0 'constant' is refused)
    *[
        Case(
            f"spline-{extrapolation}-degree{degree}-{knots}",
            _spline(extrapolation=extrapolation, degree=degree, knots=knots, n_knots=5),
            "nl_grid",
        )
        for extrapolation in EXTRAPOLATIONS
        for degree in (0, 1, 2, 3)
        for knots in ("uniform", "quantile")
        if not (degree == 0 and extrapolation == "constant")
    ],
    *[
        Case(
            f"spline-error-degree{degree}-{knots}",
            _spline(extrapolation="error", degree=degree, knots=knots, n_knots=4),
            "nl_grid_inside",
            failing_rows=_outside_row,
            failing_match="beyond the limits of the knots",
        )
        for degree in (1, 2, 3)
        for knots in ("uniform", "quantile")
    ],
    *[
        Case(
            f"spline-{extrapolation}-no-bias",
            _spline(extrapolation=extrapolation, include_bias=False, n_knots=6),
            "nl_grid",
        )
        for extrapolation in EXTRAPOLATIONS
    ],
    *[
        Case(
            f"spline-{extrapolation}-nan-zeros",
            _spline(extrapolation=extrapolation, handle_missing="zeros", knots="quantile"),
            "nl_grid_nan",
        )
        for extrapolation in EXTRAPOLATIONS
    ],
    Case(
        "spline-error-nan-zeros",
        _spline(extrapolation="error", handle_missing="zeros", degree=2),
        "nl_grid_nan_inside",
        failing_rows=_outside_row,
        failing_match="beyond the limits of the knots",
    ),
    Case(
        "spline-missing-error",
        _spline(degree=2),
        "nl_grid",
        failing_rows=_nan_row,
        failing_match="handle_missing=error: the input contains NaN",
    ),
    *[
        Case(
            f"spline-{extrapolation}-knots-array",
            _spline(extrapolation=extrapolation, knots=_grid_knots(7)),
            "nl_grid",
        )
        for extrapolation in EXTRAPOLATIONS
    ],
    Case(
        "spline-periodic-knots-array-deg1",
        _spline(extrapolation="periodic", knots=_grid_knots(4), degree=1),
        "nl_grid",
    ),
    Case("spline-linear-mixed", _spline(extrapolation="linear", knots="quantile"), "mixed"),
    Case("spline-continue-mixed", _spline(extrapolation="continue", n_knots=3), "mixed"),
    Case("spline-constant-mixed", _spline(n_knots=8, degree=2), "mixed"),
    Case("spline-periodic-mixed", _spline(extrapolation="periodic", knots="quantile"), "mixed"),
    Case("spline-many-knots", _spline(n_knots=40, extrapolation="linear"), "nl_grid"),
    Case("spline-order-f", _spline(order="F", knots="quantile"), "nl_grid"),
    Case("spline-sparse-linear", _spline(extrapolation="linear", sparse_output=True), "nl_grid"),
    Case(
        "spline-sparse-constant-nan",
        _spline(sparse_output=True, handle_missing="zeros", degree=1),
        "nl_grid_nan",
    ),
    Case("spline-sparse-continue", _spline(extrapolation="continue", sparse_output=True), "nl_grid"),
]

SELECTION_CASES: list[Case] = [
    Case("variance-threshold", VarianceThreshold, "mixed"),
    Case("variance-threshold-nan", VarianceThreshold, "mixed_nan"),
    Case("variance-threshold-1", lambda: VarianceThreshold(threshold=1.0), "nl_informative"),
    Case(
        "select-k-best",
        lambda: SelectKBest(f_regression, k=3),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "select-k-best-all",
        lambda: SelectKBest(f_classif, k="all"),
        "nl_informative",
        fit_y=class_target,
    ),
    Case(
        "select-k-best-none",
        lambda: SelectKBest(f_regression, k=0),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "select-percentile",
        lambda: SelectPercentile(f_classif, percentile=30),
        "nl_informative",
        fit_y=class_target,
    ),
    Case(
        "select-fpr", lambda: SelectFpr(f_regression, alpha=0.01), "nl_informative", fit_y=regression_target
    ),
    Case("select-fdr", lambda: SelectFdr(f_classif, alpha=0.01), "nl_informative", fit_y=class_target),
    Case(
        "select-fwe", lambda: SelectFwe(f_regression, alpha=0.01), "nl_informative", fit_y=regression_target
    ),
    Case(
        "generic-univariate-k-best",
        lambda: GenericUnivariateSelect(f_regression, mode="k_best", param=2),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "generic-univariate-fwe",
        lambda: GenericUnivariateSelect(f_classif, mode="fwe", param=0.05),
        "nl_informative",
        fit_y=class_target,
    ),
    Case(
        "select-from-model-lasso",
        lambda: SelectFromModel(Lasso(alpha=0.1)),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "select-from-model-max-features",
        lambda: SelectFromModel(LinearRegression(), threshold=-np.inf, max_features=2),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "select-from-model-logistic-median",
        lambda: SelectFromModel(LogisticRegression(max_iter=500), threshold="median"),
        "nl_informative",
        fit_y=class_target,
    ),
    Case(
        "rfe",
        lambda: RFE(LinearRegression(), n_features_to_select=3),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "rfe-step",
        lambda: RFE(LogisticRegression(max_iter=500), n_features_to_select=0.5, step=2),
        "nl_informative",
        fit_y=class_target,
    ),
    Case("rfecv", lambda: RFECV(LinearRegression(), cv=3), "nl_informative", fit_y=regression_target),
    Case(
        "sequential-forward",
        lambda: SequentialFeatureSelector(LinearRegression(), n_features_to_select=3, cv=3),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "sequential-backward",
        lambda: SequentialFeatureSelector(LinearRegression(), direction="backward", tol=-1e-3, cv=3),
        "nl_informative",
        fit_y=regression_target,
    ),
]

PIPELINE_CASES: list[Case] = [
    Case(
        "pipeline-scale-select-power",
        lambda: make_pipeline(StandardScaler(), SelectKBest(f_regression, k=4), PowerTransformer()),
        "nl_informative",
        fit_y=regression_target,
    ),
    Case(
        "pipeline-quantile-spline",
        lambda: make_pipeline(QuantileTransformer(n_quantiles=50), SplineTransformer(degree=2)),
        "nl_grid",
    ),
    Case(
        "pipeline-variance-quantile-normal",
        lambda: make_pipeline(VarianceThreshold(), QuantileTransformer(output_distribution="normal")),
        "mixed_nan",
    ),
]

CASES: list[Case] = [*POWER_CASES, *QUANTILE_CASES, *SPLINE_CASES, *SELECTION_CASES, *PIPELINE_CASES]

__all__ = ["CASES", "DATASETS", "class_target", "regression_target"]
