"""The Spark pipelines under test, as data: each parity case is an output column of one of them.

Two wide pipelines are fitted once: ``keep`` (every stage that keeps invalid rows, scored on the
dirty rows) and ``error`` (``handleInvalid="error"``, scored on the clean rows). Each case converts
the pipeline with ``to_keras(model, output_col=...)``, which keeps only the stages that column needs.
"""

from __future__ import annotations

from dataclasses import dataclass

INF = float("inf")


@dataclass(frozen=True)
class Case:
    id: str
    pipeline: str  # "keep" or "error"
    column: str
    exact: bool = False


def keep_stages():
    from pyspark.ml.feature import (
        PCA,
        Binarizer,
        Bucketizer,
        ElementwiseProduct,
        Imputer,
        MaxAbsScaler,
        MinMaxScaler,
        Normalizer,
        OneHotEncoder,
        PolynomialExpansion,
        QuantileDiscretizer,
        RobustScaler,
        StandardScaler,
        StringIndexer,
        UnivariateFeatureSelector,
        VarianceThresholdSelector,
        VectorAssembler,
        VectorSlicer,
    )
    from pyspark.ml.linalg import Vectors

    keep = {"handleInvalid": "keep"}
    return [
        Imputer(inputCols=["a", "b"], outputCols=["a_mean", "b_mean"]),
        Imputer(inputCols=["a"], outputCols=["a_median"], strategy="median"),
        Imputer(inputCols=["b"], outputCols=["b_mode"], strategy="mode"),
        VectorAssembler(inputCols=["a_mean", "b_mean", "k"], outputCol="v", **keep),
        VectorAssembler(inputCols=["c", "b_mean", "a_mean"], outputCol="vz", **keep),
        VectorAssembler(inputCols=["a", "c"], outputCol="v_nan", **keep),
        StandardScaler(inputCol="v", outputCol="s_std"),
        StandardScaler(inputCol="v", outputCol="s_mean_std", withMean=True),
        StandardScaler(inputCol="v", outputCol="s_mean", withMean=True, withStd=False),
        MinMaxScaler(inputCol="v", outputCol="minmax", min=-1.0, max=2.0),
        MaxAbsScaler(inputCol="vz", outputCol="maxabs"),
        RobustScaler(inputCol="v", outputCol="robust"),
        RobustScaler(inputCol="v", outputCol="robust_centered", withCentering=True, lower=0.1, upper=0.9),
        Normalizer(inputCol="v", outputCol="norm_1", p=1.0),
        Normalizer(inputCol="v", outputCol="norm_2"),
        Normalizer(inputCol="v_nan", outputCol="norm_inf_nan", p=INF),
        Normalizer(inputCol="vz", outputCol="norm_3", p=3.0),
        PolynomialExpansion(inputCol="v", outputCol="poly_2"),
        PolynomialExpansion(inputCol="vz", outputCol="poly_3", degree=3),
        PolynomialExpansion(inputCol="v_nan", outputCol="poly_2_nan"),
        ElementwiseProduct(inputCol="v", outputCol="product", scalingVec=Vectors.dense([2.0, -0.5, 0.0])),
        PCA(inputCol="vz", outputCol="pca", k=2),
        VectorSlicer(inputCol="vz", outputCol="slice", indices=[2, 0]),
        VarianceThresholdSelector(featuresCol="v", outputCol="variance", varianceThreshold=0.5),
        UnivariateFeatureSelector(featuresCol="vz", outputCol="univariate", labelCol="y")
        .setSelectionThreshold(2)
        .setFeatureType("continuous")
        .setLabelType("categorical"),
        StringIndexer(inputCols=["color", "size"], outputCols=["color_fd", "size_fd"], **keep),
        StringIndexer(inputCol="color", outputCol="color_fa", stringOrderType="frequencyAsc", **keep),
        StringIndexer(inputCol="color", outputCol="color_ad", stringOrderType="alphabetDesc", **keep),
        StringIndexer(inputCol="size", outputCol="size_aa", stringOrderType="alphabetAsc", **keep),
        OneHotEncoder(inputCols=["color_fd", "size_fd"], outputCols=["color_oh", "size_oh"], **keep),
        OneHotEncoder(inputCol="color_ad", outputCol="color_oh_full", dropLast=False, **keep),
        Bucketizer(splits=[-INF, -5.0, 0.0, 5.0, INF], inputCol="a_mean", outputCol="a_bin"),
        Bucketizer(
            splitsArray=[[-INF, 0.0, INF], [0.0, 1.0, 2.5, 5.0]],
            inputCols=["c", "b_mean"],
            outputCols=["c_bin", "b_bin"],
            **keep,
        ),
        QuantileDiscretizer(numBuckets=3, inputCol="b_mean", outputCol="b_quantile", **keep),
        Binarizer(threshold=2.5, inputCol="b_mean", outputCol="b_binary"),
        Binarizer(thresholds=[0.0, 1.0], inputCols=["a_mean", "c"], outputCols=["a_binary", "c_binary"]),
        Binarizer(threshold=-1.0, inputCol="v_nan", outputCol="v_nan_binary"),
        VectorAssembler(
            inputCols=["a_bin", "color_oh", "size_oh", "s_std", "b_binary", "c"],
            outputCol="features",
            **keep,
        ),
    ]


def error_stages():
    from pyspark.ml.feature import Bucketizer, Imputer, OneHotEncoder, StringIndexer, VectorAssembler

    return [
        StringIndexer(inputCol="color", outputCol="color_e"),
        OneHotEncoder(inputCol="color_e", outputCol="color_e_oh", dropLast=False),
        VectorAssembler(inputCols=["c", "k"], outputCol="v_e"),
        Bucketizer(splits=[-INF, 0.0, INF], inputCol="c", outputCol="c_bin_e"),
        Imputer(inputCols=["c"], outputCols=["c_minus2"], missingValue=-2.0),
        VectorAssembler(inputCols=["color_e_oh", "v_e", "c_bin_e", "c_minus2"], outputCol="features_e"),
    ]


_EXACT = {"color_fd", "size_fd", "color_fa", "color_ad", "size_aa", "color_oh", "size_oh", "color_oh_full"}
_EXACT |= {"a_bin", "c_bin", "b_bin", "b_quantile", "b_binary", "a_binary", "c_binary", "v_nan_binary"}
_EXACT |= {"color_e", "color_e_oh", "c_bin_e"}

CASES = [
    Case(c, "keep", c, c in _EXACT)
    for c in [
        "a_mean", "b_mean", "a_median", "b_mode", "v", "v_nan", "s_std", "s_mean_std", "s_mean", "minmax",
        "maxabs", "robust", "robust_centered", "norm_1", "norm_2", "norm_inf_nan", "norm_3", "poly_2",
        "poly_3", "poly_2_nan", "product", "pca", "slice", "variance", "univariate", "color_fd", "size_fd",
        "color_fa", "color_ad", "size_aa", "color_oh", "size_oh", "color_oh_full", "a_bin", "c_bin",
        "b_bin", "b_quantile", "b_binary", "a_binary", "c_binary", "v_nan_binary", "features",
    ]
] + [
    Case(f"error-{c}", "error", c, c in _EXACT)
    for c in ["color_e", "color_e_oh", "v_e", "c_bin_e", "c_minus2", "features_e"]
]  # fmt: skip
