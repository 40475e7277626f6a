"""Elementwise steps in float64: center and scale, scale and shift, clip, threshold, fill, columns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from keras import ops

from .floats import as_float64, f64
from .records import note_affine


def _steps(x, *steps):
    """``x`` through each ``(op, constant)`` step in order, skipping those whose constant is None."""
    for op, values in steps:
        if values is not None:
            x = op(x, f64(values))
    return x


def center_scale(x, center=None, scale=None):
    """``(x - center) / scale``, each step optional, in float64."""
    y = _steps(x, (ops.subtract, center), (ops.divide, scale))
    return note_affine(y, x, center=center, divisor=scale)


def scale_shift(x, scale=None, shift=None):
    """``x * scale + shift``, each step optional, in float64 (MinMaxScaler's own order)."""
    y = _steps(x, (ops.multiply, scale), (ops.add, shift))
    return note_affine(y, x, multiplier=scale, shift=shift)


def clip(x, low: float, high: float):
    """Clip to ``[low, high]``; NaN stays NaN, as with ``np.clip``."""
    return ops.clip(x, np.float64(low), np.float64(high))


def sign(x):
    """``np.sign``: -1, 0 or 1, NaN stays NaN (PyTorch's ``sign`` gives 0 for NaN)."""
    return ops.where(ops.isnan(x), x, ops.sign(x))


def greater_than(x, threshold):
    """1.0 where ``x > threshold``, else 0.0 (NaN compares false)."""
    return as_float64(ops.greater(x, f64(threshold)))


def missing_mask(x, missing_value):
    """Boolean mask of ``x`` equal to ``missing_value`` (NaN compares as missing)."""
    if isinstance(missing_value, float) and np.isnan(missing_value):
        return ops.isnan(x)
    return ops.equal(x, np.float64(missing_value))


def fill_where(x, mask, values):
    """``values`` (one per column) where ``mask`` is true, ``x`` elsewhere."""
    return ops.where(mask, f64(values), x)


def keep_nan(x, y):
    """``y``, except NaN where ``x`` is NaN (steps that leave missing values alone)."""
    return ops.where(ops.isnan(x), x, y)


def take_columns(x, indices: Sequence[int]):
    """Columns ``indices`` of ``x``, in that order, as one gather."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == int(x.shape[-1]) and np.array_equal(indices, np.arange(indices.size)):
        return x
    return ops.take(x, indices, axis=1)
