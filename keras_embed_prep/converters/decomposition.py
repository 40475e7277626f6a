"""PCA, IncrementalPCA and TruncatedSVD: projections onto fitted components."""

from __future__ import annotations

from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD

from ..blocks import linear
from ..registry import register_converter


@register_converter(
    IncrementalPCA, notes="Any n_components and batch_size; whiten=True (PCA's transform, as fitted)."
)
@register_converter(PCA, notes="Any solver and n_components; whiten=True.")
def convert_pca(estimator, x):
    return linear.project(
        x,
        estimator.components_,
        mean=estimator.mean_,
        whiten_variance=estimator.explained_variance_ if estimator.whiten else None,
    )


@register_converter(TruncatedSVD, notes="Any algorithm and n_components (x @ components_.T).")
def convert_truncated_svd(estimator, x):
    return linear.project(x, estimator.components_)
