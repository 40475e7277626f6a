"""The raw-column model: mixed number and text columns (:class:`Columns`), the markers of missing
text (:data:`MISSING`, :data:`NONE`, :data:`NA`, :data:`NAT`) and unread columns (:data:`UNUSED`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .blocks.affine import take_columns

#: The markers a converted model reads for the four missing values a text column can hold.
#: scikit-learn tells them apart in object columns and numpy object arrays (pandas' ``str`` and
#: ``category`` dtypes turn None into NaN first), so the model does too; see docs/contract.md.
#: NaN: the missing category (``encoded_missing_value``; imputed by ``missing_values=np.nan``).
MISSING = "__missing__"
#: None: a category of its own to the encoders; imputed only by ``missing_values=None``.
NONE = "__none__"
#: pd.NA: an unknown value to the encoders; a TypeError in SimpleImputer unless it is ``missing_values``.
NA = "__na__"
#: pd.NaT / numpy NaT: an unknown value to the encoders, missing to ``SimpleImputer(missing_values=np.nan)``.
NAT = "__nat__"
#: All four, in that order.
MARKERS = (MISSING, NONE, NA, NAT)


def missing_marker(value) -> str | None:
    """The marker of a missing ``value`` (None, NaN, pd.NA, NaT), or None for a real value."""
    if value is None:
        return NONE
    if value is pd.NA:
        return NA
    if value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        return NAT
    try:
        return MISSING if bool(value != value) else None  # NaN
    except (TypeError, ValueError):  # an NA-like value of another library
        return NA


def is_nan(value) -> bool:
    """Whether ``value`` is NaN: what scikit-learn's encoders take as the missing category."""
    return missing_marker(value) == MISSING


def category_text(value) -> str:
    """A text value as the graph sees it: a missing value becomes its marker."""
    return missing_marker(value) or str(value)


#: The kind of a raw column that no step reads (a ColumnTransformer drops it): it gets no input.
UNUSED = "unused"


class Columns:
    """Raw columns of mixed kinds: a float64 block and a text block, plus their order.

    Converters receive a plain tensor when all their columns are of one kind; only
    converters that accept text (encoders, imputers) ever see a ``Columns``.
    ``kinds`` holds "number", "text" or :data:`UNUSED` per column.
    """

    def __init__(self, kinds: Sequence[str], numbers=None, text=None):
        self.kinds = list(kinds)
        self.numbers = numbers
        self.text = text
        counters = {"number": 0, "text": 0, UNUSED: 0}
        self.slots = []
        for kind in self.kinds:
            self.slots.append(counters[kind])
            counters[kind] += 1

    @classmethod
    def of(cls, x) -> Columns:
        """``x`` as a ``Columns``: as it is if it is one, else all its columns of ``x``'s kind."""
        if isinstance(x, Columns):
            return x
        width = int(x.shape[-1])
        if x.dtype == "string":
            return cls(["text"] * width, text=x)
        return cls(["number"] * width, numbers=x)

    def __len__(self) -> int:
        return len(self.kinds)

    def select(self, indices: Sequence[int]):
        """Columns ``indices``: a plain tensor if they are of one kind, else a ``Columns``."""
        indices = list(indices)
        kinds = [self.kinds[i] for i in indices]
        numbers = [self.slots[i] for i in indices if self.kinds[i] == "number"]
        text = [self.slots[i] for i in indices if self.kinds[i] == "text"]
        if not text:
            return take_columns(self.numbers, numbers)
        if not numbers:
            return take_columns(self.text, text)
        return Columns(kinds, take_columns(self.numbers, numbers), take_columns(self.text, text))

    def parts(self):
        """``(kind, tensor, column indices)`` for each kind present."""
        for kind, tensor in (("number", self.numbers), ("text", self.text)):
            idx = [i for i, k in enumerate(self.kinds) if k == kind]
            if idx:
                yield kind, tensor, idx
