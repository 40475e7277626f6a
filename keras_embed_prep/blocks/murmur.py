"""scikit-learn's feature hash in TensorFlow ops: MurmurHash3 x86 32-bit, bit for bit.

``HashingVectorizer`` (through ``FeatureHasher``) hashes the UTF-8 bytes of each term with
``murmurhash3_32(term, seed=0, positive=False)`` and keeps the term at column
``abs(h) % n_features`` with sign ``-1`` where ``h < 0`` (with ``alternate_sign``). TensorFlow has
no 32-bit unsigned multiply that every kernel supports, so the arithmetic runs in int64 on values
below ``2**32``: a product modulo ``2**32`` is formed from the 16-bit halves of one factor, shifts
and rotations are masked to 32 bits. ``tests/test_text.py`` proves the result equal to
``sklearn.utils.murmurhash3_32`` on adversarial terms.
"""

from __future__ import annotations

import tensorflow as tf

_MASK = 0xFFFFFFFF
_C1 = 0xCC9E2D51
_C2 = 0x1B873593


def _mul(a, c: int):
    """``a * c`` modulo ``2**32`` for int64 ``a`` in ``[0, 2**32)``, without int64 overflow."""
    low = tf.bitwise.bitwise_and(a, 0xFFFF) * c  # < 2**48
    high = tf.bitwise.bitwise_and(tf.bitwise.right_shift(a, 16) * c, 0xFFFF)
    return tf.bitwise.bitwise_and(low + tf.bitwise.left_shift(high, 16), _MASK)


def _rotl(x, r: int):
    left = tf.bitwise.bitwise_and(tf.bitwise.left_shift(x, r), _MASK)
    return tf.bitwise.bitwise_or(left, tf.bitwise.right_shift(x, 32 - r))


def _scramble(k):
    return _mul(_rotl(_mul(k, _C1), 15), _C2)


def _fmix(h):
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = _mul(h, 0x85EBCA6B)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13))
    h = _mul(h, 0xC2B2AE35)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def _words(octets, at):
    """The little-endian 32-bit words of the 4 bytes of ``octets`` from each offset ``at``."""
    quads = tf.gather(octets, at[:, None] + tf.range(4, dtype=tf.int64))
    return tf.reduce_sum(tf.bitwise.left_shift(quads, tf.constant([0, 8, 16, 24], dtype=tf.int64)), axis=1)


def _blocks(octets, start, whole):
    """The hash state of each term after its ``whole`` 4-byte blocks (the body of MurmurHash3).

    The blocks of a term are folded in order, so the loop runs over block positions, on the terms
    long enough to have one there: terms sorted by block count, longest first, so that at position
    ``j`` the terms still running are a prefix of the order. The work is the number of blocks,
    not terms times the longest term (one long token in a batch costs its own length only).
    """
    n = tf.size(whole, out_type=tf.int64)
    order = tf.argsort(whole, direction="DESCENDING", stable=True)
    first = tf.gather(start, order)
    steps = tf.cast(tf.reduce_max(tf.concat([whole, [0]], 0)), tf.int32)  # TensorArray indices: int32
    # running[j]: the terms with more than j blocks
    blocks = tf.range(steps, dtype=tf.int64)
    running = n - tf.searchsorted(tf.sort(whole), blocks, side="right", out_type=tf.int64)
    done = tf.TensorArray(tf.int64, size=steps + 1, infer_shape=False, element_shape=[None])

    def body(j, h, done):
        live = running[j]
        done = done.write(steps - j, h[live:])  # the terms of exactly j blocks are finished
        k = _scramble(_words(octets, first[:live] + 4 * tf.cast(j, tf.int64)))
        mixed = _rotl(tf.bitwise.bitwise_xor(h[:live], k), 13)
        return j + 1, tf.bitwise.bitwise_and(mixed * 5 + 0xE6546B64, _MASK), done

    _, h, done = tf.while_loop(
        lambda j, h, done: j < steps,
        body,
        (tf.constant(0, tf.int32), tf.zeros([n], tf.int64), done),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape(None)),
    )
    by_order = done.write(0, h).concat()  # longest first: the last ones running, then each step's
    return tf.scatter_nd(order[:, None], by_order, [n])


def murmurhash3_32(terms):
    """The signed MurmurHash3 x86 32-bit hash (seed 0) of each string's bytes, as int64 ``(n,)``."""
    terms = tf.reshape(terms, [-1])
    pieces = tf.strings.bytes_split(terms)
    octets = tf.cast(tf.reshape(tf.io.decode_raw(pieces.flat_values, tf.uint8), [-1]), tf.int64)
    octets = tf.concat([octets, tf.zeros([4], tf.int64)], 0)  # every read below stays in range
    start = pieces.row_splits[:-1]
    length = pieces.row_lengths()
    whole = length // 4
    h = _blocks(octets, start, whole)
    # the 1 to 3 tail bytes (reading none when there is no tail, as in the reference)
    at = start + 4 * whole
    tail = tf.gather(octets, at[:, None] + tf.range(3, dtype=tf.int64))
    inside = at[:, None] + tf.range(3, dtype=tf.int64) < (start + length)[:, None]
    tail = tf.where(inside, tail, tf.zeros_like(tail))
    k = tf.reduce_sum(tf.bitwise.left_shift(tail, tf.constant([0, 8, 16], dtype=tf.int64)), axis=1)
    h = tf.bitwise.bitwise_xor(h, _scramble(k))
    h = _fmix(tf.bitwise.bitwise_xor(h, tf.bitwise.bitwise_and(length, _MASK)))
    return tf.where(h >= 2**31, h - 2**32, h)


def hashed_columns(terms, n_features: int, alternate_sign: bool):
    """``(column, sign)`` of each term, int64, as scikit-learn's ``FeatureHasher`` places it.

    The column is ``abs(h) % n_features`` (scikit-learn special-cases ``h == -2**31`` to the same
    value, ``2**31 % n_features``); the sign is ``-1`` where ``h < 0`` with ``alternate_sign``.
    """
    h = murmurhash3_32(terms)
    column = tf.math.floormod(tf.abs(h), n_features)
    sign = tf.where(h < 0, -1, 1) if alternate_sign else tf.ones_like(h)
    return column, tf.cast(sign, tf.int64)
