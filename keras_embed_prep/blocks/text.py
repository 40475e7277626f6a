"""Bags of terms as numbers: counts, binary counts and tf-idf weights, and their dense matrix.

A bag is ``(ids, weights)``, both ``(batch, L)``: each row's distinct term ids and their values,
padded with id ``width`` and weight 0 (see :class:`~keras_embed_prep.blocks.tokens.TextBag`). The
weights are computed on the bag, so the work grows with the terms of a row, not with the
vocabulary; :func:`bag_matrix` scatters them into the dense ``(batch, width)`` output with one
stock ``CategoryEncoding`` layer and notes the bag, so that :mod:`keras_embed_prep.fuse` can
look the terms up in the first Dense kernel instead. All arithmetic is float64, in scikit-learn's
order: sublinear ``log(tf) + 1``, times ``idf_``, divided by the row's l1 or l2 norm (rows of
norm 0 stay 0).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .floats import f64
from .names import unique
from .records import Bag, note, recorded


def bag_matrix(ids, weights, width: int):
    """The dense float64 ``(batch, width)`` matrix of a bag, noted as a :class:`Bag`."""
    encode = keras.layers.CategoryEncoding(
        num_tokens=width + 1, output_mode="count", dtype="float64", name=unique("bag")
    )
    y = encode(ids, count_weights=weights)[:, :width]
    return note(y, Bag(ids, weights, width))


def counts(ids, values, width: int, binary: bool = False):
    """Term counts (or 1 where a term occurs, with ``binary``) as a dense matrix of a bag."""
    weights = ops.cast(values, "float64")
    if binary:
        weights = ops.cast(ops.greater(weights, 0.0), "float64")
    return bag_matrix(ids, weights, width)


def hashed(ids, weights, width: int, binary: bool = False):
    """``HashingVectorizer``'s matrix before its norm: each column's sum of signs, or with ``binary``
    1 at every column a term fell in, even where the signs cancel (scikit-learn fills the stored
    entries of its sparse matrix, and a cancelled sum is stored)."""
    if binary:
        weights = ops.where(ops.less(ids, width), 1.0, weights)  # keeps the missing-value check
    return bag_matrix(ids, weights, width)


def _normalized(weights, norm: str | None):
    """Rows divided by their l1 or l2 norm, as ``sklearn.preprocessing.normalize``; norm 0 stays."""
    if norm is None:
        return weights
    if norm == "l1":
        size = ops.sum(ops.abs(weights), axis=1, keepdims=True)
    else:
        size = ops.sqrt(ops.sum(ops.square(weights), axis=1, keepdims=True))
    return ops.divide(weights, ops.where(ops.equal(size, 0.0), 1.0, size))


def _tfidf(weights, idf, sublinear: bool, norm: str | None):
    """tf-idf of nonzero ``weights``; ``idf`` broadcasts against them (or is None)."""
    if sublinear:
        nonzero = ops.not_equal(weights, 0.0)
        weights = ops.where(nonzero, ops.log(ops.where(nonzero, weights, 1.0)) + 1.0, 0.0)
    if idf is not None:
        weights = ops.multiply(weights, idf)
    return _normalized(weights, norm)


def normalized(x, norm: str | None):
    """``sklearn.preprocessing.normalize(x, norm)``, on the bag when ``x`` is one; None: ``x``."""
    return x if norm is None else tfidf(x, None, False, norm)


def tfidf(x, idf: np.ndarray | None, sublinear: bool, norm: str | None):
    """``TfidfTransformer.transform`` of ``x``: on its bag when ``x`` is one, else on the dense matrix."""
    bag = recorded(x)
    if isinstance(bag, Bag):
        gathered = None
        if idf is not None:
            gathered = ops.take(f64(np.concatenate([idf, [0.0]])), bag.ids)  # padding: weight 0
        return bag_matrix(bag.ids, _tfidf(bag.weights, gathered, sublinear, norm), bag.width)
    return _tfidf(x, None if idf is None else f64(idf), sublinear, norm)
