"""Decoding scores into labels: numpy's argmax rule and a class lookup."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .floats import f64
from .names import unique


def numpy_argmax(scores):
    """Row-wise ``np.argmax``: the first maximum, or the first NaN if a row has one.

    ``tf.argmax`` leaves ties unspecified and disagrees with numpy on NaN rows, so the
    index is computed as the smallest position holding the row's maximum (or NaN).
    """
    width = int(scores.shape[-1])
    positions = np.arange(width, dtype=np.int64)
    nan = ops.isnan(scores)
    top = ops.max(ops.where(nan, -np.inf, scores), axis=1, keepdims=True)
    first_max = ops.min(ops.where(ops.equal(scores, top), positions, width), axis=1)
    first_nan = ops.min(ops.where(nan, positions, width), axis=1)
    return ops.where(ops.any(nan, axis=1), first_nan, first_max)


def take_labels(index, classes):
    """``classes[index]`` for 1-D int ``index``: strings through an inverted ``StringLookup``."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "OUS":
        to_text = keras.layers.StringLookup(
            vocabulary=[str(c) for c in classes.tolist()],
            num_oov_indices=0,
            mask_token=None,
            invert=True,
            name=unique("labels"),
        )
        return to_text(ops.cast(index, "int64"))
    if classes.dtype.kind in "iu":
        return ops.take(classes.astype(np.int64), index)
    return ops.take(f64(classes), index)
