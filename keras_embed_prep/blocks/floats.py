"""float64 constants and the exact float32 -> float64 widening every numeric block starts from."""

from __future__ import annotations

import numpy as np
from keras import ops


def f64(values) -> np.ndarray:
    """A float64 numpy constant (kept float64 until the final cast)."""
    return np.asarray(values, dtype=np.float64)


def as_float64(x):
    """Cast a numeric or boolean tensor to float64 (no-op if it already is).

    float32 goes through :func:`float32_to_float64`, which keeps subnormals.
    """
    if x.dtype == "float64":
        return x
    return float32_to_float64(x) if x.dtype == "float32" else ops.cast(x, "float64")


def float32_to_float64(x):
    """float32 to float64 exactly, subnormals included.

    TensorFlow runs float32 ops on CPU with flush-to-zero: ``cast`` (and any compare)
    reads a subnormal such as ``np.nextafter(np.float32(0), -1)`` as 0, so it would
    land on the wrong side of a bin edge or threshold at 0. Subnormals are rebuilt
    from their bits instead (``mantissa * 2**-149``, exact and normal in float64).
    """
    bits = ops.view(x, "int32")
    # 1-element arrays, not scalars: Keras serializes numpy scalars as Python ints,
    # which BitwiseAnd cannot reload.
    magnitude = ops.bitwise_and(bits, np.array([0x7FFFFFFF], dtype=np.int32))
    tiny = ops.multiply(ops.cast(magnitude, "float64"), np.float64(2.0**-149))
    tiny = ops.where(ops.less(bits, np.array([0], dtype=np.int32)), ops.negative(tiny), tiny)
    subnormal = ops.less(magnitude, np.array([0x00800000], dtype=np.int32))
    return ops.where(subnormal, tiny, ops.cast(x, "float64"))
