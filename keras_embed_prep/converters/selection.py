"""Feature selectors: every one keeps the columns of ``get_support()``, in order."""

from __future__ import annotations

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
)

from ..blocks import affine
from ..registry import register_converter

SELECTORS = (
    VarianceThreshold,
    SelectKBest,
    SelectPercentile,
    SelectFpr,
    SelectFdr,
    SelectFwe,
    GenericUnivariateSelect,
    SelectFromModel,
    RFE,
    RFECV,
    SequentialFeatureSelector,
)

NOTES = (
    "Any parameters: keeps the columns of get_support(indices=True) as one gather "
    "(none selected: an output of width 0, as in scikit-learn). Values pass through "
    "unchanged, NaN included."
)


def convert_selector(estimator, x):
    return affine.take_columns(x, estimator.get_support(indices=True))


for _selector in SELECTORS:
    register_converter(_selector, notes=NOTES)(convert_selector)
