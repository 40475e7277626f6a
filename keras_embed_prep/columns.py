"""The raw-column model: mixed number and text columns (:class:`Columns`), the missing-text
sentinel (:data:`MISSING`) and the kind of a column no step reads (:data:`UNUSED`)."""

from __future__ import annotations

from collections.abc import Sequence

from .blocks.affine import take_columns

#: What :func:`keras_embed_prep.to_inputs` writes for None / NaN / pd.NA in a text column, and
#: what a fitted missing category (None or NaN in ``categories_``) becomes in the graph.
MISSING = "__missing__"


def is_missing(value) -> bool:
    """None, NaN, pd.NA and NaT count as a missing category, as in scikit-learn."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT; pd.NA raises on bool()
    except TypeError:
        return True


def category_text(value) -> str:
    """A text value as the graph sees it: missing values become :data:`MISSING`."""
    return MISSING if is_missing(value) else str(value)


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
