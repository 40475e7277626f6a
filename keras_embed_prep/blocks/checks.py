"""Inference-time checks: fail a row where scikit-learn would raise, saying why.

This module writes a check (see :func:`fail_if_any`) and is the one place that reads one
back: the reason table of a saved model (:func:`check_reasons`) and the reason carried by
the error a failing row raises (:func:`refusal_reason`).

A check takes one of two forms, chosen per build (:func:`checking`, the ``checks=`` option of
``to_keras`` and ``embed``):

- ``"raise"`` (the default): two stock lookup layers make the call fail, with the reason in the
  error. They need TensorFlow, so the model loads there only.
- ``"nan"``: plain ``keras.ops``, so the model loads on every backend and compiles under
  ``jax.jit``. The flagged rows are collected during the build (:func:`flagged_rows`), cross the
  stage boundaries (:func:`cross_stage`) and come out NaN in every column of the final output
  (:func:`nan_rows`), after every later step, so no imputer, bin or argmax downstream can turn
  them back into a number.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

import keras
import numpy as np
from keras import ops

from ..errors import UnsupportedParameterError
from .floats import as_float64, f64
from .names import unique

#: The reason table of check ``name`` is the layer ``name + _REASON_SUFFIX``.
_REASON_SUFFIX = "_reason"

#: How TensorFlow's StringLookup reports an out-of-vocabulary value: the reason text.
_OOV_MESSAGE = re.compile(r'found OOV values \[\\*"([^"\\]+)')

#: The forms a check can take (see the module docstring).
CHECK_MODES = ("raise", "nan")


class _Checking:
    """The check form of the build in progress and the rows flagged so far (bool ``(batch,)``)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.flagged: list = []


_ACTIVE: contextvars.ContextVar[_Checking | None] = contextvars.ContextVar(
    "keras_embed_prep_checks", default=None
)


def check_mode(checks: str, where: str) -> str:
    """``checks`` if it is one of :data:`CHECK_MODES`, else ``UnsupportedParameterError``."""
    if checks not in CHECK_MODES:
        raise UnsupportedParameterError(
            f"{where}(checks=...) must be one of {CHECK_MODES}. Received {checks!r}. "
            '"raise" fails the call where scikit-learn raises (TensorFlow only); "nan" makes '
            "those rows NaN, on every backend."
        )
    return checks


@contextlib.contextmanager
def checking(mode: str) -> Iterator[_Checking]:
    """Build the checks inside the block in form ``mode``; yields what collects the flagged rows."""
    state = _Checking(mode)
    token = _ACTIVE.set(state)
    try:
        yield state
    finally:
        _ACTIVE.reset(token)


def flagged_rows(state: _Checking):
    """Bool ``(batch,)``: the rows some check of ``state`` flagged, or None (no check, or ``"raise"``)."""
    if not state.flagged:
        return None
    flagged = state.flagged[0]
    for more in state.flagged[1:]:
        flagged = ops.logical_or(flagged, more)
    return flagged


@contextlib.contextmanager
def cross_stage() -> Iterator[list]:
    """Collect the flags raised inside a stage (a nested model built on fresh inputs).

    Yields a list: after the block it holds the stage's flagged rows (one inner tensor) or
    nothing. The stage outputs that tensor; its caller hands the outer one to :func:`flag`.
    """
    outer = _ACTIVE.get()
    found: list = []
    if outer is None or outer.mode != "nan":
        yield found
        return
    with checking(outer.mode) as inner:
        yield found
    flagged = flagged_rows(inner)
    if flagged is not None:
        found.append(flagged)


def flag(flagged) -> None:
    """Note bool ``(batch,)`` ``flagged`` as failing rows of the build in progress."""
    _ACTIVE.get().flagged.append(flagged)


def nan_rows(y, flagged):
    """``y`` (any rank, batch first, float) with the ``flagged`` rows NaN; ``y`` itself if None."""
    if flagged is None:
        return y
    mask = ops.reshape(flagged, (-1,) + (1,) * (len(y.shape) - 1))
    return ops.where(mask, ops.cast(np.nan, y.dtype), y)


