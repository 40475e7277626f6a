"""Parity cases for tabular preprocessing: encoders, text imputers, ColumnTransformer, FeatureUnion.

The datasets are DataFrames like real ones: text with None / NaN, unseen and rare
categories, a category literally named '[UNK]' (Keras' default OOV token), integer
and boolean columns, pandas 'category' dtype, and names that are not valid
signature keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from cases_numeric import Case
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)

N = 300
ISLANDS = ["Biscoe", "Dream", "Torgersen", "[UNK]"]


def _draw(rng: np.random.Generator, n: int, unseen: bool) -> pd.DataFrame:
    islands = np.array(ISLANDS + (["Atlantis"] if unseen else []), dtype=object)
    island = rng.choice(islands, n, p=None if not unseen else [0.3, 0.3, 0.2, 0.1, 0.1]).astype(object)
    island[rng.random(n) < 0.05] = None
    island[rng.random(n) < 0.05] = np.nan
    sex = rng.choice(
        np.array(["male", "female", "rare1", "rare2"], dtype=object), n, p=[0.47, 0.47, 0.03, 0.03]
    )
    length = 40 + 5 * rng.normal(size=n)
    length[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame(
        {
            "island": island,
            "sex": sex,
            "bill length (mm)": length,
            "mass/kg": 1e6 + rng.normal(size=n),
            "year": rng.integers(2007, 2010, size=n),
            "code": rng.choice([-1, 0, 5, 7] + ([99] if unseen else []), n),
            "flag": rng.random(n) < 0.3,
            "grade": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    return frame


def frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test rows include categories never seen at fit (for handle_unknown != 'error')."""
    rng = np.random.default_rng(11)
    return _draw(rng, N, unseen=False), _draw(rng, N, unseen=True)


