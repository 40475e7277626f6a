"""PolynomialFeatures."""

from __future__ import annotations

from sklearn.preprocessing import PolynomialFeatures

from ..blocks import linear
from ..registry import register_converter


@register_converter(
    PolynomialFeatures,
    notes="Any degree (int or (min, max)), interaction_only, include_bias; read from powers_.",
)
def convert_polynomial_features(estimator, x):
    return linear.monomials(x, estimator.powers_)
