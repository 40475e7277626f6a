"""Spark ML stages on numbers and vectors: Imputer, the four scalers, Normalizer, ElementwiseProduct,
PCA, PolynomialExpansion, VectorSlicer and the two selectors.

Each converter reads the fitted model's public values and hands them to a block; the arithmetic
is Spark's own (which differs from scikit-learn's: a scaler multiplies by ``1 / std`` and maps a
zero spread to 0, MinMaxScaler maps a constant column to the middle of its range, PCA does not
center), checked against Spark's ``transform`` in tests/spark.
"""

from __future__ import annotations

import numpy as np
from pyspark.ml.feature import (
    ElementwiseProduct,
    ImputerModel,
    MaxAbsScalerModel,
    MinMaxScalerModel,
    Normalizer,
    PCAModel,
    PolynomialExpansion,
    RobustScalerModel,
    StandardScalerModel,
    UnivariateFeatureSelectorModel,
    VarianceThresholdSelectorModel,
    VectorSlicer,
)

from ..blocks import affine, linear
from ..converters._checks import exact_in_float32, refuse
from .frame import SCALAR, VECTOR, Column, input_cols, output_cols, param, register_stage, split


def _vector(stage, frame) -> Column:
    return frame.read(stage, input_cols(stage)[0], (VECTOR,))


def _out(stage, tensor) -> dict:
    return {output_cols(stage)[0]: Column(tensor, VECTOR)}


def _width(values):
    return lambda stage: len(values(stage))


# --- Imputer --------------------------------------------------------------------------------------


@register_stage(
    ImputerModel,
    notes="mean, median, mode (the surrogates Spark fitted); missingValue (a float32-exact value or "
    "NaN). A null and NaN are one value in the model (spark.predict writes a null as NaN): with "
    "missingValue other than NaN a NaN is imputed too, where Spark keeps it. Spark casts the "
    "surrogate to an integer column's type; declare imputed columns as double.",
)
def convert_imputer(estimator, x):
    cols = input_cols(estimator)
    missing = float(param(estimator, "missingValue"))
    exact_in_float32(estimator, "missingValue", missing)
    row = estimator.surrogateDF.collect()[0]  # a Spark job, once, at conversion
    values = x.stacked(estimator, cols, (SCALAR,))
    mask = affine.missing_mask(values, np.nan)
    if not np.isnan(missing):
        mask = mask | affine.missing_mask(values, missing)
    filled = affine.fill_where(values, mask, [float(row[c]) for c in cols])
    return split(filled, output_cols(estimator), SCALAR)


# --- scalers ---------------------------------------------------------------------------------------


