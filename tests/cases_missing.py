"""Parity cases for missing values: None, NaN, pd.NA and NaT kept apart, in fit and in serving.

scikit-learn treats the four differently in object columns and numpy object arrays
(pandas' ``str`` and ``category`` dtypes turn None into NaN first): each case fits on one
container and marker mix and transforms rows holding markers seen and unseen at fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from cases_numeric import Case
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

N = 120
WORDS = np.array(["a", "b", "c"], dtype=object)
MARKER = {"none": None, "nan": np.nan, "na": pd.NA, "nat": pd.NaT}


def _column(rng, n: int, markers: tuple[str, ...]) -> np.ndarray:
    values = rng.choice(WORDS, n).astype(object)
    for i, name in enumerate(markers):
        values[i :: 7 + i] = MARKER[name]  # every marker present, none crowding out the others
    return values


def _container(values: dict[str, np.ndarray], container: str):
    """The columns as an object, ``str``, ``category`` or ``string`` DataFrame, or an object array."""
    if container == "array":
        return np.stack(list(values.values()), axis=1)
    if container == "string":  # pandas' NA-backed dtype: every missing value becomes pd.NA
        return pd.DataFrame({k: pd.Series(v, dtype="string") for k, v in values.items()})
    dtype = {"object": object, "str": "str", "category": "category"}[container]
    return pd.DataFrame({k: pd.Series(v, dtype=dtype) for k, v in values.items()})


def text(fit_markers, test_markers, container="object", test_container=None):
    """Two text columns: ``fit_markers`` at fit, ``test_markers`` in the rows transformed."""

    def data():
        rng = np.random.default_rng(len(fit_markers) * 10 + len(test_markers))
        fit = {c: _column(rng, N, fit_markers) for c in ("s", "t")}
        test = {c: _column(rng, N, test_markers) for c in ("s", "t")}
        return _container(fit, container), _container(test, test_container or container)

    return data


def _case(id_, make, data, **kw):
    return Case(f"missing-{id_}", make, data, **kw)


def _encoders():
    """Every encoder option that changes what a missing value becomes, on every container."""
    ignore = lambda: OneHotEncoder(handle_unknown="ignore")  # noqa: E731
    ordinal = lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)  # noqa: E731
    encoders = {
        "onehot-ignore": ignore,
        "onehot-drop-first": lambda: OneHotEncoder(drop="first", handle_unknown="ignore"),
        "onehot-infrequent": lambda: OneHotEncoder(min_frequency=30, handle_unknown="infrequent_if_exist"),
        "ordinal-unknown": ordinal,
        "ordinal-encoded-missing": lambda: OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2
        ),
        "target-binary": lambda: TargetEncoder(smooth=0, target_type="binary"),
    }
    fits = {"both": ("none", "nan"), "none": ("none",), "nan": ("nan",), "clean": ()}
    cases = []
    for name, make in encoders.items():
        fit_y = _binary_y if name.startswith("target") else None
        for fit_name, fit_markers in fits.items():
            for container in ("object", "array"):
                cases.append(
                    _case(
                        f"{name}-{container}-fit-{fit_name}",
                        make,
                        text(fit_markers, ("none", "nan", "nat"), container),
                        fit_y=fit_y,
                    )
                )
        cases.append(_case(f"{name}-str", make, text(("none", "nan"), ("none", "nan"), "str"), fit_y=fit_y))
        cases.append(
            _case(f"{name}-category", make, text(("nan",), ("none", "nan"), "category"), fit_y=fit_y)
        )
        cases.append(
            _case(
                f"{name}-object-served-as-str",
                make,
                text(("none", "nan"), ("none", "nan"), "object", "str"),
                fit_y=fit_y,
            )
        )
    # pd.NA is an unknown value to the encoders, in an object column and in pandas' string dtype
    cases.append(_case("ordinal-unknown-pd-na", ordinal, text(("none", "nan"), ("na", "none"))))
    cases.append(_case("onehot-ignore-string-dtype", ignore, text(("nan",), ("nan",), "object", "string")))
    # the markers seen at fit, and no others, pass an encoder that raises on unknown values
    cases.append(_case("onehot-error-object", OneHotEncoder, text(("none", "nan"), ("none", "nan"))))
    cases.append(
        _case("ordinal-error-array", OrdinalEncoder, text(("none", "nan"), ("nan", "none"), "array"))
    )
    # categories written by hand: None matches None, NaN matches NaN
    by_hand = [["a", "b", None], ["c", np.nan]]
    cases.append(
        _case(
            "onehot-categories-by-hand",
            lambda: OneHotEncoder(categories=by_hand, handle_unknown="ignore"),
            text(("none", "nan"), ("none", "nan", "nat")),
        )
    )
    return cases


def _binary_y(X):
    first = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(X[:, 0])
    return (first.astype(str).str.len() + np.arange(len(first)) % 3 > 2).astype(int).to_numpy()


def _imputers():
    """SimpleImputer on text for each missing_values, with the markers it accepts, then an encoder."""

    def imputed(missing_values, strategy="most_frequent"):
        return lambda: make_pipeline(
            SimpleImputer(strategy=strategy, missing_values=missing_values, fill_value="z"),
            OneHotEncoder(handle_unknown="ignore"),
        )

    cases = [
        # missing_values=np.nan imputes NaN and NaT, keeps None (its own category downstream)
        _case("impute-nan-object", imputed(np.nan), text(("none", "nan"), ("none", "nan", "nat"))),
        _case(
            "impute-nan-array", imputed(np.nan, "constant"), text(("none", "nan"), ("none", "nat"), "array")
        ),
        _case("impute-nan-str", imputed(np.nan), text(("none", "nan"), ("none", "nan"), "str")),
        _case("impute-nan-none-only-at-test", imputed(np.nan), text(("nan",), ("none",))),
        # None wins the vote: the statistic itself is None
        _case("impute-nan-statistic-none", imputed(np.nan), lambda: _none_majority()),
        # missing_values=None imputes None only (NaN would raise)
        _case("impute-none-object", imputed(None), text(("none",), ("none",))),
        _case("impute-none-array", imputed(None, "constant"), text(("none",), ("none",), "array")),
        # missing_values=pd.NA imputes all four
        _case("impute-pd-na", imputed(pd.NA, "constant"), text(("none", "na"), ("none", "nan", "na", "nat"))),
        # a string as missing_values keeps None
        _case("impute-string", imputed("a", "constant"), text(("none",), ("none",))),
    ]
    # where scikit-learn raises on a missing value, the converted model raises at inference
    raising = {
        "impute-none-rejects-nan": (None, ("nan",)),
        "impute-none-rejects-nat": (None, ("nat",)),
        "impute-string-rejects-nan": ("a", ("nan",)),
        "impute-nan-rejects-pd-na": (np.nan, ("na",)),
    }
    for id_, (missing_values, bad) in raising.items():
        cases.append(
            _case(
                id_,
                imputed(missing_values, "constant"),
                text(("none",), ()),
                failing_rows=lambda bad=bad: text((), bad)()[1],
                failing_match="raises on this missing value",
            )
        )
    return cases


def _none_majority():
    fit = pd.DataFrame({"s": pd.Series(["a", None, None, np.nan, "b"] * 20, dtype=object)})
    test = pd.DataFrame({"s": pd.Series(["a", None, np.nan, "b", "c"] * 4, dtype=object)})
    return fit, test


def _numbers(container: str):
    """Numbers with missing values in pandas' nullable dtypes and in object columns of numbers."""

    def data():
        rng = np.random.default_rng(21)
        values = []
        for _ in range(2):
            v = list(rng.integers(0, 9, N).astype(float))
            v[::5] = [None] * len(v[::5])
            values.append(v)
        if container == "boolean":
            values = [[None if x is None else x > 4 for x in v] for v in values]
        dtype = {"Int64": "Int64", "Float64": "Float64", "boolean": "boolean", "object": object}[container]
        frames = [pd.DataFrame({"x": pd.array(v[: N // 2], dtype=dtype)}) for v in values]
        return frames[0], frames[1]

    return data


def _numeric():
    cases = []
    for container in ("Int64", "Float64", "boolean", "object"):
        cases.append(_case(f"numbers-{container}-impute", SimpleImputer, _numbers(container)))
        cases.append(_case(f"numbers-{container}-scale", StandardScaler, _numbers(container)))
    return cases


CASES: list[Case] = [*_encoders(), *_imputers(), *_numeric()]
