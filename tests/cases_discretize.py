"""Parity cases for KBinsDiscretizer: data, not tests. test_parity.py checks them all.

Same shape as cases_numeric.py: each dataset returns ``(X_fit, X_test)`` in float64
(cases hold the dataset function itself) and the converted model sees ``X_test``
rounded to float32. Besides random rows,
every test set holds, per column, the inner bin edges of every case fitted on that
dataset, rounded to float32 (equal to the edge where it is float32-representable),
and their float32 neighbours: the values where ``searchsorted(side="right")`` and
float32 boundaries disagree.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np
from cases_numeric import Case
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, StandardScaler

N = 256

QUANTILE_METHODS = (
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
)


def _rng(name: str) -> np.random.Generator:
    """A generator seeded from the dataset's name, the same in every process."""
    return np.random.default_rng(sum(map(ord, name)))


def _mixed_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Columns whose bins break naive converters."""
    return np.column_stack(
        [
            rng.normal(size=n),  # plain
            1e6 + 1e-3 * rng.normal(size=n),  # narrow: all edges round to 1e6 in float32
            1e3 + 1e-3 * rng.normal(size=n),  # narrow, finer than float32 edges can say
            np.full(n, 3.25),  # constant: one bin, everything maps to 0
            1e30 * rng.normal(size=n),  # large magnitudes
            rng.normal(size=n) * 10.0 ** rng.integers(-20, 21, size=n),  # 1e-20 .. 1e20
            rng.integers(-5, 6, size=n).astype(float),  # integers: repeated quantiles, bins removed
            np.exp(2.0 * rng.normal(size=n)),  # skewed
            np.where(rng.random(n) < 0.85, 0.0, rng.normal(size=n)),  # mostly zeros: bins removed
        ]
    )


def _ties_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """float32-exact values on coarse grids: edges fall exactly on test values."""
    return np.column_stack(
        [
            rng.integers(-20, 21, size=n) / 8.0,
            rng.integers(0, 10, size=n).astype(float),
            np.round(rng.normal(size=n) * 4.0) / 4.0,
            rng.choice([-1.0, 0.0, 0.5, 2.0, 1024.0], size=n, p=[0.1, 0.4, 0.2, 0.2, 0.1]),
        ]
    )


def _tiny_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Spreads of 1e-9: quantile and kmeans remove every bin (n_bins_ = 0)."""
    return np.column_stack(
        [
            1e-9 * rng.normal(size=n),
            5.0 + 1e-9 * rng.normal(size=n),  # collapses to 5.0 in float32
            rng.normal(size=n),
        ]
    )


def _beyond(fit: np.ndarray) -> np.ndarray:
    """Rows at and outside the fitted range."""
    low, high = fit.min(axis=0), fit.max(axis=0)
    return np.vstack(
        [low, high, high * 3 + 1, low * 3 - 1, np.full_like(low, 1e30), np.full_like(low, -1e30)]
    )


def _edge_probes(data: str, fit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per column: each case's inner edges in float32 and their float32 neighbours."""
    per_column: list[set[float]] = [set() for _ in range(fit.shape[1])]
    for case in CASES:
        if case.data is not DATASETS[data]:
            continue
        estimator = case.make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(fit)
        discretizer = estimator[-1] if hasattr(estimator, "steps") else estimator
        for j, edges in enumerate(discretizer.bin_edges_):
            if edges.size <= 2:
                continue
            if hasattr(estimator, "steps"):  # edges live in the scaled space: map them back
                edges = estimator[:-1].inverse_transform(_column(edges[1:-1], j, fit.shape[1]))[:, j]
            else:
                edges = edges[1:-1]
            e32 = np.asarray(edges, dtype=np.float64).astype(np.float32)
            for v in (e32, np.nextafter(e32, np.float32(np.inf)), np.nextafter(e32, np.float32(-np.inf))):
                per_column[j].update(v.astype(np.float64).tolist())
    width = max(len(values) for values in per_column)
    columns = []
    for j, values in enumerate(per_column):
        values = np.array(sorted(values)) if values else fit[:1, j]
        columns.append(np.concatenate([values, rng.choice(values, width - values.size)]))
    return np.column_stack(columns)


def _column(values: np.ndarray, j: int, n: int) -> np.ndarray:
    """A matrix that holds ``values`` in column ``j`` and zeros elsewhere."""
    out = np.zeros((len(values), n))
    out[:, j] = values
    return out


def _dataset(name: str, draw: Callable[[np.random.Generator, int], np.ndarray]):
    @functools.cache
    def build() -> tuple[np.ndarray, np.ndarray]:
        rng = _rng(name)
        fit = draw(rng, N)
        test = np.vstack([draw(rng, N), fit[:32], _beyond(fit), _edge_probes(name, fit, rng)])
        return fit, test

    def dataset() -> tuple[np.ndarray, np.ndarray]:
        fit, test = build()
        return fit.copy(), test.copy()

    dataset.__name__ = name
    return dataset


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    name: _dataset(name, draw)
    for name, draw in [
        ("kbins_mixed", _mixed_columns),
        ("kbins_ties", _ties_columns),
        ("kbins_tiny", _tiny_columns),
    ]
}
MIXED, TIES, TINY = DATASETS["kbins_mixed"], DATASETS["kbins_ties"], DATASETS["kbins_tiny"]