def fail_if_any(flags, reason):
    """Make inference fail for any row whose ``flags`` entry is true, saying why.

    ``flags`` is boolean ``(batch,)`` with one ``reason`` string, or ``(batch, k)``
    with one reason per column (the message names the first flagged column of the
    first failing row). Two stock lookup layers: an inverted ``IntegerLookup`` turns
    the flag into ``"ok"`` or the reason text, and a ``StringLookup`` over ``["ok"]``
    with ``num_oov_indices=0`` rejects the reason as out of vocabulary. That raises
    ``InvalidArgumentError`` in Keras and in the exported SavedModel alike, with the
    reason in the message. Returns a float64 ``(batch, 1)`` tensor of zeros to be
    added to the output, which keeps the check in the graph.

    Inside :func:`checking` ``("nan")`` the flagged rows are noted instead (see the module
    docstring) and the zeros are plain ``keras.ops``: the row becomes NaN at the end of the
    build, not here, so no later step (an imputer, a bin, a one-hot index) sees the NaN.
    """
    state = _ACTIVE.get()
    if state is not None and state.mode == "nan":
        flagged = flags if len(flags.shape) == 1 else ops.any(flags, axis=1)
        flag(flagged)
        return ops.expand_dims(ops.zeros_like(as_float64(flagged)), 1)
    name = unique("check")
    if isinstance(reason, str):
        reasons, code = [reason], ops.cast(flags, "int64")
    else:
        reasons = list(reason)
        flagged = ops.any(flags, axis=1)
        first = ops.argmax(ops.cast(flags, "int32"), axis=1)
        code = ops.where(flagged, ops.cast(first, "int64") + 1, 0)
    to_text = keras.layers.StringLookup(
        vocabulary=["ok", *reasons], num_oov_indices=0, invert=True, name=f"{name}{_REASON_SUFFIX}"
    )
    check = keras.layers.StringLookup(vocabulary=["ok"], num_oov_indices=0, name=name)
    zeros = check(to_text(code))
    return ops.expand_dims(as_float64(zeros), 1)


def any_outside(x, low, high):
    """Boolean ``(batch,)``: some ``x[:, j] < low[j]`` or ``x[:, j] > high[j]`` (NaN: no)."""
    out = ops.logical_or(ops.less(x, f64(low)), ops.greater(x, f64(high)))
    return ops.any(out, axis=1)


def any_at_most(x, threshold):
    """Boolean ``(batch,)``: some ``x[:, j] <= threshold`` (NaN: no)."""
    return ops.any(ops.less_equal(x, f64(threshold)), axis=1)


def any_not_finite(x):
    """Boolean ``(batch,)``: some value is NaN or infinite."""
    return ops.any(ops.logical_not(ops.isfinite(x)), axis=1)


def any_infinite(x):
    """Boolean ``(batch,)``: some value is ``inf`` or ``-inf`` (NaN: no)."""
    return ops.any(ops.isinf(x), axis=1)


def check_reasons(model) -> dict[str, str]:
    """Check layer name -> reason text, for each check :func:`fail_if_any` built into ``model``."""
    from ..walk import layers_by_path

    layers = {layer.name: layer for layer in layers_by_path(model).values()}
    found = {}
    for layer in layers.values():
        if (
            isinstance(layer, (keras.layers.StringLookup, keras.layers.IntegerLookup))
            and layer.num_oov_indices == 0
            and not layer.invert
        ):
            partner = layers.get(f"{layer.name}{_REASON_SUFFIX}")
            reasons = [str(r) for r in partner.get_vocabulary()[1:]] if partner is not None else []
            found[layer.name] = "; ".join(dict.fromkeys(reasons)) or layer.name
    return found


def refusal_reason(exc: BaseException) -> str | None:
    """The reason a check carries in the error a failing row raised, or None for any other error."""
    match = _OOV_MESSAGE.search(str(exc))
    return match.group(1) if match else None
