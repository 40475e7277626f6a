"""How the preprocessing output was built, kept beside the graph for :mod:`keras_embed_prep.fuse`.

Blocks note what a tensor is (an affine map of another tensor, a one-hot block, a
concatenation of parts) in the :class:`Records` of the build in progress; the build
hands its records to the caller with the output. Nothing is stored on the tensors.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from keras import ops


@dataclass(frozen=True)
class Affine:
    """``y = ((source - center) / divisor) * multiplier + shift``, each step optional."""

    source: Any
    center: Any = None
    divisor: Any = None
    multiplier: Any = None
    shift: Any = None
    #: The stage (see :mod:`keras_embed_prep.stages`) that made the tensor, once known.
    stage: str | None = None


@dataclass(frozen=True)
class OneHot:
    """A multi-hot block of ``width`` columns set at int ``positions`` ``(batch, k)``."""

    positions: Any
    width: int
    stage: str | None = None


@dataclass(frozen=True)
class Bag:
    """A ``(batch, width)`` block that is zero except ``weights`` at int ``ids``, both ``(batch, L)``.

    Padding entries have id ``width`` (no column) and weight 0.
    """

    ids: Any
    weights: Any
    width: int
    stage: str | None = None


@dataclass
class Records:
    """What the blocks noted during one build, keyed by the identity of the tensor they made."""

    _notes: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    def note(self, tensor, record) -> None:
        self._notes[id(tensor)] = (tensor, record)  # the tensor is kept, so its id stays unique

    def of(self, tensor):
        """The record of ``tensor`` (:class:`Affine`, :class:`OneHot` or a list of parts), or None."""
        entry = self._notes.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else None

    def stage_of(self, tensor) -> str | None:
        """The name of the stage that made ``tensor`` (an affine, one-hot or bag block), if noted."""
        return getattr(self.of(tensor), "stage", None)

    def affine_of(self, tensor) -> Affine | None:
        record = self.of(tensor)
        return record if isinstance(record, Affine) else None

    def segments(self, y) -> list[tuple]:
        """How ``y`` is made, as column blocks in order.

        ``("one_hot", tensor, positions, width)`` for a block built by
        :func:`~keras_embed_prep.blocks.categories.one_hot`, ``("bag", tensor, ids, weights,
        width)`` for one built by :func:`~keras_embed_prep.blocks.text.bag_matrix`, ``("dense", tensor)`` for
        anything else. Lets :func:`keras_embed_prep.embed` look up the first Dense
        layer's kernel rows instead of multiplying a wide one-hot matrix.
        """
        record = self.of(y)
        if isinstance(record, list):
            return [segment for part in record for segment in self.segments(part)]
        if isinstance(record, OneHot):
            return [("one_hot", y, record.positions, record.width)]
        if isinstance(record, Bag):
            return [("bag", y, record.ids, record.weights, record.width)]
        return [("dense", y)]


_ACTIVE: contextvars.ContextVar[Records | None] = contextvars.ContextVar(
    "keras_embed_prep_records", default=None
)


@contextlib.contextmanager
def recording() -> Iterator[Records]:
    """Collect the records of the blocks built inside the ``with`` block."""
    records = Records()
    token = _ACTIVE.set(records)
    try:
        yield records
    finally:
        _ACTIVE.reset(token)


def note(tensor, record):
    """Note ``record`` for ``tensor`` in the build in progress (none outside a build); returns ``tensor``."""
    records = _ACTIVE.get()
    if records is not None:
        records.note(tensor, record)
    return tensor


def recorded(tensor):
    """The record noted for ``tensor`` in the build in progress, or None."""
    records = _ACTIVE.get()
    return records.of(tensor) if records is not None else None


def note_stage(tensor, stage: str):
    """Add the ``stage`` that made ``tensor`` to its record (affine, one-hot or bag); returns ``tensor``."""
    records = _ACTIVE.get()
    record = records.of(tensor) if records is not None else None
    if isinstance(record, (Affine, OneHot, Bag)):
        records.note(tensor, dataclasses.replace(record, stage=stage))
    return tensor


def note_affine(y, x, center=None, divisor=None, multiplier=None, shift=None):
    """Note ``y = ((x - center) / divisor) * multiplier + shift`` for folding (see fuse.py)."""
    if y is x:
        return y
    return note(y, Affine(x, center, divisor, multiplier, shift))


def concat(parts: Sequence):
    """Concatenate blocks along the feature axis, noting the parts (see :meth:`Records.segments`)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    return note(ops.concatenate(parts, axis=1), parts)
