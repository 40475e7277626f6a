"""``to_inputs`` text conversion: the fast path for ``str`` values gives what ``category_text`` gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from keras_embed_prep.columns import category_text
from keras_embed_prep.inputs import _as_text

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
    got = _as_text("column", values)
    assert got.dtype.name == "string" and tuple(got.shape) == raw.shape
    np.testing.assert_array_equal(got.numpy().astype(str), expected.astype(str))
