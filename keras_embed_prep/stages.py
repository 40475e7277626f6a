"""Stages: each converted scikit-learn step as one nested ``keras.Model``, named after its place.

A step's name is its path in the fitted object as scikit-learn's ``get_params`` spells it
(``num__standardscaler`` is ``preprocessor.get_params()["num__standardscaler"]``): Keras
layer names cannot contain ``/``, and ``__`` is the separator scikit-learn users already
read. A ``/`` in a name the user gave becomes ``_``, as in input names. Composite
estimators (``Pipeline``, ``ColumnTransformer``, ``FeatureUnion``) add their part names to
the path; every other step is built inside its own functional model on fresh inputs, so
``model.summary()`` shows one row per step and the ``.keras`` file still holds only stock
Keras pieces.

What :mod:`keras_embed_prep.fuse` needs crosses the stage boundary: a stage whose output
holds one-hot blocks outputs their integer positions instead, and the wide one-hot matrix
is built from them outside the stage, where the fused model does not reach it. The rows an
inference-time check flagged (``checks="nan"``, see :mod:`keras_embed_prep.blocks.checks`)
cross as one more boolean output. An affine
output of the stage's input is noted again on the outer tensors, so ``fold=True`` still
folds it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import keras
from keras import ops

from .blocks import checks, records
from .blocks.categories import one_hot
from .blocks.text import bag_matrix
from .columns import Columns
from .registry import convert

#: What joins the parts of a step's path (scikit-learn's own separator in ``get_params``).
SEPARATOR = "__"

#: Composite estimator classes: their parts are stages, they are not one themselves.
_COMPOSITES: set[type] = set()


def mark_composite(*classes: type) -> None:
    """Treat ``classes`` as composites: their parts become stages under the part names."""
    _COMPOSITES.update(classes)


@dataclass
class _Build:
    """The stage path of the build in progress and the names given so far."""

    positions: bool
    path: tuple[str, ...] = ()
    used: set[str] = field(default_factory=set)

    def name(self, part: str) -> str:
        base = SEPARATOR.join((*self.path, part.replace("/", "_")))
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name


_ACTIVE: contextvars.ContextVar[_Build | None] = contextvars.ContextVar(
    "keras_embed_prep_stages", default=None
)


@contextlib.contextmanager
def staging(*, positions: bool, reserved: set[str] = frozenset()) -> Iterator[None]:
    """Build steps as stages inside the block; ``positions``: one-hot stages output positions.

    ``reserved`` are names the stages must not take (the model's input names).
    """
    token = _ACTIVE.set(_Build(positions, used=set(reserved)))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def default_name(estimator: Any) -> str:
    """The name ``make_pipeline`` gives a step: its class name in lower case."""
    return type(estimator).__name__.lower()


def step(name: str | None, estimator: Any, x: Any) -> Any:
    """Convert ``estimator`` applied to ``x`` as the stage ``name`` (under the current path).

    ``name=None`` is the preprocessor itself: a composite adds nothing to the path, any
    other estimator is named as ``make_pipeline`` would name it (:func:`default_name`).
    """
    build = _ACTIVE.get()
    if build is None or isinstance(estimator, str):
        return convert(estimator, x)
    if name is None:
        if type(estimator) in _COMPOSITES:
            return convert(estimator, x)
        name = default_name(estimator)
    if type(estimator) in _COMPOSITES:
        token = _ACTIVE.set(_Build(build.positions, (*build.path, name.replace("/", "_")), build.used))
        try:
            return convert(estimator, x)
        finally:
            _ACTIVE.reset(token)
    return _stage(build.name(name), estimator, x, build.positions)


def _tensors(x: Any) -> list:
    if isinstance(x, Columns):
        return [t for _, t, _ in x.parts()]
    return [x]


def _like(x: Any, tensors: list) -> Any:
    """``tensors`` (one per part of ``x``) arranged as ``x`` is: a tensor or a ``Columns``."""
    if not isinstance(x, Columns):
        return tensors[0]
    parts = dict(zip([kind for kind, _, _ in x.parts()], tensors, strict=True))
    return Columns(x.kinds, parts.get("number"), parts.get("text"))


def _stage(name: str, estimator: Any, x: Any, positions: bool) -> Any:
    parts_in = _tensors(x)
    # A bag of terms crosses the boundary as its (ids, weights), so the next step (tf-idf) sees the bag.
    bags = [records.recorded(t) if isinstance(records.recorded(t), records.Bag) else None for t in parts_in]
    outer = [
        u for t, bag in zip(parts_in, bags, strict=True) for u in ((bag.ids, bag.weights) if bag else (t,))
    ]
    inner = [
        keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=f"{name}_in{i}")
        for i, t in enumerate(outer)
    ]
    with records.recording() as notes, checks.cross_stage() as flagged:
        feed, taken = [], iter(inner)
        for bag in bags:
            feed.append(bag_matrix(next(taken), next(taken), bag.width) if bag else next(taken))
        y = convert(estimator, _like(x, feed))
    parts = _tensors(y)
    segments = None
    if positions and not isinstance(y, Columns) and y.dtype != "string":
        found = notes.segments(y)
        if any(kind in ("one_hot", "bag") for kind, *_ in found):
            segments = found
    produced = parts if segments is None else [t for s in segments for t in _crossing(s)]
    # An output that is an input (an identity step) goes through a layer, so the stage has a graph.
    produced = [keras.layers.Identity()(t) if any(t is i for i in inner) else t for t in produced]
    # The rows a check flagged inside (checks="nan") cross as one more output, last.
    model = keras.Model(_single(inner), _single([*produced, *flagged]), name=name)
    made = keras.tree.flatten(model(_single(outer)))
    if flagged:
        checks.flag(made.pop())
    for got, made_t in zip(produced, made, strict=True):
        _note_affine(notes.affine_of(got), made_t, inner, outer, name)
    if segments is None:
        return _like(y, made)
    blocks, taken = [], iter(made)
    for segment in segments:
        if segment[0] == "one_hot":
            blocks.append(records.note_stage(one_hot(next(taken), segment[3]), name))
        elif segment[0] == "bag":
            blocks.append(records.note_stage(bag_matrix(next(taken), next(taken), segment[4]), name))
        else:
            blocks.append(next(taken))
    return records.concat(blocks)


def _crossing(segment: tuple) -> tuple:
    """What a stage outputs for one segment of its result: one-hot positions, a bag's ids and weights."""
    if segment[0] == "one_hot":
        return (segment[2],)
    if segment[0] == "bag":
        return (segment[2], segment[3])
    return (segment[1],)


def _single(tensors: list):
    return tensors[0] if len(tensors) == 1 else tensors


def _note_affine(affine: records.Affine | None, made, inner: list, outer: list, stage: str) -> None:
    """Note ``made`` as the affine map of the outer input when the stage's output was one of its input."""
    if affine is None:
        return
    for i, o in zip(inner, outer, strict=True):
        if affine.source is i:
            records.note_affine(made, o, affine.center, affine.divisor, affine.multiplier, affine.shift)
            records.note_stage(made, stage)


def columns(inputs: Any, x: Any) -> tuple[Any, Any]:
    """The raw inputs' conversion to columns (``x``, built on ``inputs``) as the stage ``columns``.

    Returns fresh inputs of the same names, kinds and shapes (a list if ``inputs`` is one), and
    ``x`` computed from them through the stage. The per-kind stacks of 1-D inputs stay outside
    the stage: the packed serving signature (:mod:`keras_embed_prep.export.signatures`) starts
    from them.
    """
    build = _ACTIVE.get()
    listed = keras.tree.flatten(inputs)
    stacks = [
        op
        for op in keras.Model(inputs, _tensors(x)).operations
        if type(op).__name__ == "Stack"
        and all(any(a is i for i in listed) for a in keras.tree.flatten(op.input))
    ]
    stacked = {id(a) for op in stacks for a in keras.tree.flatten(op.input)}
    boundary = [*[op.output for op in stacks], *[t for t in listed if id(t) not in stacked]]
    parts = [keras.layers.Identity()(t) if any(t is b for b in boundary) else t for t in _tensors(x)]
    model = keras.Model(_single(boundary), _single(parts), name=build.name("columns"))
    fresh = [keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=t.name) for t in listed]
    by_id = {id(t): f for t, f in zip(listed, fresh, strict=True)}
    feeds = [ops.stack([by_id[id(a)] for a in keras.tree.flatten(op.input)], axis=op.axis) for op in stacks]
    loose = [by_id[id(t)] for t in boundary[len(stacks) :]]
    made = keras.tree.flatten(model(_single([*feeds, *loose])))
    return (fresh if isinstance(inputs, (list, tuple)) else fresh[0]), _like(x, made)
