"""What holds on JAX without ``JAX_ENABLE_X64``, per converter: measured, not derived.

Converted models compute in float64 between a float32 input and a float32 output. JAX without
``JAX_ENABLE_X64`` makes every float64 array float32 (its only sign is a "float64 truncated"
warning), so a converter whose arithmetic needs float64 (a 1e6 offset subtracted, bin edges,
quantile tables) loses precision there, while copies, comparisons with representable thresholds
and products of small integers stay exact.

The statements below are the measurement of tests/test_backends.py, which replays every numeric
parity case on JAX without x64 (in a fresh process without TensorFlow) and fails when a statement
no longer holds: a converter stated exact must meet the parity rule in every case made only of
exact converters, and one stated lossy must miss it in at least one case. They are shown by
:attr:`keras_embed_prep.registry.SupportedEstimator.jax_without_x64` and in the supported table of
the docs.
"""

from __future__ import annotations

#: Meets the parity rule on JAX without x64 in every parity case.
EXACT = "exact"

#: Class name -> what to expect without x64: "exact", or why it loses and where it still holds.
WITHOUT_X64: dict[str, str] = {
    # exact: copies, comparisons, selections, small products
    "Binarizer": EXACT,
    "MaxAbsScaler": EXACT,
    "SimpleImputer": EXACT,
    "MissingIndicator": EXACT,
    "PolynomialFeatures": EXACT,
    "FunctionTransformer": EXACT,
    "TruncatedSVD": EXACT,
    "TfidfTransformer": EXACT,
    "OneHotEncoder": EXACT,
    "VarianceThreshold": EXACT,
    "GenericUnivariateSelect": EXACT,
    "SelectKBest": EXACT,
    "SelectPercentile": EXACT,
    "SelectFpr": EXACT,
    "SelectFdr": EXACT,
    "SelectFwe": EXACT,
    "SelectFromModel": EXACT,
    "RFE": EXACT,
    "RFECV": EXACT,
    "SequentialFeatureSelector": EXACT,
    # lossy: float64 arithmetic rounded to float32
    "StandardScaler": "loses float64 (the mean subtracted in float32); exact with with_mean=False",
    "RobustScaler": "loses float64 (the median subtracted in float32); exact with with_centering=False",
    "MinMaxScaler": "loses float64 (the minimum subtracted in float32)",
    "Normalizer": "loses float64 (sums of huge and tiny values)",
    "PCA": "loses float64 (the mean subtracted before the projection)",
    "IncrementalPCA": "loses float64 (the mean subtracted before the projection)",
    "KernelPCA": "loses float64 (kernel values against the training rows)",
    "IterativeImputer": "loses float64 in some fits (the chained regressions)",
    "KBinsDiscretizer": "loses float64 (bin edges rounded to float32 put values in the wrong bin)",
    "QuantileTransformer": "loses float64 (the quantile table); a few small fits pass",
    "PowerTransformer": "loses float64 (Yeo-Johnson without standardizing misses on wide ranges)",
    "SplineTransformer": "loses float64 for extrapolation='periodic'; the other extrapolations pass",
}

#: Steps that hold other steps: as exact as the worst of them.
COMPOSITES = frozenset({"Pipeline", "ColumnTransformer", "FeatureUnion"})


def without_x64(name: str) -> str:
    """What class ``name`` gives on JAX without ``JAX_ENABLE_X64``, as stated above."""
    if name in COMPOSITES:
        return "as its worst step"
    return WITHOUT_X64.get(
        name,
        "not measured: set JAX_ENABLE_X64=1, or check the file with verify(..., backend='jax')",
    )