def frame_known() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test rows use fitted categories only (for handle_unknown='error')."""
    rng = np.random.default_rng(12)
    return _draw(rng, N, unseen=False), _draw(rng, N, unseen=False)


def frame_unseen_rows() -> pd.DataFrame:
    return _draw(np.random.default_rng(13), 40, unseen=True)


def _cols(dataset, columns, rename=None, round_to=None, as_object=False):
    """Some columns of a dataset, optionally renamed, rounded (to make numeric categories) or as object."""

    def pick(df):
        out = df[columns].copy()
        out.columns = rename or columns
        if round_to is not None:
            out = out.round(round_to)
        if as_object:
            out = out.astype(object)
        return out

    fit, test = dataset()
    return pick(fit), pick(test)


def text_array() -> tuple[np.ndarray, np.ndarray]:
    """A numpy object array of text only (one 2-D string input)."""
    fit, test = frame()
    columns = ["island", "sex"]
    return fit[columns].to_numpy(dtype=object), test[columns].to_numpy(dtype=object)


def mixed_array() -> tuple[np.ndarray, np.ndarray]:
    """A numpy object array mixing text and numbers (one named input per column, x0, x1, ...)."""
    fit, test = frame()
    columns = ["island", "bill length (mm)", "sex", "year"]
    return fit[columns].to_numpy(dtype=object), test[columns].to_numpy(dtype=object)


def numeric_array() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(14)
    fit = rng.normal(size=(N, 6)) * [1, 10, 1e3, 1, 1, 1] + [0, 0, 1e6, 0, 0, 0]
    fit[:, 4] = rng.integers(0, 4, size=N)
    test = rng.normal(size=(N, 6)) * [1, 10, 1e3, 1, 1, 1] + [0, 0, 1e6, 0, 0, 0]
    test[:, 4] = rng.integers(0, 4, size=N)
    return fit, test


TEXT = ["island", "sex"]
NUMBERS = ["bill length (mm)", "mass/kg"]


def _impute_onehot(**kw):
    return make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(**kw))


def _target_y(kind):
    def make(X):
        rng = np.random.default_rng(15)
        base = np.array([len(str(v)) for v in X["island"]]) + (X["sex"] == "male").to_numpy()
        if kind == "continuous":
            return base + rng.normal(size=len(X))
        if kind == "binary":
            return (base + rng.normal(size=len(X)) > base.mean()).astype(int)
        return np.array(["a", "b", "c"], dtype=object)[(base + rng.integers(0, 3, len(X))).astype(int) % 3]

    return make


def _frame_ct(categorical, numeric=None, **kw):
    return lambda: ColumnTransformer(
        [("cat", categorical(), TEXT), ("num", numeric() if numeric else StandardScaler(), ["mass/kg"])], **kw
    )


CASES: list[Case] = [
    # OneHotEncoder
    Case("onehot-ignore", lambda: OneHotEncoder(handle_unknown="ignore"), lambda: _cols(frame, TEXT)),
    Case("onehot-error", OneHotEncoder, lambda: _cols(frame_known, TEXT)),
    Case(
        "onehot-error-unseen",
        OneHotEncoder,
        lambda: _cols(frame_known, TEXT),
        failing_rows=lambda: frame_unseen_rows()[TEXT].assign(island="Atlantis"),
        failing_match=r"unknown category in column 0 \(island\)",
    ),
    Case(
        "onehot-infrequent-min-frequency",
        lambda: OneHotEncoder(min_frequency=20, handle_unknown="infrequent_if_exist"),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "onehot-infrequent-max-categories",
        lambda: OneHotEncoder(max_categories=3, handle_unknown="infrequent_if_exist"),
        lambda: _cols(frame, TEXT + ["code"]),
    ),
    Case(
        "onehot-warn",
        lambda: OneHotEncoder(handle_unknown="warn", min_frequency=0.05),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "onehot-warn-no-infrequent", lambda: OneHotEncoder(handle_unknown="warn"), lambda: _cols(frame, TEXT)
    ),
    Case("onehot-drop-first", lambda: OneHotEncoder(drop="first"), lambda: _cols(frame_known, TEXT)),
    Case(
        "onehot-drop-if-binary",
        lambda: OneHotEncoder(drop="if_binary", handle_unknown="ignore"),
        lambda: _cols(frame, ["flag", "island"]),
    ),
    Case(
        "onehot-drop-explicit",
        lambda: OneHotEncoder(drop=["Dream", "female"]),
        lambda: _cols(frame_known, TEXT),
    ),
    Case(
        "onehot-drop-infrequent",
        lambda: OneHotEncoder(drop=["male", "female"], min_frequency=20, handle_unknown="ignore"),
        lambda: _cols(frame, ["sex", "sex"], rename=["sex", "sex2"]),
    ),
    Case(
        "onehot-categories-by-hand",
        lambda: OneHotEncoder(
            categories=[["Torgersen", "Biscoe", "Dream", "[UNK]", None], ["female", "male", np.nan]],
            handle_unknown="ignore",
        ),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "onehot-sparse-output",
        lambda: OneHotEncoder(sparse_output=True, handle_unknown="ignore"),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "onehot-integers",
        lambda: OneHotEncoder(handle_unknown="ignore"),
        lambda: _cols(frame, ["year", "code", "flag"]),
    ),
    Case(
        "onehot-mixed-kinds",
        lambda: OneHotEncoder(handle_unknown="ignore"),
        lambda: _cols(frame, ["island", "code", "grade"]),
    ),
    Case(
        "onehot-numeric-nan-category",
        lambda: OneHotEncoder(handle_unknown="ignore"),
        lambda: _cols(frame, ["bill length (mm)"], round_to=0),
    ),
    Case("onehot-text-array", lambda: OneHotEncoder(handle_unknown="ignore"), text_array),
    Case(
        "ct-mixed-object-array",
        lambda: ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), [0, 2]),
                ("num", make_pipeline(SimpleImputer(), StandardScaler()), [1, 3]),
            ]
        ),
        mixed_array,
    ),
    Case(
        "ordinal-mixed-object-array-unused-column",
        lambda: ColumnTransformer(
            [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), [2, 0])]
        ),
        mixed_array,
    ),
    # OrdinalEncoder
    Case("ordinal", OrdinalEncoder, lambda: _cols(frame_known, TEXT + ["year"])),
    Case(
        "ordinal-unknown-value",
        lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        lambda: _cols(frame, TEXT + ["code"]),
    ),
    Case(
        "ordinal-unknown-nan-missing-value",
        lambda: OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=-2
        ),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "ordinal-infrequent",
        lambda: OrdinalEncoder(min_frequency=20, handle_unknown="use_encoded_value", unknown_value=-1),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "ordinal-max-categories",
        lambda: OrdinalEncoder(max_categories=2, handle_unknown="use_encoded_value", unknown_value=-5),
        lambda: _cols(frame, TEXT + ["grade"]),
    ),
    Case(
        "ordinal-error-unseen",
        OrdinalEncoder,
        lambda: _cols(frame_known, TEXT),
        failing_rows=lambda: frame_unseen_rows()[TEXT].assign(sex="unseen"),
        failing_match=r"OrdinalEncoder\(handle_unknown=error\): unknown category in column 1 \(sex\)",
    ),
    # TargetEncoder
    Case("target-continuous", TargetEncoder, lambda: _cols(frame, TEXT), fit_y=_target_y("continuous")),
    Case("target-binary", TargetEncoder, lambda: _cols(frame, TEXT), fit_y=_target_y("binary")),
    Case("target-multiclass", TargetEncoder, lambda: _cols(frame, TEXT), fit_y=_target_y("multiclass")),
    # SimpleImputer on text
    Case(
        "imputer-text-most-frequent",
        lambda: _impute_onehot(handle_unknown="ignore"),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "imputer-text-constant",
        lambda: make_pipeline(
            SimpleImputer(strategy="constant", fill_value="n/a"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        ),
        lambda: _cols(frame, TEXT),
    ),
    Case(
        "imputer-mixed-kinds",
        lambda: make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
        ),
        lambda: _cols(frame, ["island", "code"], as_object=True),
    ),
    # ColumnTransformer: every column-spec style
    Case(
        "ct-names",
        lambda: ColumnTransformer(
            [
                ("cat", _impute_onehot(handle_unknown="ignore"), TEXT),
                ("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMBERS),
            ]
        ),
        frame,
    ),
    Case(
        "ct-scalar-specs",
        lambda: ColumnTransformer(
            [
                ("a", OneHotEncoder(handle_unknown="ignore"), ["grade"]),
                ("b", MinMaxScaler(), [3]),
                ("d", "drop", "sex"),
            ]
        ),
        frame,
    ),
    Case(
        "ct-int-list-and-slices",
        lambda: ColumnTransformer(
            [
                ("n", StandardScaler(), [3, 4]),
                ("s", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), slice(0, 2)),
            ]
        ),
        frame,
    ),
    Case(
        "ct-name-slice",
        lambda: ColumnTransformer([("n", SimpleImputer(), slice("bill length (mm)", "year"))]),
        frame,
    ),
    Case(
        "ct-boolean-mask",
        lambda: ColumnTransformer(
            [("n", StandardScaler(), np.array([False, False, False, True, True, False, False, False]))]
        ),
        frame,
    ),
    Case(
        "ct-callable",
        lambda: ColumnTransformer(
            [("n", StandardScaler(), lambda X: [c for c in X.columns if c.startswith("mass")])]
        ),
        frame,
    ),
    Case(
        "ct-column-selector",
        lambda: ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(SimpleImputer(), StandardScaler()),
                    make_column_selector(dtype_include="number"),
                ),
                ("cat", _impute_onehot(handle_unknown="ignore"), make_column_selector(dtype_include=object)),
            ]
        ),
        frame,
    ),
    Case(
        "ct-drop-passthrough-remainder-drop",
        lambda: ColumnTransformer(
            [
                ("x", "drop", TEXT),
                ("p", "passthrough", ["mass/kg", "year"]),
                ("s", StandardScaler(), ["code"]),
            ]
        ),
        frame,
    ),
    Case(
        "ct-remainder-passthrough",
        lambda: ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), TEXT + ["grade"])], remainder="passthrough"
        ),
        frame,
    ),
    Case(
        "ct-remainder-estimator",
        lambda: ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), TEXT + ["grade"])],
            remainder=make_pipeline(SimpleImputer(), MinMaxScaler()),
        ),
        frame,
    ),
    Case(
        "ct-empty-selection-and-weights",
        lambda: ColumnTransformer(
            [
                ("none", StandardScaler(), []),
                ("empty", StandardScaler(), make_column_selector(dtype_include="datetime")),
                ("cat", OneHotEncoder(handle_unknown="ignore"), TEXT),
                ("num", SimpleImputer(add_indicator=True), NUMBERS),
            ],
            transformer_weights={"cat": 2.0, "num": 0.5},
        ),
        frame,
    ),
    Case(
        "ct-numpy",
        lambda: ColumnTransformer(
            [
                ("a", StandardScaler(), [0, 2]),
                ("b", OneHotEncoder(handle_unknown="ignore"), [4]),
                ("c", "passthrough", slice(5, 6)),
            ],
            remainder=MinMaxScaler(),
        ),
        numeric_array,
    ),
    Case(
        "ct-numpy-mask",
        lambda: ColumnTransformer([("a", MinMaxScaler(), np.array([True, False, True, False, False, True]))]),
        numeric_array,
    ),
    Case(
        "ct-nested",
        lambda: ColumnTransformer(
            [
                (
                    "inner",
                    ColumnTransformer(
                        [
                            ("c", _impute_onehot(handle_unknown="ignore"), ["island"]),
                            ("n", StandardScaler(), ["year"]),
                        ]
                    ),
                    ["island", "year"],
                ),
                ("mi", MissingIndicator(features="all"), ["bill length (mm)"]),
            ]
        ),
        frame,
    ),
    # FeatureUnion
    Case(
        "union-numbers",
        lambda: FeatureUnion(
            [("s", StandardScaler()), ("m", MinMaxScaler()), ("p", "passthrough"), ("d", "drop")],
            transformer_weights={"m": 3.0},
        ),
        numeric_array,
    ),
    Case(
        "union-in-pipeline-after-ct",
        lambda: Pipeline(
            [
                (
                    "ct",
                    ColumnTransformer(
                        [
                            ("cat", OneHotEncoder(handle_unknown="ignore"), TEXT),
                            ("num", SimpleImputer(), NUMBERS),
                        ]
                    ),
                ),
                ("union", FeatureUnion([("s", StandardScaler()), ("m", MaxAbsScaler())])),
            ]
        ),
        frame,
    ),
]
