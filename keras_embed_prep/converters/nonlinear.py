"""PowerTransformer, QuantileTransformer and SplineTransformer: per-column nonlinear maps."""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, SplineTransformer

from ..blocks import affine, checks, power, quantile, splines
from ..registry import register_converter
from ._checks import check_choice, refuse

POWER_METHODS = ("yeo-johnson", "box-cox")
OUTPUT_DISTRIBUTIONS = ("uniform", "normal")
EXTRAPOLATIONS = ("error", "constant", "linear", "continue", "periodic")
MISSING_POLICIES = ("error", "zeros")


@register_converter(
    PowerTransformer,
    notes=(
        "method='yeo-johnson' and 'box-cox' with scipy's own branches (lambda near 0, near 2, "
        "x >= 0 / x < 0, expm1 overflow), standardize=True/False. standardize reads mean_ and "
        "scale_ of the private _scaler, the only place scikit-learn keeps them. Fails at "
        "inference where scikit-learn raises: box-cox on values <= 0, and standardize=True "
        "where the power transform overflows to infinity. Computed as scikit-learn does on "
        "float64 input."
    ),
)
def convert_power_transformer(estimator, x):
    invalid = None
    if estimator.method == "yeo-johnson":
        y = power.yeo_johnson(x, estimator.lambdas_)
    elif estimator.method == "box-cox":
        y = power.box_cox(x, estimator.lambdas_)
        invalid = checks.any_at_most(x, 0.0)
        y = ops.add(
            y,
            checks.fail_if_any(
                invalid,
                "PowerTransformer with method=box-cox: the Box-Cox transformation can only be "
                "applied to strictly positive data",
            ),
        )
    else:
        raise refuse(estimator, "method", estimator.method, f"use one of {POWER_METHODS}.")
    if estimator.standardize:
        overflow = checks.any_infinite(y)
        if invalid is not None:  # scikit-learn rejects those rows first, with its own message
            overflow = ops.logical_and(overflow, ops.logical_not(invalid))
        y = ops.add(
            y,
            checks.fail_if_any(
                overflow,
                "PowerTransformer with standardize=True: the power transform overflowed to "
                "infinity, where scikit-learn's StandardScaler raises",
            ),
        )
        scaler = estimator._scaler  # no public attribute holds the fitted standardization
        y = affine.center_scale(y, center=scaler.mean_, scale=scaler.scale_)
    return y


@register_converter(
    QuantileTransformer,
    notes=(
        "output_distribution='uniform' and 'normal', any n_quantiles, subsample and random_state "
        "(fit only); read from quantiles_ and references_. scikit-learn's averaged up/down "
        "interpolation, bounds (1e-7 for 'normal') and clipping; the normal quantile is "
        "sqrt(2) * erfinv(2p - 1) in float64 (within 1e-11 of scipy's ndtri). NaN stays NaN. "
        "Matches scikit-learn on float64 input: on float32 input scikit-learn computes its "
        "1e-7 bounds in float32, which differs for constant columns. ignore_implicit_zeros "
        "only acts on sparse input; converted models take dense input."
    ),
)
def convert_quantile_transformer(estimator, x):
    check_choice(estimator, "output_distribution", OUTPUT_DISTRIBUTIONS)
    return quantile.quantile_transform(
        x, estimator.quantiles_, estimator.references_, estimator.output_distribution
    )


@register_converter(
    SplineTransformer,
    notes=(
        "Any n_knots, knots ('uniform', 'quantile', array), degree, include_bias, order; "
        "extrapolation 'constant', 'linear', 'continue', 'periodic', and 'error' (fails at "
        "inference beyond the knots, as scikit-learn raises); handle_missing='zeros', and "
        "'error' (fails at inference on NaN or infinity). Read from bsplines_ (knots t, "
        "coefficients c). Output is dense; sparse_output=True gives the same values. Refused: "
        "degree=0 with extrapolation='constant' (scikit-learn's transform raises above the last "
        "knot); sparse_output=True with degree=0, or with handle_missing='zeros' and "
        "extrapolation 'continue', 'periodic' or 'error' (scikit-learn's sparse output does not "
        "zero missing values past the first column)."
    ),
)
def convert_spline_transformer(estimator, x):
    _check_spline_parameters(estimator)
    bsplines = estimator.bsplines_
    degree = int(bsplines[0].k)
    knots = np.stack([s.t for s in bsplines])
    y = splines.spline_features(x, knots, np.stack([s.c for s in bsplines]), degree, estimator.extrapolation)
    if estimator.handle_missing == "error":
        y = ops.add(
            y,
            checks.fail_if_any(
                checks.any_not_finite(x),
                "SplineTransformer with handle_missing=error: the input contains NaN or infinity",
            ),
        )
    if estimator.extrapolation == "error":
        lo, hi = knots[:, degree], knots[:, knots.shape[1] - degree - 1]
        y = ops.add(
            y,
            checks.fail_if_any(
                checks.any_outside(x, lo, hi),
                "SplineTransformer with extrapolation=error: X contains values beyond the "
                "limits of the knots",
            ),
        )
    if not estimator.include_bias:
        n_splines = bsplines[0].c.shape[1]
        y = affine.take_columns(y, [j for j in range(int(y.shape[-1])) if (j + 1) % n_splines])
    return y


def _check_spline_parameters(estimator) -> None:
    if estimator.extrapolation not in EXTRAPOLATIONS:
        raise refuse(estimator, "extrapolation", estimator.extrapolation, f"use one of {EXTRAPOLATIONS}.")
    if estimator.handle_missing not in MISSING_POLICIES:
        raise refuse(estimator, "handle_missing", estimator.handle_missing, f"use one of {MISSING_POLICIES}.")
    if estimator.degree == 0 and estimator.extrapolation == "constant":
        raise refuse(
            estimator,
            "degree",
            estimator.degree,
            "with extrapolation='constant', scikit-learn's transform raises on any value above "
            "the last knot. Use degree >= 1 or another extrapolation.",
        )
    if estimator.sparse_output and (
        estimator.degree == 0
        or (
            estimator.handle_missing == "zeros"
            and estimator.extrapolation in ("continue", "periodic", "error")
        )
    ):
        raise refuse(
            estimator,
            "sparse_output",
            estimator.sparse_output,
            "scikit-learn's sparse output differs from its dense output here (degree=0 raises; "
            "with handle_missing='zeros', missing values past the first column are not zeroed). "
            "Use sparse_output=False: the converted model's output is dense anyway.",
        )
