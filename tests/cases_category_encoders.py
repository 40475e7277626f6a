"""Parity cases for the category_encoders package, on the penguin-like frames of cases_tabular.

The test rows hold categories never seen at fit, None and NaN, a category literally named
'[UNK]', a pandas 'category' column and numeric columns the encoders pass through, so each
case checks the DataFrame output column order as well. ``ROUND_TRIP`` names the one case the
fresh-process round trips replay. Empty when the package is not installed.
"""

from __future__ import annotations

import importlib.util

from cases_numeric import Case
from cases_tabular import _cols, _target_y, frame, frame_known, frame_unseen_rows

ROUND_TRIP = "ce-onehot-indicators"
TEXT = ["island", "sex"]


def _ce(name: str, **params):
    def make():
        import category_encoders

        return getattr(category_encoders, name)(**params)

    return make


def _cases() -> list[Case]:
    binary, continuous = _target_y("binary"), _target_y("continuous")
    return [
        Case("ce-ordinal", _ce("OrdinalEncoder"), frame),
        Case(
            "ce-ordinal-return-nan-numeric-column",
            _ce(
                "OrdinalEncoder",
                cols=["island", "code"],
                handle_unknown="return_nan",
                handle_missing="return_nan",
            ),
            lambda: _cols(frame, ["code", "island", "year"]),
        ),
        Case(
            "ce-ordinal-error-unseen",
            _ce("OrdinalEncoder", handle_unknown="error"),
            lambda: _cols(frame_known, TEXT),
            failing_rows=lambda: frame_unseen_rows()[TEXT].assign(island="Atlantis"),
            failing_match=r"OrdinalEncoder\(handle_unknown=error\): unknown category in column island",
        ),
        Case(
            "ce-onehot-indicators",
            _ce("OneHotEncoder", handle_unknown="indicator", handle_missing="indicator", use_cat_names=True),
            frame,
        ),
        Case(
            "ce-onehot-return-nan",
            _ce("OneHotEncoder", handle_unknown="return_nan", handle_missing="return_nan"),
            lambda: _cols(frame, TEXT + ["mass/kg"]),
        ),
        Case("ce-binary-drop-invariant", _ce("BinaryEncoder", drop_invariant=True), frame),
        Case("ce-basen-3-return-nan", _ce("BaseNEncoder", base=3, handle_unknown="return_nan"), frame),
        Case("ce-count", _ce("CountEncoder"), frame),
        Case(
            "ce-count-missing-error",
            _ce("CountEncoder", handle_missing="error"),
            lambda: _cols(frame_known, ["sex", "year"]),
            failing_rows=lambda: frame_unseen_rows()[["sex", "year"]].assign(sex=None),
            failing_match=r"CountEncoder\(handle_missing=error\): missing value in column sex",
        ),
        Case(
            "ce-count-normalize-unknown-number",
            _ce("CountEncoder", normalize=True, handle_unknown=-1, handle_missing="return_nan"),
            lambda: _cols(frame, TEXT + ["grade"]),
        ),
        Case("ce-target", _ce("TargetEncoder", smoothing=2.0, min_samples_leaf=5), frame, fit_y=continuous),
        Case(
            "ce-target-unknown-number",
            _ce("TargetEncoder", handle_unknown=0.5, handle_missing="return_nan"),
            lambda: _cols(frame, TEXT),
            fit_y=binary,
        ),
        Case("ce-m-estimate", _ce("MEstimateEncoder", m=2.0), frame, fit_y=continuous),
        Case("ce-james-stein-binary", _ce("JamesSteinEncoder", model="binary"), frame, fit_y=binary),
        Case("ce-james-stein-pooled", _ce("JamesSteinEncoder", model="pooled"), frame, fit_y=continuous),
        Case("ce-woe", _ce("WOEEncoder", regularization=0.5), frame, fit_y=binary),
        Case(
            "ce-leave-one-out",
            _ce("LeaveOneOutEncoder", handle_unknown="return_nan"),
            frame,
            fit_y=continuous,
        ),
        Case("ce-catboost", _ce("CatBoostEncoder", a=2.0, handle_missing="return_nan"), frame, fit_y=binary),
    ]


CASES: list[Case] = _cases() if importlib.util.find_spec("category_encoders") else []
