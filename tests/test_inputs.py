"""``to_inputs``: text is ``category_text`` of each value; the whole-frame route gives what columns give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder

from keras_embed_prep import to_inputs, to_keras
from keras_embed_prep.columns import category_text
from keras_embed_prep.errors import InputError
from keras_embed_prep.feeds import as_text, column_feeds, frame_feeds, small_frame_feeds

_VALUES = ["a", np.str_("b"), "", 3, 2.5, True, b"raw", None, np.nan, pd.NA, pd.NaT, np.datetime64("NaT")]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(_VALUES, dtype=object),
        pd.Series(["x", None, "y"], dtype="category"),
        pd.Series(["x", None, "y"], dtype="string"),
        np.array(_VALUES[:8], dtype=object).reshape(2, 4),
        np.array([], dtype=object),
    ],
    ids=["object-mixed", "category", "string", "2-D", "empty"],
)
def test_text_is_category_text_of_each_value(values):
    raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    expected = np.array([category_text(v) for v in raw.ravel().tolist()], dtype=object).reshape(raw.shape)
    got = as_text("column", values)
    assert got.dtype.name == "string" and tuple(got.shape) == raw.shape
    np.testing.assert_array_equal(got.numpy().astype(str), expected.astype(str))


def _frame(rows: int) -> pd.DataFrame:
    """Every column kind to_inputs accepts, with missing values of each kind, in a mixed order."""
    rng = np.random.default_rng(rows)
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), size=rows)]  # noqa: E731
    return pd.DataFrame(
        {
            "f64": pick([0.1, -2.5, np.nan, 1e6 + 0.3, 5e-324]),
            "text": pd.Series(pick(["a", "é", "", None, np.nan]), dtype=object),
            "i64": pick([0, 3, -7, 2**40 + 1]),
            "f32": np.asarray(pick([0.5, np.nan, 3.25]), dtype=np.float32),
            "bool": pick([True, False]),
            "cat": pd.Series(pick(["x", "y", None]), dtype="category"),
            "str": pd.Series(pick(["s", "t", None]), dtype="str"),
            "nullable": pd.Series(pick([1, 2, None]), dtype="Int64"),
            "obj_numbers": pd.Series(pick([1.5, None, 2]), dtype=object),
            "mixed_text": pd.Series(pick([3, 2.5, True, pd.NA, pd.NaT, "z"]), dtype=object),
            "int_as_text": pick([1, 2, 3]),
            "boolean": pd.Series(pick([True, False, None]), dtype="boolean"),
            "when": pd.to_datetime(pd.Series(pick(["2020-01-02", None]))),
        }
    )


# (input name, column, whether the input is text): inputs in another order than the frame's columns
_INPUTS = [
    ("str", "str", True),
    ("f64", "f64", False),
    ("i64", "i64", False),
    ("text", "text", True),
    ("f32", "f32", False),
    ("bool", "bool", False),
    ("cat", "cat", True),
    ("mixed_text", "mixed_text", True),
    ("int_as_text", "int_as_text", True),
    ("when", "when", True),
]
_PER_COLUMN_ONLY = [("nullable", "nullable", False), ("obj_numbers", "obj_numbers", False)]


@pytest.mark.parametrize("rows", [0, 1, 5, 128])
@pytest.mark.parametrize("inputs", [_INPUTS, _INPUTS[1:3], _INPUTS[:1], [_INPUTS[3], _INPUTS[6]]])
def test_small_frames_read_whole_give_what_columns_give(rows, inputs):
    frame = _frame(rows)
    names, columns, text = (list(t) for t in zip(*inputs, strict=True))
    whole = small_frame_feeds(frame, names, columns, text)
    per_column = column_feeds(frame, names, columns, text)
    assert whole is not None and list(whole) == list(per_column) == names
    for name in names:
        a, b = whole[name], per_column[name]
        assert type(a) is type(b) and a.dtype == b.dtype and tuple(a.shape) == (rows,), name
        a, b = (v.numpy() if hasattr(v, "numpy") else v for v in (a, b))
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_without_pandas_column_accessor_small_frames_give_the_same(monkeypatch):
    """The fallback of the whole-frame route (one Series per column) where pandas lacks the accessor."""
    monkeypatch.delattr(pd.DataFrame, "_get_column_array")
    for rows in (0, 5):
        frame = _frame(rows)
        names, columns, text = (list(t) for t in zip(*_INPUTS, strict=True))
        whole = small_frame_feeds(frame, names, columns, text)
        per_column = column_feeds(frame, names, columns, text)
        for name in names:
            a, b = (v.numpy() if hasattr(v, "numpy") else v for v in (whole[name], per_column[name]))
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_to_inputs_rereads_each_frame_of_a_model_it_has_seen():
    """to_inputs keeps a model's input layout and the last frame's column positions: a frame with
    other columns, the same columns reordered, or a column changed in place is read afresh."""
    fit = _frame(20)[["f64", "i64", "str", "cat"]]
    steps = [("n", SimpleImputer(), ["f64", "i64"]), ("t", OneHotEncoder(), ["str", "cat"])]
    ct = ColumnTransformer(steps).fit(fit)
    model = to_keras(ct)
    names = [t.name for t in model.inputs]
    text = [t.dtype == "string" for t in model.inputs]

    def check(frame):
        expected = column_feeds(frame, names, names, text)
        got = to_inputs(frame, model)
        assert list(got) == names
        for name in names:
            np.testing.assert_array_equal(got[name].numpy(), expected[name].numpy(), err_msg=name)

    check(fit.iloc[:3])
    check(fit.iloc[:3, ::-1].assign(extra=1.0))  # other order, one more column
    changed = fit.iloc[:3].copy()
    changed["i64"] = changed["i64"].astype("Int64")  # the same columns object, another dtype
    check(changed)
    changed["f64"] = changed["f64"].astype(str)
    with pytest.raises(InputError, match="'f64' must be numeric"):
        to_inputs(changed, model)
    with pytest.raises(InputError, match=r"needs columns \['cat'\]"):
        to_inputs(fit.iloc[:3].drop(columns="cat"), model)


@pytest.mark.parametrize("extra", _PER_COLUMN_ONLY)
def test_nullable_and_object_numbers_take_the_column_route(extra):
    frame = _frame(3)
    names, columns, text = (list(t) for t in zip(*(_INPUTS + [extra]), strict=True))
    assert small_frame_feeds(frame, names, columns, text) is None
    feeds = frame_feeds(frame, names, columns, text)
    expected = frame[extra[1]].to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
    np.testing.assert_array_equal(feeds[extra[0]].numpy(), expected)


def test_a_categorical_column_feeding_a_number_input_is_refused_on_both_routes():
    frame = pd.DataFrame({"n": pd.Series([1.0, 2.0], dtype="category")})
    for rows in (frame, pd.concat([frame] * 100)):  # 2 and 200 rows: both sides of SMALL_FRAME_ROWS
        with pytest.raises(InputError, match="'n' must be numeric"):
            frame_feeds(rows, ["n"], ["n"], [False])


def test_numbers_of_a_frame_are_float32_of_the_float64_values():
    """The float32 values scikit-learn's reference is computed on: float64 rounded once."""
    frame = pd.DataFrame({"a": [0.1, 1e6 + 0.3], "b": [2**40 + 1, -3]})
    feeds = frame_feeds(frame, ["b", "a"], ["b", "a"], [False, False])
    assert list(feeds) == ["b", "a"]
    np.testing.assert_array_equal(feeds["a"], np.float32([0.1, 1e6 + 0.3]))
    np.testing.assert_array_equal(feeds["b"], np.float32([2**40 + 1, -3]))