def _reciprocal(spread) -> np.ndarray:
    """Spark's scale factors: ``1 / v``, and 0 where ``v == 0``."""
    spread = np.asarray(spread, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(spread == 0, 0.0, 1.0 / spread)


def _scaled(estimator, x, centering: tuple[str, str], scaling: tuple[str, str]):
    """Spark's ``StandardScalerModel.getTransformFunc``: ``(x - shift) * (1 / spread)``, each optional.

    ``centering`` and ``scaling`` name the param that turns a step on and the fitted vector it uses.
    """
    (center_on, center), (scale_on, spread) = centering, scaling
    y = _vector(estimator, x).tensor
    if param(estimator, center_on):
        y = affine.center_scale(y, center=getattr(estimator, center).toArray())
    if param(estimator, scale_on):
        y = affine.scale_shift(y, scale=_reciprocal(getattr(estimator, spread).toArray()))
    return _out(estimator, y)


@register_stage(
    StandardScalerModel,
    notes="withMean, withStd: (x - mean) * (1 / std), Spark's sample std, a zero std scales to 0.",
    reads=_width(lambda s: s.mean.toArray()),
)
def convert_standard_scaler(estimator, x):
    return _scaled(estimator, x, ("withMean", "mean"), ("withStd", "std"))


@register_stage(
    RobustScalerModel,
    notes="withCentering, withScaling, lower, upper: (x - median) * (1 / range), a zero range scales to 0.",
    reads=_width(lambda s: s.median.toArray()),
)
def convert_robust_scaler(estimator, x):
    return _scaled(estimator, x, ("withCentering", "median"), ("withScaling", "range"))


@register_stage(
    MaxAbsScalerModel,
    notes="x * (1 / maxAbs); a column of zeros is left as it is.",
    reads=_width(lambda s: s.maxAbs.toArray()),
)
def convert_max_abs_scaler(estimator, x):
    max_abs = estimator.maxAbs.toArray()
    scale = np.where(max_abs == 0, 1.0, _reciprocal(max_abs))
    return _out(estimator, affine.scale_shift(_vector(estimator, x).tensor, scale=scale))


@register_stage(
    MinMaxScalerModel,
    notes="min, max: (x - originalMin) * ((max - min) / range) + min; a constant column becomes "
    "(max + min) / 2; NaN stays NaN.",
    reads=_width(lambda s: s.originalMin.toArray()),
)
def convert_min_max_scaler(estimator, x):
    low, high = float(param(estimator, "min")), float(param(estimator, "max"))
    original_min = estimator.originalMin.toArray()
    spread = estimator.originalMax.toArray() - original_min
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(spread != 0, (high - low) / spread, 0.0)
    values = _vector(estimator, x).tensor
    y = affine.scale_shift(affine.center_scale(values, center=original_min), scale=scale, shift=low)
    y = affine.fill_where(y, scale == 0, np.full(scale.shape, (high + low) / 2))
    return _out(estimator, affine.keep_nan(values, y))


# --- vectors to vectors ----------------------------------------------------------------------------


@register_stage(Normalizer, notes="Any p >= 1 (1, 2, inf, others); a row of norm 0 is left as it is.")
def convert_normalizer(estimator, x):
    p = float(param(estimator, "p"))
    return _out(estimator, linear.divide_by_p_norm(_vector(estimator, x).tensor, p))


@register_stage(
    ElementwiseProduct,
    notes="x * scalingVec.",
    reads=_width(lambda s: s.getScalingVec().toArray()),
)
def convert_elementwise_product(estimator, x):
    weights = estimator.getScalingVec().toArray()
    return _out(estimator, affine.scale_shift(_vector(estimator, x).tensor, scale=weights))


@register_stage(
    PCAModel,
    notes="pc.T @ x: Spark's PCA projects without centering.",
    reads=lambda s: s.pc.numRows,
)
def convert_pca(estimator, x):
    return _out(estimator, linear.project(_vector(estimator, x).tensor, estimator.pc.toArray().T))


def spark_polynomial_factors(n_features: int, degree: int) -> list[list[int]]:
    """The terms of Spark's ``PolynomialExpansion`` in its output order, as factor column lists.

    Spark expands recursively from the last feature: for ``(x, y)`` and degree 2 the order is
    ``x, x*x, y, x*y, y*y`` (scikit-learn's is ``x, y, x*x, x*y, y*y``). Each term's factors
    are listed in the order Spark multiplies them: the last feature's first.
    """
    terms: list[list[int]] = []

    def expand(last: int, left: int, factors: list[int]) -> None:
        if left == 0 or last < 0:
            terms.append(factors)
            return
        for power in range(left + 1):
            expand(last - 1, left - power, factors + [last] * power)

    expand(n_features - 1, degree, [])
    return terms[1:]  # no constant term


@register_stage(
    PolynomialExpansion,
    notes="degree; Spark's output order (not scikit-learn's), no bias column; a term whose partial "
    "product is 0 is 0 (Spark skips it), even times NaN.",
)
def convert_polynomial_expansion(estimator, x):
    values = _vector(estimator, x).tensor
    n = int(values.shape[-1])
    terms = spark_polynomial_factors(n, int(param(estimator, "degree")))
    factors = np.full((len(terms), max(len(t) for t in terms)), n, dtype=np.int64)
    for j, term in enumerate(terms):
        factors[j, : len(term)] = term
    return _out(estimator, linear.running_products(values, factors))


# --- selecting columns -----------------------------------------------------------------------------


@register_stage(VectorSlicer, notes="indices; names (read from column metadata) are refused.")
def convert_vector_slicer(estimator, x):
    if param(estimator, "names"):
        raise refuse(
            estimator,
            "names",
            param(estimator, "names"),
            "names come from Spark column metadata; use indices.",
        )
    indices = [int(i) for i in param(estimator, "indices")]
    return _out(estimator, affine.take_columns(_vector(estimator, x).tensor, indices))


@register_stage(VarianceThresholdSelectorModel, notes="The selectedFeatures, in column order.")
def convert_variance_threshold_selector(estimator, x):
    return _selected(estimator, x)


@register_stage(
    UnivariateFeatureSelectorModel,
    notes="The selectedFeatures of any featureType, labelType and selectionMode, in column order.",
)
def convert_univariate_feature_selector(estimator, x):
    return _selected(estimator, x)


def _selected(estimator, x):
    indices = sorted(int(i) for i in estimator.selectedFeatures)
    return _out(estimator, affine.take_columns(_vector(estimator, x).tensor, indices))
