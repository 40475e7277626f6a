"""Parity cases for the feature-engine package, on the penguin-like frames of cases_tabular.

feature-engine returns DataFrames: columns transformed in place, others passed through (text
included, inside a Pipeline), dummies and indicators appended. The test rows hold unseen
categories, None and NaN. ``ROUND_TRIP`` names the one case the fresh-process round trips
replay. Empty when the package is not installed.
"""

from __future__ import annotations

import importlib.util

from cases_numeric import Case
from cases_tabular import _cols, _target_y, frame, frame_known, frame_unseen_rows
from sklearn.pipeline import make_pipeline

ROUND_TRIP = "fe-impute-rare-onehot"
NUMBERS = ["bill length (mm)", "mass/kg", "year", "code"]
POSITIVE = ["mass/kg", "year"]


def _fe(module: str, name: str, **params):
    def make():
        return getattr(importlib.import_module(f"feature_engine.{module}"), name)(**params)

    return make


def _pipe(*steps):
    return lambda: make_pipeline(*(step() for step in steps))


def _no_bool():
    """The tabular frame without its boolean column (feature-engine counts bool as neither kind)."""
    fit, test = frame()
    return fit.drop(columns="flag"), test.drop(columns="flag")


def _cases() -> list[Case]:
    binary, continuous = _target_y("binary"), _target_y("continuous")
    ordinal_encode = _fe(
        "encoding", "OrdinalEncoder", encoding_method="arbitrary", unseen="encode", missing_values="ignore"
    )
    return [
        Case(
            "fe-mean-imputer-then-ordinal",
            _pipe(_fe("imputation", "MeanMedianImputer", imputation_method="median"), ordinal_encode),
            _no_bool,
        ),
        Case(
            "fe-arbitrary-imputer",
            _fe("imputation", "ArbitraryNumberImputer", arbitrary_number=-9),
            lambda: _cols(frame, NUMBERS),
        ),
        Case(
            "fe-end-tail-imputer",
            _fe("imputation", "EndTailImputer", tail="left", fold=2),
            lambda: _cols(frame, NUMBERS),
        ),
        Case(
            "fe-add-missing-indicator",
            _pipe(_fe("imputation", "AddMissingIndicator"), _fe("imputation", "MeanMedianImputer")),
            lambda: _cols(frame, NUMBERS),
        ),
        Case(
            ROUND_TRIP,
            _pipe(
                _fe("imputation", "CategoricalImputer", imputation_method="frequent"),
                _fe("encoding", "RareLabelEncoder", tol=0.1, n_categories=2),
                _fe("encoding", "OneHotEncoder", drop_last_binary=True),
            ),
            _no_bool,
        ),
        Case(
            "fe-rare-missing-ignore-count",
            _pipe(
                _fe("encoding", "RareLabelEncoder", tol=0.1, n_categories=2, missing_values="ignore"),
                _fe(
                    "encoding",
                    "CountFrequencyEncoder",
                    encoding_method="frequency",
                    unseen="encode",
                    missing_values="ignore",
                ),
            ),
            _no_bool,
        ),
        Case(
            "fe-ordinal-unseen-raise",
            _pipe(
                _fe("imputation", "CategoricalImputer"),
                _fe("encoding", "OrdinalEncoder", encoding_method="ordered", unseen="raise"),
            ),
            lambda: _cols(frame_known, ["island", "sex", "mass/kg"]),
            fit_y=continuous,
            failing_rows=lambda: frame_unseen_rows()[["island", "sex", "mass/kg"]].assign(sex="unseen"),
            failing_match="OrdinalEncoder: a category not seen at fit in column sex",
        ),
        Case(
            "fe-mean-encoder",
            _fe("encoding", "MeanEncoder", smoothing=1.0, missing_values="ignore"),
            _no_bool,
            fit_y=continuous,
        ),
        Case(
            "fe-woe",
            _pipe(
                _fe("imputation", "CategoricalImputer"),
                _fe("encoding", "WoEEncoder", variables=["island", "sex"], fill_value=0.1),
            ),
            lambda: _cols(frame_known, ["island", "sex", "mass/kg"]),
            fit_y=binary,
        ),
        Case(
            "fe-log-10",
            _fe("transformation", "LogTransformer", base="10"),
            lambda: _cols(frame, POSITIVE),
            failing_rows=lambda: frame_unseen_rows()[POSITIVE].assign(year=0),
            failing_match="LogTransformer: zero or negative values",
        ),
        Case(
            "fe-log-cp", _fe("transformation", "LogCpTransformer", C="auto"), lambda: _cols(frame, POSITIVE)
        ),
        Case("fe-power", _fe("transformation", "PowerTransformer", exp=0.5), lambda: _cols(frame, POSITIVE)),
        Case("fe-reciprocal", _fe("transformation", "ReciprocalTransformer"), lambda: _cols(frame, POSITIVE)),
        Case(
            "fe-yeo-johnson",
            _fe("transformation", "YeoJohnsonTransformer"),
            lambda: _cols(frame, ["code", "year"]),
        ),
        Case("fe-box-cox", _fe("transformation", "BoxCoxTransformer"), lambda: _cols(frame, POSITIVE)),
        Case(
            "fe-winsorizer-indicators",
            _fe(
                "outliers", "Winsorizer", tail="both", fold=1.5, add_indicators=True, missing_values="ignore"
            ),
            lambda: _cols(frame, NUMBERS),
        ),
        Case(
            "fe-arbitrary-capper",
            _fe(
                "outliers",
                "ArbitraryOutlierCapper",
                max_capping_dict={"code": 4},
                min_capping_dict={"year": 2008},
            ),
            lambda: _cols(frame, ["code", "year"]),
        ),
        Case(
            "fe-discretisers",
            _pipe(
                _fe("discretisation", "EqualWidthDiscretiser", bins=5, variables=["mass/kg"]),
                _fe("discretisation", "EqualFrequencyDiscretiser", q=4, variables=["year"]),
                _fe("discretisation", "GeometricWidthDiscretiser", bins=3, variables=["code2"]),
            ),
            lambda: _cols(frame, ["mass/kg", "year", "code"], rename=["mass/kg", "year", "code2"]),
        ),
        Case(
            "fe-arbitrary-discretiser-outside",
            _fe("discretisation", "ArbitraryDiscretiser", binning_dict={"code": [-1, 0, 5, 7]}),
            lambda: _cols(frame, ["code", "year"]),
        ),
        Case(
            "fe-drop-features",
            _pipe(
                _fe("selection", "DropFeatures", features_to_drop=["year"]),
                _fe("selection", "DropConstantFeatures", tol=0.9, missing_values="ignore"),
            ),
            lambda: _cols(frame, NUMBERS),
        ),
    ]


CASES: list[Case] = _cases() if importlib.util.find_spec("feature_engine") else []
