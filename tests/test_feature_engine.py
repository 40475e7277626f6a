"""feature-engine: what is refused, by name, before a model is built."""

from __future__ import annotations

import pytest
from cases_tabular import frame

from keras_embed_prep import to_keras
from keras_embed_prep.errors import UnsupportedEstimatorError, UnsupportedParameterError

fe = pytest.importorskip("feature_engine")

NUMBERS = ["bill length (mm)", "mass/kg"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda m: m.imputation.RandomSampleImputer(), "random draws"),
        (lambda m: m.outliers.OutlierTrimmer(missing_values="ignore"), "drops rows"),
    ],
    ids=["random-sample", "trimmer"],
)
def test_what_cannot_be_repeated_row_by_row_is_refused_by_name(make, reason):
    import feature_engine.imputation
    import feature_engine.outliers

    fit, _ = frame()
    transformer = make(feature_engine).fit(fit[NUMBERS])
    with pytest.raises(
        UnsupportedEstimatorError, match=rf"{type(transformer).__name__} does not convert: .*{reason}"
    ):
        to_keras(transformer)


def test_intervals_as_text_are_refused():
    from feature_engine.discretisation import EqualWidthDiscretiser

    fit, _ = frame()
    transformer = EqualWidthDiscretiser(return_boundaries=True).fit(fit[["mass/kg"]])
    with pytest.raises(UnsupportedParameterError, match=r"EqualWidthDiscretiser\(return_boundaries=True\)"):
        to_keras(transformer)
