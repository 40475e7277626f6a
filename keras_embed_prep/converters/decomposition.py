"""PCA, IncrementalPCA and TruncatedSVD: projections onto fitted components; KernelPCA."""

from __future__ import annotations

from sklearn.decomposition import PCA, IncrementalPCA, KernelPCA, TruncatedSVD

from ..blocks import kernels, linear
from ..registry import register_converter
from ._checks import refuse


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


@register_converter(
    KernelPCA,
    notes="kernel='linear', 'poly', 'rbf', 'sigmoid', 'cosine' (gamma_, degree, coef0 as fitted), any "
    "n_components and eigen_solver. The training rows X_fit_ are stored in the model: its size and "
    "time per row grow with them. Callable and precomputed kernels are refused.",
)
def convert_kernel_pca(estimator, x):
    if not isinstance(estimator.kernel, str) or estimator.kernel not in kernels.KERNELS:
        name = getattr(estimator.kernel, "__name__", estimator.kernel)
        raise refuse(estimator, "kernel", name, f"use one of {kernels.KERNELS}.")
    k = kernels.kernel_rows(
        x, estimator.X_fit_, estimator.kernel, estimator.gamma_, estimator.degree, estimator.coef0
    )
    centerer = estimator._centerer  # no public attribute holds the fitted centering
    return kernels.centered_projection(
        k, centerer.K_fit_rows_, centerer.K_fit_all_, estimator.eigenvectors_, estimator.eigenvalues_
    )
