"""Inference-time checks: fail a row where scikit-learn would raise, saying why.

This module writes a check (two stock lookup layers, see :func:`fail_if_any`) and is the
one place that reads one back: the reason table of a saved model
(:func:`check_reasons`) and the reason carried by the error a failing row raises
(:func:`refusal_reason`).
"""

from __future__ import annotations

import re

import keras
from keras import ops

from .floats import as_float64, f64
from .names import unique

#: The reason table of check ``name`` is the layer ``name + _REASON_SUFFIX``.
_REASON_SUFFIX = "_reason"

#: How TensorFlow's StringLookup reports an out-of-vocabulary value: the reason text.
_OOV_MESSAGE = re.compile(r'found OOV values \[\\*"([^"\\]+)')


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
    """
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