def _kbins(**params) -> Callable[[], KBinsDiscretizer]:
    return lambda: KBinsDiscretizer(**params)


ENCODES = ("ordinal", "onehot", "onehot-dense")
STRATEGIES = ("uniform", "quantile", "kmeans")

CASES: list[Case] = [
    # every strategy x encode on the adversarial columns
    *[
        Case(f"kbins-{strategy}-{encode}", _kbins(strategy=strategy, encode=encode), MIXED)
        for strategy in STRATEGIES
        for encode in ENCODES
    ],
    # every strategy x encode on grids where edges equal test values exactly
    *[
        Case(
            f"kbins-ties-{strategy}-{encode}",
            _kbins(n_bins=4, strategy=strategy, encode=encode),
            TIES,
        )
        for strategy in STRATEGIES
        for encode in ENCODES
    ],
    # quantile_method only changes fit; each one gives other edges
    *[
        Case(
            f"kbins-quantile-{method}",
            _kbins(n_bins=6, encode="ordinal", quantile_method=method),
            TIES,
        )
        for method in QUANTILE_METHODS
    ],
    Case("kbins-quantile-linear-mixed", _kbins(quantile_method="linear", encode="onehot"), MIXED),
    # a different number of bins per column
    Case(
        "kbins-per-column-quantile",
        _kbins(n_bins=[2, 3, 4, 5, 7, 10, 16, 3, 20], encode="onehot-dense"),
        MIXED,
    ),
    Case(
        "kbins-per-column-kmeans",
        _kbins(n_bins=[3, 2, 6, 4], strategy="kmeans", encode="onehot"),
        TIES,
    ),
    Case(
        "kbins-per-column-uniform",
        _kbins(n_bins=[9, 2, 3, 2, 5, 4, 11, 8, 2], strategy="uniform", encode="ordinal"),
        MIXED,
    ),
    Case("kbins-many-bins", _kbins(n_bins=64, encode="onehot"), MIXED),
    # subsample + random_state (fit only)
    Case("kbins-subsample", _kbins(subsample=64, random_state=0, encode="onehot-dense"), MIXED),
    Case(
        "kbins-subsample-kmeans",
        _kbins(strategy="kmeans", subsample=100, random_state=3, encode="ordinal"),
        MIXED,
    ),
    Case("kbins-subsample-none", _kbins(subsample=None, strategy="uniform", encode="onehot"), MIXED),
    # output dtype: the reference is scikit-learn's output in that dtype
    Case("kbins-dtype-float32-onehot", _kbins(dtype=np.float32, encode="onehot"), MIXED),
    Case("kbins-dtype-float32-ordinal", _kbins(dtype=np.float32, encode="ordinal"), TIES),
    Case(
        "kbins-dtype-float64",
        _kbins(dtype=np.float64, strategy="kmeans", encode="onehot-dense"),
        MIXED,
    ),
    # spreads of 1e-9: every bin removed (ordinal only: scikit-learn cannot fit one-hot there)
    Case("kbins-tiny-quantile", _kbins(encode="ordinal"), TINY),
    Case("kbins-tiny-kmeans", _kbins(strategy="kmeans", encode="ordinal"), TINY),
    Case("kbins-tiny-uniform", _kbins(strategy="uniform", encode="onehot"), TINY),
    # in a pipeline, after a scaler
    Case(
        "kbins-pipeline-scaled",
        lambda: make_pipeline(StandardScaler(), KBinsDiscretizer(n_bins=7, encode="onehot-dense")),
        MIXED,
    ),
]
