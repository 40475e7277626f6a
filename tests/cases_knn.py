"""Parity cases for KNNImputer: distances to the stored rows, donors, ties, rows without a donor.

The data are continuous and float32-representable (so a served copy of a training row is at
distance 0), with duplicated training rows (ties whose donors agree), a column present only
in rows where every other column is missing (test rows there have no donor at a defined
distance and get the fitted mean) and, for some cases, a column all-missing at fit.
``ROUND_TRIP`` names the one case the fresh-process round trips replay.
"""

from __future__ import annotations

import numpy as np
from cases_numeric import Case
from sklearn.impute import KNNImputer

N = 160
ROUND_TRIP = "knn-default"


def _draw(rng: np.random.Generator, n: int) -> np.ndarray:
    X = rng.normal(size=(n, 5)) * [1.0, 10.0, 100.0, 0.01, 1.0] + [0.0, -5.0, 1e3, 0.0, 0.0]
    X[rng.random(X.shape) < 0.2] = np.nan
    lonely = rng.random(n) < 0.08  # column 4 only: no coordinate in common with the others' donors
    X[lonely, :4] = np.nan
    X[~lonely, 4] = np.nan
    return X.astype(np.float32).astype(np.float64)


def knn_rows(empty_column: bool = False, sentinel: float | None = None):
    def data():
        rng = np.random.default_rng(31)
        fit = _draw(rng, N)
        fit = np.vstack([fit, fit[:12]])  # duplicated rows: tied donors with the same values
        test = np.vstack([_draw(rng, N), fit[:16], [[np.nan, np.nan, np.nan, np.nan, 0.5]]])
        if empty_column:
            fit, test = np.column_stack([fit, np.full(len(fit), np.nan)]), np.column_stack([test, test[:, 0]])
        if sentinel is not None:
            fit, test = np.where(np.isnan(fit), sentinel, fit), np.where(np.isnan(test), sentinel, test)
        return fit, test

    return data


def _float32(data):
    def cast():
        fit, test = data()
        return fit.astype(np.float32), test.astype(np.float32)

    return cast


CASES: list[Case] = [
    Case("knn-default", KNNImputer, knn_rows()),
    Case("knn-distance", lambda: KNNImputer(weights="distance", n_neighbors=3), knn_rows()),
    Case("knn-one-neighbor", lambda: KNNImputer(n_neighbors=1), knn_rows()),
    Case("knn-more-neighbors-than-rows", lambda: KNNImputer(n_neighbors=500), knn_rows()),
    Case("knn-empty-dropped-indicator", lambda: KNNImputer(add_indicator=True), knn_rows(empty_column=True)),
    Case(
        "knn-empty-kept",
        lambda: KNNImputer(keep_empty_features=True, n_neighbors=2),
        knn_rows(empty_column=True),
    ),
    Case("knn-sentinel", lambda: KNNImputer(missing_values=-1.0, n_neighbors=4), knn_rows(sentinel=-1.0)),
    Case("knn-fit-float32", lambda: KNNImputer(weights="distance"), _float32(knn_rows())),
]
