"""Kernels against stored training rows (KernelPCA): the kernel matrix, its centering, the projection."""

from __future__ import annotations

import numpy as np
from keras import ops

from .floats import f64
from .linear import normalize_rows, project

#: The kernels :func:`kernel_rows` computes, as ``pairwise_kernels`` names them.
KERNELS = ("linear", "poly", "rbf", "sigmoid", "cosine")


def kernel_rows(x, fitted, kernel: str, gamma: float, degree: float, coef0: float):
    """``pairwise_kernels(x, fitted, metric=kernel)`` in float64, in scikit-learn's order of operations.

    ``fitted`` (the training rows) is a float64 ``Dense`` weight: memory and time grow with
    its rows. ``rbf`` is ``exp(-gamma * max(-2 x.y + |x|^2 + |y|^2, 0))`` as
    ``euclidean_distances`` computes it; ``cosine`` normalizes both sides (rows below
    10 * eps count as norm 1, as ``normalize`` does) before the dot product.
    """
    fitted = f64(fitted)
    if kernel == "cosine":
        from sklearn.preprocessing import normalize

        return project(normalize_rows(x, "l2"), normalize(fitted))
    dot = project(x, fitted)
    if kernel == "linear":
        return dot
    if kernel in ("poly", "sigmoid"):
        k = ops.add(ops.multiply(dot, np.float64(gamma)), np.float64(coef0))
        return ops.power(k, np.float64(degree)) if kernel == "poly" else ops.tanh(k)
    if kernel == "rbf":
        squared = ops.sum(ops.multiply(x, x), axis=1, keepdims=True)
        # (batch, 1) first: Keras' TensorFlow add takes a (batch, 1) second operand for a bias along
        # the last axis when the batch size equals the width (eagerly), which is wrong here.
        distances = ops.add(squared, ops.multiply(dot, np.float64(-2.0)))
        distances = ops.add(distances, f64(np.einsum("ij,ij->i", fitted, fitted)))
        # where, not maximum: Keras computes maximum in float32 on PyTorch; NaN stays NaN either way
        distances = ops.where(ops.less(distances, np.float64(0.0)), np.float64(0.0), distances)
        return ops.exp(ops.multiply(distances, np.float64(-gamma)))
    raise ValueError(f"kernel must be one of {KERNELS}. Received: {kernel!r}.")  # converters validate first


def centered_projection(k, fit_rows, fit_all: float, eigenvectors, eigenvalues):
    """``KernelCenterer.transform(k) @ scaled_alphas``, the last steps of ``KernelPCA.transform``.

    Centering subtracts the fitted column means ``fit_rows``, then each row's mean, and adds
    the fitted grand mean ``fit_all``; the eigenvectors of nonzero eigenvalues are divided by
    ``sqrt(eigenvalue)``, those of zero eigenvalues give zeros.
    """
    n_fit = int(np.asarray(fit_rows).shape[0])
    row_means = ops.divide(ops.sum(k, axis=1, keepdims=True), np.float64(n_fit))
    centered = ops.add(ops.subtract(ops.subtract(k, f64(fit_rows)), row_means), np.float64(fit_all))
    # in the fitted dtype, as scikit-learn scales them (float32 for a model fitted on float32 data)
    eigenvectors, eigenvalues = np.asarray(eigenvectors), np.asarray(eigenvalues)
    nonzero = np.flatnonzero(eigenvalues)
    alphas = np.zeros_like(eigenvectors)
    alphas[:, nonzero] = eigenvectors[:, nonzero] / np.sqrt(eigenvalues[nonzero])
    return project(centered, alphas.T)
