"""KNNImputer: the nearest stored training rows by nan-euclidean distance, in the graph."""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.impute import KNNImputer

from ..blocks import affine, checks, neighbors, records
from ..registry import register_converter
from ._checks import check_choice, refuse
from .impute import indicate, numeric_missing_value


@register_converter(
    KNNImputer,
    notes=(
        "metric='nan_euclidean', weights='uniform' or 'distance', any n_neighbors, NaN or a number as "
        "missing_values, add_indicator, keep_empty_features; rows without a donor at a defined distance "
        "get the column's fitted mean, as in scikit-learn. The training rows are stored in the model: "
        "memory and time grow with n_train x n_features (see the limitations page). Fails at inference where "
        "donors tied at the k-th distance hold different values (the pick of scikit-learn among them depends "
        "on numpy and the CPU). Callable weights or metric are refused."
    ),
)
def convert_knn_imputer(estimator, x):
    for name in ("weights", "metric"):
        if callable(getattr(estimator, name)):
            raise refuse(estimator, name, getattr(estimator, name), "callables cannot be converted.")
    check_choice(estimator, "weights", ("uniform", "distance"))
    check_choice(estimator, "metric", ("nan_euclidean",))
    missing_value = numeric_missing_value(estimator)
    missing = affine.missing_mask(x, missing_value)
    fitted, fitted_missing = np.asarray(estimator._fit_X), np.asarray(estimator._mask_fit_X, dtype=bool)
    distances = neighbors.nan_euclidean(x, missing, fitted, fitted_missing)
    imputed, ambiguous = neighbors.donor_average(
        distances, fitted, fitted_missing, int(estimator.n_neighbors), estimator.weights
    )
    y = ops.where(missing, imputed, x)
    invalid = ~np.asarray(estimator._valid_mask, dtype=bool)
    refused = checks.any_infinite(x) if np.isnan(missing_value) else checks.any_not_finite(x)
    y = ops.add(
        y,
        checks.fail_if_any(
            refused,
            "KNNImputer: the input contains infinity (or NaN where "
            "missing_values is a number), which scikit-learn rejects",
        ),
    )
    y = ops.add(
        y,
        checks.fail_if_any(
            ops.any(ops.logical_and(ambiguous, missing), axis=1),
            "KNNImputer: donors tied at the k-th nearest distance hold different values; scikit-learn's "
            "choice among them (np.argpartition) cannot be reproduced",
        ),
    )
    if estimator.keep_empty_features:
        y = affine.fill_where(y, invalid[None], np.zeros(invalid.size))
    else:
        y = affine.take_columns(y, np.flatnonzero(~invalid))
    if estimator.add_indicator:
        y = records.concat([y, indicate(estimator.indicator_, missing)])
    return y
