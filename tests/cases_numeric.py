"""Parity cases for the numeric converters: data, not tests. test_parity.py checks them all.

A case is an estimator factory and a dataset name. Each dataset returns
``(X_fit, X_test)`` in float64: the estimator is fitted on ``X_fit`` as a user
would, and the converted model is compared with scikit-learn on ``X_test``
rounded to float32 (the values a converted model receives).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.decomposition import PCA, IncrementalPCA, KernelPCA, TruncatedSVD
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

N = 256


def _rng(name: str) -> np.random.Generator:
    """A generator seeded from the dataset's name, the same in every process."""
    return np.random.default_rng(sum(map(ord, name)))


def _adversarial_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Columns that break naive converters."""
    return np.column_stack(
        [
            rng.normal(size=n),  # plain
            np.full(n, 3.25),  # constant: scale_ must be 1, not 1e-7
            1e6 + rng.normal(size=n),  # offset 1e6, spread 1: float32 arithmetic loses 4e-4
            1e-9 * rng.normal(size=n),  # spread 1e-9 around 0
            5.0 + 1e-9 * rng.normal(size=n),  # spread 1e-9 around 5: collapses in float32
            rng.normal(size=n) * 10.0 ** rng.integers(-20, 21, size=n),  # magnitudes 1e-20 .. 1e20
            rng.integers(-5, 6, size=n).astype(float),  # integers
        ]
    )


def mixed() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng("mixed")
    fit = _adversarial_columns(rng, N)
    test = np.vstack([_adversarial_columns(rng, N), fit[:32], fit.min(axis=0), fit.max(axis=0)])
    # beyond the fitted range, for clip and for extrapolation
    test = np.vstack([test, fit.max(axis=0) * 3 + 1, fit.min(axis=0) * 3 - 1])
    return fit, test


def _with_nan(X: np.ndarray, rng: np.random.Generator, rate: float = 0.15) -> np.ndarray:
    X = X.copy()
    X[rng.random(X.shape) < rate] = np.nan
    return X


def mixed_nan() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng("mixed_nan")
    fit, test = mixed()
    return _with_nan(fit, rng), _with_nan(test, rng)


def mixed_nan_empty() -> tuple[np.ndarray, np.ndarray]:
    """NaN everywhere in column 1 at fit time (an empty feature); test rows have values there."""
    fit, test = mixed_nan()
    fit = fit.copy()
    fit[:, 1] = np.nan
    return fit, test


def sentinel() -> tuple[np.ndarray, np.ndarray]:
    """Integers with -1 as the missing marker and no NaN; column 3 has no -1 at fit."""
    rng = _rng("sentinel")
    fit = rng.integers(-1, 7, size=(N, 4)).astype(float)
    fit[:, 3] = np.abs(fit[:, 3])
    test = rng.integers(-1, 7, size=(N, 4)).astype(float)
    test[:, 3] = np.abs(test[:, 3])
    return fit, test


def dense() -> tuple[np.ndarray, np.ndarray]:
    """Correlated columns with offsets and spreads from 1e-3 to 1e6 (well-conditioned projections)."""
    rng = _rng("dense")

    def draw(n):
        z = rng.normal(size=(n, 3))
        mix = np.array(
            [[1.0, 0.5, 0.0, 2.0, 0.1, 1.0], [0.0, 1.0, 0.3, -1.0, 0.0, 2.0], [0.2, 0.0, 1.0, 0.5, 1.0, 0.0]]
        )
        X = z @ mix + 0.01 * rng.normal(size=(n, 6))
        X[:, 0] = X[:, 0] * 1e-3
        X[:, 3] = X[:, 3] * 1e3 + 1e6
        X[:, 4] = np.round(X[:, 4] * 3)
        return X

    return draw(N), draw(N)


def rows() -> tuple[np.ndarray, np.ndarray]:
    """Rows for Normalizer: zero rows, norms just under and over 10*eps, huge and tiny rows."""
    rng = _rng("rows")
    fit = rng.normal(size=(N, 4))
    special = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [1e-16, 0.0, 0.0, 0.0],  # norm below 10 * eps: divided by 1
            [1e-14, 0.0, -1e-14, 0.0],  # just above
            [1e-20, -1e-20, 1e-20, 0.0],
            [1e20, -3e19, 0.0, 1.0],  # squares overflow float32, not float64
            [3e38, 3e38, -3e38, 1.0],  # near float32 max
            [-1.0, -1.0, -1.0, -1.0],
        ]
    )
    return fit, np.vstack([rng.normal(size=(N, 4)) * 10.0 ** rng.integers(-6, 7, size=(N, 1)), special])


def thresholds() -> tuple[np.ndarray, np.ndarray]:
    """Values exactly on the Binarizer thresholds used below, and next to them."""
    rng = _rng("thresholds")
    fit = rng.normal(size=(N, 3))
    on = np.array([0.0, 0.5, -1e6, 1e6, -0.0])
    near = np.concatenate([np.nextafter(on, np.inf), np.nextafter(on, -np.inf)])
    values = np.concatenate([on, near, rng.normal(size=N)])
    test = np.column_stack([values, values[::-1], rng.permutation(values)])
    return fit, test


def positive() -> tuple[np.ndarray, np.ndarray]:
    """Non-negative values with zeros, tiny and huge magnitudes (for log, sqrt, ...)."""
    rng = _rng("positive")

    def draw(n):
        X = np.abs(rng.normal(size=(n, 4))) * 10.0 ** rng.integers(-8, 9, size=(n, 4))
        X[: n // 16] = 0.0
        return X

    return draw(N), draw(N)


def signed() -> tuple[np.ndarray, np.ndarray]:
    """Values of both signs, moderate magnitudes (exp stays finite) and NaN."""
    rng = _rng("signed")
    return _with_nan(rng.normal(size=(N, 3)) * 5, rng), _with_nan(rng.normal(size=(N, 3)) * 5, rng)


def small() -> tuple[np.ndarray, np.ndarray]:
    """Three columns for polynomial features: plain, integers, offset 1e3."""
    rng = _rng("small")

    def draw(n):
        return np.column_stack([rng.normal(size=n), rng.integers(-3, 4, size=n), 1e3 + rng.normal(size=n)])

    return draw(N), draw(N)


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    f.__name__: f
    for f in (mixed, mixed_nan, mixed_nan_empty, sentinel, dense, rows, thresholds, positive, signed, small)
}


@dataclass(frozen=True)
class Case:
    """An estimator factory and its data: ``(X_fit, X_test)`` arrays or DataFrames."""

    id: str
    make: Callable[[], Any]
    #: a dataset function, or the name of one in DATASETS
    data: str | Callable[[], tuple[Any, Any]]
    #: test rows on which scikit-learn raises and so must the converted model
    failing_rows: Callable[[], Any] | None = None
    #: what the converted model's error message must say for those rows
    failing_match: str = "error_on_new"
    #: targets for supervised transformers, computed from X_fit
    fit_y: Callable[[Any], np.ndarray] | None = None
    #: whether test_roundtrip.py saves, exports and replays it in fresh processes
    roundtrip: bool = True

    def dataset(self) -> tuple[Any, Any]:
        return self.data() if callable(self.data) else DATASETS[self.data]()


def _sentinel_in_clean_column() -> np.ndarray:
    """-1 (missing) in column 3, which had none at fit: MissingIndicator raises."""
    return np.array([[1.0, 2.0, 3.0, -1.0]])


def _ridge_iterative():
    from sklearn.linear_model import Ridge

    return _iterative(
        estimator=Ridge(), imputation_order="descending", initial_strategy="median", max_iter=4
    )()


def _iterative(**kw):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    return lambda: IterativeImputer(random_state=0, **kw)


CASES: list[Case] = [
    # StandardScaler
    Case("standard", StandardScaler, "mixed"),
    Case("standard-nan", StandardScaler, "mixed_nan"),
    Case("standard-no-mean", lambda: StandardScaler(with_mean=False), "mixed"),
    Case("standard-no-std", lambda: StandardScaler(with_std=False), "mixed_nan"),
    Case("standard-identity", lambda: StandardScaler(with_mean=False, with_std=False), "mixed"),
    # MinMaxScaler
    Case("minmax", MinMaxScaler, "mixed"),
    Case("minmax-nan", MinMaxScaler, "mixed_nan"),
    Case("minmax-range", lambda: MinMaxScaler(feature_range=(-3.0, 7.5)), "mixed"),
    Case("minmax-clip", lambda: MinMaxScaler(clip=True), "mixed_nan"),
    Case("minmax-range-clip", lambda: MinMaxScaler(feature_range=(-1, 1), clip=True), "mixed"),
    # MaxAbsScaler
    Case("maxabs", MaxAbsScaler, "mixed"),
    Case("maxabs-nan", MaxAbsScaler, "mixed_nan"),
    Case("maxabs-zero-column", MaxAbsScaler, "positive"),
    # RobustScaler
    Case("robust", RobustScaler, "mixed"),
    Case("robust-nan", RobustScaler, "mixed_nan"),
    Case("robust-no-centering", lambda: RobustScaler(with_centering=False), "mixed"),
    Case("robust-no-scaling", lambda: RobustScaler(with_scaling=False), "mixed"),
    Case("robust-quantile-range", lambda: RobustScaler(quantile_range=(10.0, 90.0)), "mixed_nan"),
    Case("robust-unit-variance", lambda: RobustScaler(unit_variance=True), "mixed"),
    # Normalizer
    Case("normalizer-l2", Normalizer, "rows"),
    Case("normalizer-l1", lambda: Normalizer(norm="l1"), "rows"),
    Case("normalizer-max", lambda: Normalizer(norm="max"), "rows"),
    # Binarizer
    Case("binarizer", Binarizer, "thresholds"),
    Case("binarizer-half", lambda: Binarizer(threshold=0.5), "thresholds"),
    Case("binarizer-large", lambda: Binarizer(threshold=1e6), "thresholds"),
    Case("binarizer-negative", lambda: Binarizer(threshold=-1e6), "thresholds"),
    # SimpleImputer (numbers)
    Case("imputer-mean", SimpleImputer, "mixed_nan"),
    Case("imputer-median", lambda: SimpleImputer(strategy="median"), "mixed_nan"),
    Case("imputer-most-frequent", lambda: SimpleImputer(strategy="most_frequent"), "mixed_nan"),
    Case("imputer-constant", lambda: SimpleImputer(strategy="constant", fill_value=-7.5), "mixed_nan"),
    Case("imputer-indicator", lambda: SimpleImputer(add_indicator=True), "mixed_nan"),
    Case("imputer-empty-dropped", SimpleImputer, "mixed_nan_empty"),
    Case(
        "imputer-empty-kept",
        lambda: SimpleImputer(strategy="median", keep_empty_features=True, add_indicator=True),
        "mixed_nan_empty",
    ),
    Case(
        "imputer-constant-empty",
        lambda: SimpleImputer(strategy="constant", fill_value=2.0),
        "mixed_nan_empty",
    ),
    Case(
        "imputer-sentinel",
        lambda: SimpleImputer(missing_values=-1, strategy="most_frequent", add_indicator=True),
        "sentinel",
    ),
    # MissingIndicator
    Case("indicator-all", lambda: MissingIndicator(features="all"), "mixed_nan"),
    Case("indicator-missing-only", lambda: MissingIndicator(error_on_new=False), "mixed_nan_empty"),
    Case(
        "indicator-error-on-new",
        lambda: MissingIndicator(missing_values=-1),
        "sentinel",
        failing_rows=_sentinel_in_clean_column,
    ),
    # PolynomialFeatures
    Case("poly-2", PolynomialFeatures, "small"),
    Case("poly-3", lambda: PolynomialFeatures(degree=3), "small"),
    Case("poly-interaction", lambda: PolynomialFeatures(degree=3, interaction_only=True), "small"),
    Case("poly-no-bias", lambda: PolynomialFeatures(include_bias=False), "small"),
    Case("poly-range", lambda: PolynomialFeatures(degree=(2, 3)), "small"),
    Case("poly-wide", lambda: PolynomialFeatures(degree=2), "mixed"),
    # IterativeImputer
    Case("iterative", _iterative(), "mixed_nan"),
    Case("iterative-empty-column", _iterative(max_iter=3), "mixed_nan_empty"),
    Case(
        "iterative-clip-indicator", _iterative(min_value=-1.0, max_value=5.0, add_indicator=True), "mixed_nan"
    ),
    Case("iterative-order-ridge", lambda: _ridge_iterative(), "mixed_nan"),
    Case("iterative-zero-iterations", _iterative(max_iter=0), "mixed_nan"),
    Case("iterative-sentinel", _iterative(missing_values=-1.0), "sentinel"),
    # PCA / TruncatedSVD
    Case("pca", lambda: PCA(n_components=3), "dense"),
    Case("pca-all", PCA, "dense"),
    Case("pca-whiten", lambda: PCA(n_components=4, whiten=True), "dense"),
    Case("pca-whiten-rank-deficient", lambda: PCA(whiten=True, svd_solver="covariance_eigh"), "dense"),
    Case("pca-randomized", lambda: PCA(n_components=2, svd_solver="randomized", random_state=0), "dense"),
    Case("incremental-pca", lambda: IncrementalPCA(n_components=3, batch_size=50), "dense"),
    Case("incremental-pca-whiten", lambda: IncrementalPCA(whiten=True), "dense"),
    *[
        Case(
            f"kernel-pca-{kernel}",
            lambda kernel=kernel: make_pipeline(StandardScaler(), KernelPCA(4, kernel=kernel)),
            "dense",
        )
        for kernel in ("linear", "poly", "rbf", "sigmoid", "cosine")
    ],
    Case(
        "kernel-pca-rbf-gamma",
        lambda: make_pipeline(StandardScaler(), KernelPCA(kernel="rbf", gamma=0.3)),
        "dense",
    ),
    Case(
        "kernel-pca-poly-degree",
        lambda: make_pipeline(StandardScaler(), KernelPCA(3, kernel="poly", degree=2, coef0=0.5)),
        "dense",
    ),
    Case("kernel-pca-unscaled-cosine", lambda: KernelPCA(3, kernel="cosine"), "mixed"),
    Case("svd", lambda: TruncatedSVD(n_components=2, random_state=0), "dense"),
    Case("svd-arpack", lambda: TruncatedSVD(n_components=3, algorithm="arpack"), "dense"),
    # FunctionTransformer
    Case("function-identity", FunctionTransformer, "mixed_nan"),
    *[
        Case(f"function-{f.__name__}", lambda f=f: FunctionTransformer(f), data)
        for f, data in [
            (np.log1p, "positive"),
            (np.log, "positive"),
            (np.log2, "positive"),
            (np.log10, "positive"),
            (np.sqrt, "positive"),
            (np.expm1, "signed"),
            (np.exp, "signed"),
            (np.abs, "mixed_nan"),
            (np.square, "signed"),
            (np.sign, "mixed_nan"),
            (np.tanh, "signed"),
            (np.arcsinh, "mixed_nan"),
            (np.negative, "mixed_nan"),
        ]
    ],
    # Pipelines
    Case(
        "pipeline-impute-scale-pca",
        lambda: make_pipeline(SimpleImputer(add_indicator=True), StandardScaler(), PCA(3, whiten=True)),
        "mixed_nan",
    ),
    Case(
        "pipeline-log-poly-minmax",
        lambda: make_pipeline(FunctionTransformer(np.log1p), PolynomialFeatures(2), MinMaxScaler(clip=True)),
        "positive",
    ),
    Case(
        "pipeline-passthrough",
        lambda: Pipeline([("impute", SimpleImputer()), ("skip", "passthrough"), ("scale", RobustScaler())]),
        "mixed_nan",
    ),
    Case(
        "pipeline-nested",
        lambda: make_pipeline(make_pipeline(SimpleImputer(), MaxAbsScaler()), Normalizer()),
        "mixed_nan",
    ),
]
