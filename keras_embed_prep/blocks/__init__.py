"""The reusable math of the converters, as builders of Keras graph pieces.

Every function takes symbolic Keras tensors and returns symbolic Keras tensors
built from stock Keras layers and ``keras.ops`` calls, so a saved model loads
without keras_embed_prep. Numeric work is done in float64 with float64
constants, in the same order of operations as scikit-learn (subtract then
divide, never multiply by a reciprocal), and cast to float32 only once, at the
end of :func:`keras_embed_prep.to_keras`. On a column offset by 1e6 with a spread
of 1, float32 arithmetic loses about 4e-4; float64 meets the 1e-5 tolerance.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

#: Below this a row norm counts as zero, as in scikit-learn's ``_handle_zeros_in_scale``
#: on float64 data (the graph computes in float64).
_ZERO_NORM = 10 * np.finfo(np.float64).eps

_uid = itertools.count(1)


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


#: Attribute under which affine blocks record ``(source, center, divisor, multiplier, shift)``.
_AFFINE = "_keras_embed_prep_affine"


def _remember_affine(y, x, center=None, divisor=None, multiplier=None, shift=None):
    """Record ``y = ((x - center) / divisor) * multiplier + shift`` for folding (see fuse.py)."""
    if y is not x:
        setattr(y, _AFFINE, (x, center, divisor, multiplier, shift))
    return y


def affine_of(y):
    """``(source, center, divisor, multiplier, shift)`` if ``y`` came from an affine block, else None."""
    return getattr(y, _AFFINE, None)


def center_scale(x, center=None, scale=None):
    """``(x - center) / scale``, each step optional, in float64."""
    y = x
    if center is not None:
        y = ops.subtract(y, f64(center))
    if scale is not None:
        y = ops.divide(y, f64(scale))
    return _remember_affine(y, x, center=center, divisor=scale)


def scale_shift(x, scale=None, shift=None):
    """``x * scale + shift``, each step optional, in float64 (MinMaxScaler's own order)."""
    y = x
    if scale is not None:
        y = ops.multiply(y, f64(scale))
    if shift is not None:
        y = ops.add(y, f64(shift))
    return _remember_affine(y, x, multiplier=scale, shift=shift)


def clip(x, low: float, high: float):
    """Clip to ``[low, high]``; NaN stays NaN, as with ``np.clip``."""
    return ops.clip(x, np.float64(low), np.float64(high))


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


def take_columns(x, indices: Sequence[int]):
    """Columns ``indices`` of ``x``, in that order, as one gather."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == int(x.shape[-1]) and np.array_equal(indices, np.arange(indices.size)):
        return x
    return ops.take(x, indices, axis=1)


#: Attribute names under which blocks record how a tensor was made, for :func:`segments`.
_PARTS = "_keras_embed_prep_parts"
_ONE_HOT = "_keras_embed_prep_one_hot"


def concat(parts: Sequence):
    """Concatenate blocks along the feature axis (remembering the parts, see :func:`segments`)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    y = ops.concatenate(parts, axis=1)
    setattr(y, _PARTS, parts)
    return y


def segments(y) -> list[tuple]:
    """How the symbolic tensor ``y`` is made, as column blocks in order.

    ``("one_hot", tensor, positions, width)`` for a block built by :func:`one_hot`,
    ``("dense", tensor)`` for anything else. Lets :func:`keras_embed_prep.embed` look
    up the first Dense layer's kernel rows instead of multiplying a wide one-hot matrix.
    """
    parts = getattr(y, _PARTS, None)
    if parts is not None:
        return [segment for part in parts for segment in segments(part)]
    one_hot_of = getattr(y, _ONE_HOT, None)
    if one_hot_of is not None:
        return [("one_hot", y, *one_hot_of)]
    return [("dense", y)]


def project(x, components, mean=None, whiten_variance=None):
    """``x @ components.T - mean @ components.T``, then divide by ``sqrt(whiten_variance)``.

    The same order as scikit-learn's ``PCA.transform``: project first, subtract the
    projected mean second; whitening divides by ``sqrt(explained_variance_)``
    clipped below at float64 machine epsilon. The matrix lives in a float64
    ``Dense`` layer so it is stored as a weight, not as JSON.
    """
    components = f64(components)
    kernel = components.T
    use_bias = mean is not None
    layer = keras.layers.Dense(
        kernel.shape[1], use_bias=use_bias, dtype="float64", name=f"projection_{next(_uid)}"
    )
    y = layer(x)
    weights = [kernel]
    if use_bias:
        # Dense adds its bias; adding -m is bit-identical to subtracting m.
        weights.append(-(f64(mean).reshape(1, -1) @ kernel).reshape(-1))
    layer.set_weights(weights)
    if whiten_variance is not None:
        scale = np.sqrt(f64(whiten_variance))
        scale = np.maximum(scale, np.finfo(np.float64).eps)
        y = ops.divide(y, scale)
    return y


def normalize_rows(x, norm: str):
    """Divide each row by its l1, l2 or max norm; norms below 10 * eps count as 1."""
    if norm == "l1":
        norms = ops.sum(ops.abs(x), axis=1, keepdims=True)
    elif norm == "l2":
        norms = ops.sqrt(ops.sum(ops.multiply(x, x), axis=1, keepdims=True))
    elif norm == "max":
        norms = ops.max(ops.abs(x), axis=1, keepdims=True)
    else:  # converters validate before calling
        raise ValueError(f"norm must be 'l1', 'l2' or 'max'. Received: {norm!r}.")
    norms = ops.where(ops.less(norms, np.float64(_ZERO_NORM)), np.float64(1.0), norms)
    return ops.divide(x, norms)


def monomials(x, powers):
    """Products of columns: output ``j`` is ``prod_i x[:, i] ** powers[j, i]``.

    Computed as repeated multiplications of gathered columns (no ``pow``), the way
    scikit-learn builds ``PolynomialFeatures``: memory is ``batch x n_outputs``
    per factor, never ``batch x n_outputs x n_features``.
    """
    powers = np.asarray(powers, dtype=np.int64)
    n_out, n_features = powers.shape
    degree = max(int(powers.sum(axis=1).max(initial=0)), 1)
    # Row j lists its factors' column indices; index n_features is a column of ones.
    factors = np.full((n_out, degree), n_features, dtype=np.int64)
    for j, row in enumerate(powers):
        idx = np.repeat(np.arange(n_features), row)
        factors[j, : idx.size] = idx
    ones = ops.ones_like(ops.take(x, np.array([0]), axis=1))
    extended = ops.concatenate([x, ones], axis=1)
    y = ops.take(extended, factors[:, 0], axis=1)
    for k in range(1, degree):
        if np.all(factors[:, k] == n_features):
            break
        y = ops.multiply(y, ops.take(extended, factors[:, k], axis=1))
    return y


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
    uid = next(_uid)
    if isinstance(reason, str):
        reasons, code = [reason], ops.cast(flags, "int64")
    else:
        reasons = list(reason)
        flagged = ops.any(flags, axis=1)
        first = ops.argmax(ops.cast(flags, "int32"), axis=1)
        code = ops.where(flagged, ops.cast(first, "int64") + 1, 0)
    to_text = keras.layers.StringLookup(
        vocabulary=["ok", *reasons], num_oov_indices=0, invert=True, name=f"check_{uid}_reason"
    )
    check = keras.layers.StringLookup(vocabulary=["ok"], num_oov_indices=0, name=f"check_{uid}")
    zeros = check(to_text(code))
    return ops.expand_dims(as_float64(zeros), 1)


def one_hot(positions, width: int):
    """Multi-hot float64 ``(batch, width)`` from int positions ``(batch, k)``.

    Each row sets a 1.0 at each of its ``k`` positions (one per input column, each
    column owning its own range of outputs, so no position repeats within a row).
    A position equal to ``width`` means "no output" (dropped or ignored unknown
    category): it lands in an extra slot that is cut off. A stock
    ``CategoryEncoding`` layer, so the graph does not grow with the number of columns.
    """
    encode = keras.layers.CategoryEncoding(
        num_tokens=width + 1, output_mode="multi_hot", name=f"one_hot_{next(_uid)}"
    )
    positions = ops.cast(positions, "int64")
    hot = encode(positions)
    # A slice, not a gather, drops the extra slot; 0.0/1.0 need no subnormal care (plain cast).
    y = ops.cast(hot[:, :width], "float64")
    setattr(y, _ONE_HOT, (positions, width))
    return y


# --- categories ---------------------------------------------------------------------------

#: What :func:`keras_embed_prep.to_inputs` writes for None / NaN / pd.NA in a text column, and
#: what a fitted missing category (None or NaN in ``categories_``) becomes in the graph.
MISSING = "__missing__"

#: StringLookup's out-of-vocabulary token. Never a user-facing value; a category equal to it
#: is refused (with Keras' default '[UNK]', a real '[UNK]' category silently became OOV).
_OOV = "\x00keras_embed_prep:oov\x00"


def is_missing(value) -> bool:
    """None, NaN, pd.NA and NaT count as a missing category, as in scikit-learn."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT; pd.NA raises on bool()
    except TypeError:
        return True


#: scikit-learn never matches a ``None`` given by hand in ``categories``: None and NaN
#: inputs are both unknown to it. This vocabulary entry is never produced by inputs.
_NEVER = "\x00keras_embed_prep:none\x00"


def category_text(value) -> str:
    """A text value as the graph sees it: missing values become :data:`MISSING`."""
    return MISSING if is_missing(value) else str(value)


def _fitted_category_text(value) -> str:
    """A fitted text category: NaN is the missing category, a hand-given None matches nothing."""
    return _NEVER if value is None else category_text(value)


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


def _ids_text(x, categories: Sequence[Sequence[str]]):
    """Ids in one shared vocabulary: 0 unknown, 1.. the sorted union of all categories."""
    vocabulary = sorted({c for cats in categories for c in cats})
    lookup = keras.layers.StringLookup(
        vocabulary=vocabulary,
        num_oov_indices=1,
        oov_token=_OOV,
        mask_token=None,
        name=f"categories_{next(_uid)}",
    )
    rank = {c: i + 1 for i, c in enumerate(vocabulary)}
    return lookup(x), [[rank[c] for c in cats] for cats in categories], len(vocabulary) + 1


def _ids_numbers(x, categories: Sequence[np.ndarray]):
    """Ids in one shared sorted float64 vocabulary: 0 unknown, n + 1 NaN."""
    numbers = np.array(sorted({float(v) for cats in categories for v in cats if not np.isnan(v)}))
    n = numbers.size
    if n:
        pos = ops.minimum(ops.cast(ops.searchsorted(numbers, ops.reshape(x, (-1,))), "int64"), n - 1)
        pos = ops.reshape(pos, (-1, int(x.shape[-1])))
        ids = ops.where(ops.equal(ops.take(numbers, pos), x), pos + 1, 0)
    else:
        ids = ops.zeros_like(ops.cast(x, "int64"))
    ids = ops.where(ops.isnan(x), n + 1, ids)
    rank = {v: i + 1 for i, v in enumerate(numbers.tolist())}
    cat_ids = [[n + 1 if np.isnan(v) else rank[float(v)] for v in cats] for cats in categories]
    return ids, cat_ids, n + 2


def _flat_index(ids, cat_ids, n_ids: int, offsets: np.ndarray, unknown: np.ndarray):
    """Map (column, id) to ``offsets[column] + position``, or ``unknown[column]``, in one search."""
    keys, flat = [], []
    for c, column in enumerate(cat_ids):
        for position, i in enumerate(column):
            keys.append(c * n_ids + i)
            flat.append(offsets[c] + position)
    codes = ops.add(ops.cast(ids, "int64"), np.arange(len(cat_ids), dtype=np.int64) * n_ids)
    if not keys:
        return ops.add(ops.zeros_like(codes), unknown)
    order = np.argsort(keys)
    keys = np.asarray(keys, dtype=np.int64)[order]
    flat = np.asarray(flat, dtype=np.int64)[order]
    pos = ops.searchsorted(keys, ops.reshape(codes, (-1,)))
    pos = ops.reshape(ops.minimum(ops.cast(pos, "int64"), keys.size - 1), (-1, len(cat_ids)))
    return ops.where(ops.equal(ops.take(keys, pos), codes), ops.take(flat, pos), unknown)


def category_index(x, categories: Sequence[np.ndarray]):
    """Flat index of each cell's category: ``offsets[c] + position in categories[c]``.

    ``x`` is a text ``(batch, k)`` tensor, a float64 one, or :class:`Columns` mixing
    both; ``categories`` are the fitted ``categories_`` (missing categories included,
    matched by :data:`MISSING` in text columns and by NaN in numeric ones). An unknown
    value in column ``c`` gets ``total + c``, where ``total`` counts all (column,
    category) pairs, so a table indexed by the result has ``total + k`` rows, the last
    ``k`` holding each column's value for unknown categories.

    Text columns go through one ``StringLookup`` over the union of their categories,
    numbers through one float64 ``searchsorted``, and one more search over
    ``column * n_ids + id`` finds the pair: a constant number of graph nodes, and
    constants that grow with the vocabulary, not with the number of columns.
    """
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in categories])]).astype(np.int64)
    columns = x if isinstance(x, Columns) else Columns.of(x)
    parts, order = [], []
    for kind, tensor, idx in columns.parts():
        cats = [categories[i] for i in idx]
        if kind == "text":
            ids, cat_ids, n_ids = _ids_text(tensor, [[_fitted_category_text(v) for v in c] for c in cats])
        else:
            ids, cat_ids, n_ids = _ids_numbers(tensor, [np.asarray(c, dtype=np.float64) for c in cats])
        unknown = offsets[-1] + np.asarray(idx, dtype=np.int64)
        parts.append(_flat_index(ids, cat_ids, n_ids, offsets[idx], unknown))
        order.extend(idx)
    return take_columns(concat(parts), np.argsort(order))


def fill_text_where(x, mask, values: Sequence[str]):
    """``values[c]`` where ``mask`` is true in text column ``c``, ``x`` elsewhere.

    Keras type promotion rejects ``where`` between two string tensors but accepts a
    string scalar, so there is one ``where`` per distinct fill value (one for
    ``strategy="constant"``), each restricted to the columns that use it.
    """
    for value in sorted(set(values)):
        columns = np.array([v == value for v in values])
        hit = mask if columns.all() else ops.logical_and(mask, columns)
        x = ops.where(hit, value, x)
    return x


def lookup_table(flat, table):
    """``table[flat]``: per-cell values from a table of ``total + k`` rows (see category_index)."""
    return ops.take(f64(table), flat) if np.asarray(table).dtype.kind == "f" else ops.take(table, flat)


# --- bins ---------------------------------------------------------------------------------


def bucketize(x, edges: Sequence[np.ndarray]):
    """Per column ``np.searchsorted(edges[j], x[:, j], side="right")``, as float64 ``(batch, n)``.

    ``edges[j]`` are column ``j``'s sorted inner bin edges (any number per column, none
    for a single bin). ``searchsorted(side="right")`` on sorted edges counts the edges
    ``<= x``, so ``x`` ``(batch, n, 1)`` is compared in float64 with one padded float64
    ``(1, n, max_edges)`` matrix and the hits are counted: a constant number of graph
    nodes for any number of columns. Padding is the largest float64, not ``inf``, so
    the saved config stays strict JSON; the count is capped at ``len(edges[j])``, so a
    value at or above the padding (``+inf``) lands in the last bin. NaN compares false
    with every edge and lands in bin 0. Never float32 edges: they move boundaries by
    up to half a float32 ulp, which on a narrow column puts many values in the wrong bin.
    """
    counts = np.array([len(e) for e in edges], dtype=np.int32)
    table = np.full((1, len(edges), max(int(counts.max(initial=0)), 1)), np.finfo(np.float64).max)
    for j, e in enumerate(edges):
        table[0, j, : len(e)] = e
    hits = ops.less_equal(table, ops.expand_dims(as_float64(x), 2))
    bins = ops.minimum(ops.sum(ops.cast(hits, "int32"), axis=2), counts)
    return as_float64(bins)


# --- nonlinear maps: power transforms, quantiles, splines ---------------------------------------

#: float64 machine epsilon (``np.spacing(1.0)``): scipy's threshold for the Yeo-Johnson branches.
_EPS = float(np.finfo(np.float64).eps)


def _divisor(x, values):
    """``values`` (one per column) as a ``(batch, n)`` tensor computed from ``x``, to divide by.

    TensorFlow's graph optimizer (grappler constant folding, which runs for SavedModel
    serving, ``tf.function`` and ``model.predict``) rewrites ``y / constant`` into
    ``y * (1 / constant)``, one ulp away from scikit-learn's division; a divisor that
    depends on the input is left alone. Where ``x`` is NaN the result is NaN anyway.
    """
    return ops.where(ops.isnan(x), 1.0, f64(values))


def yeo_johnson(x, lambdas):
    """``scipy.stats.yeojohnson(x[:, j], lambdas[j])`` for every column at once, in float64.

    scipy's own formulas and branches: for ``x >= 0``, ``log1p(x)`` if
    ``|lambda| < eps`` else ``expm1(lambda * log1p(x)) / lambda``; for ``x < 0``,
    ``-log1p(-x)`` if ``|lambda - 2| <= eps`` else
    ``-expm1((2 - lambda) * log1p(-x)) / (2 - lambda)``. The branch is chosen per
    column from the constant ``lambdas``; NaN falls in the ``x < 0`` branch and stays NaN.
    """
    lam = f64(lambdas)
    log_branch = np.abs(lam) < _EPS
    neg_log_branch = ~(np.abs(lam - 2.0) > _EPS)
    lam_pos = np.where(log_branch, 1.0, lam)
    lam_neg = np.where(neg_log_branch, 1.0, 2.0 - lam)
    log_pos = ops.log1p(x)
    pos = ops.divide(ops.expm1(ops.multiply(log_pos, lam_pos)), _divisor(x, lam_pos))
    pos = ops.where(log_branch, log_pos, pos)
    log_neg = ops.log1p(ops.negative(x))
    neg = ops.divide(ops.negative(ops.expm1(ops.multiply(log_neg, lam_neg))), _divisor(x, lam_neg))
    neg = ops.where(neg_log_branch, ops.negative(log_neg), neg)
    return ops.where(ops.greater_equal(x, 0.0), pos, neg)


def box_cox(x, lambdas):
    """``scipy.special.boxcox(x[:, j], lambdas[j])`` for every column at once, in float64.

    scipy's three branches: ``log(x)`` if ``|lambda| < 1e-19``; else
    ``expm1(lambda * log(x)) / lambda`` while ``lambda * log(x) < 709.78``; beyond,
    where ``expm1`` would overflow, ``sign(lambda) * exp(lambda * log(x) - log|lambda|) - 1 / lambda``.
    """
    lam = f64(lambdas)
    log_branch = np.abs(lam) < 1e-19
    lam = np.where(log_branch, 1.0, lam)
    log_x = ops.log(x)
    power = ops.multiply(log_x, lam)
    regular = ops.divide(ops.expm1(power), _divisor(x, lam))
    large = ops.subtract(
        ops.multiply(ops.exp(ops.subtract(power, np.log(np.abs(lam)))), np.copysign(1.0, lam)), 1.0 / lam
    )
    y = ops.where(ops.less(power, 709.78), regular, large)
    return ops.where(log_branch, log_x, y)


def _count_at_most(x, table):
    """Per column, how many entries of ``table[j]`` are ``<= x[:, j]`` (int32 ``(batch, n)``).

    ``searchsorted(table[j], x[:, j], side="right")`` for all columns at once: one
    float64 comparison with the ``(n, k)`` table, ``batch * n * k`` booleans. NaN counts 0.
    """
    hits = ops.less_equal(f64(table), ops.expand_dims(x, -1))
    return ops.sum(ops.cast(hits, "int32"), axis=-1)


def interpolate(x, xp, fp):
    """``np.interp(x[:, j], xp[j], fp[j])`` for every column ``j`` at once, in float64.

    ``xp`` is ``(n, k)``, non-decreasing along each row (repeated values allowed);
    ``fp`` is ``(n, k)`` or ``(k,)``. numpy's own rules: ``j`` is the last point with
    ``xp[j] <= x``; below the first point ``fp[0]``, at or above the last ``fp[-1]``,
    ``fp[j]`` where ``x == xp[j]``, else ``slope * (x - xp[j]) + fp[j]`` with
    ``slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])``. NaN gives NaN. (numpy's retry
    from the right end when that yields NaN needs non-finite points, which fitted
    tables do not hold.)
    """
    xp = f64(xp)
    n_columns, n_points = xp.shape
    fp = np.broadcast_to(f64(fp), xp.shape)
    if n_points == 1:
        y = ops.add(ops.zeros_like(x), fp[:, 0])
        return ops.where(ops.isnan(x), x, y)
    j = ops.subtract(_count_at_most(x, xp), 1)
    offsets = np.arange(n_columns, dtype=np.int32) * n_points
    at = ops.add(ops.clip(j, 0, n_points - 2), offsets)
    flat_x, flat_y = xp.reshape(-1), fp.reshape(-1)
    x0, x1 = ops.take(flat_x, at), ops.take(flat_x, ops.add(at, 1))
    y0, y1 = ops.take(flat_y, at), ops.take(flat_y, ops.add(at, 1))
    slope = ops.divide(ops.subtract(y1, y0), ops.subtract(x1, x0))
    y = ops.add(ops.multiply(slope, ops.subtract(x, x0)), y0)
    y = ops.where(ops.equal(x, x0), y0, y)
    y = ops.where(ops.less(j, 0), fp[:, 0], y)
    y = ops.where(ops.greater_equal(j, n_points - 1), fp[:, -1], y)
    return ops.where(ops.isnan(x), x, y)


def normal_ppf(p):
    """The standard normal quantile function, ``sqrt(2) * erfinv(2p - 1)``, in float64.

    Equal to ``scipy.special.ndtri`` within about 1e-11 on (0, 1); ``-inf`` at 0 and
    ``inf`` at 1, NaN for NaN.
    """
    return ops.multiply(ops.erfinv(ops.subtract(ops.multiply(p, 2.0), 1.0)), np.sqrt(2.0))


#: scikit-learn's ``BOUNDS_THRESHOLD`` for QuantileTransformer.
QUANTILE_BOUNDS_THRESHOLD = 1e-7


def quantile_transform(x, quantiles, references, output_distribution: str):
    """QuantileTransformer's forward map, column by column, in float64.

    ``quantiles`` is ``(n_quantiles, n)`` and ``references`` ``(n_quantiles,)``, as
    fitted. scikit-learn's steps in its order: the mean of the interpolation upwards
    and downwards, ``0.5 * (interp(x, q, r) - interp(-x, -q[::-1], -r[::-1]))``, which
    averages over repeated quantiles; then values at the upper bound become 1 and at
    the lower bound 0 (lower wins), the bounds being ``x == q[0]`` / ``x == q[-1]`` for
    the uniform output and ``x - 1e-7 < q[0]`` / ``x + 1e-7 > q[-1]`` for the normal
    one; for the normal output, the normal quantile function clipped to
    ``ndtri(1e-7 - eps)`` and ``ndtri(1 - (1e-7 - eps))``. NaN stays NaN.
    """
    from scipy.special import ndtri

    q = f64(quantiles).T
    r = f64(references)
    up = interpolate(x, q, r)
    down = interpolate(ops.negative(x), -q[:, ::-1], -r[::-1])
    p = ops.multiply(ops.subtract(up, down), 0.5)
    if output_distribution == "normal":
        lower = ops.less(ops.subtract(x, QUANTILE_BOUNDS_THRESHOLD), q[:, 0])
        upper = ops.greater(ops.add(x, QUANTILE_BOUNDS_THRESHOLD), q[:, -1])
    else:
        lower = ops.equal(x, q[:, 0])
        upper = ops.equal(x, q[:, -1])
    p = ops.where(upper, 1.0, p)
    p = ops.where(lower, 0.0, p)
    if output_distribution != "normal":
        return p
    margin = QUANTILE_BOUNDS_THRESHOLD - np.spacing(1.0)
    return ops.clip(normal_ppf(p), float(ndtri(margin)), float(ndtri(1.0 - margin)))


def _de_boor(x, knots: np.ndarray, interval, degree: int, derivative: bool):
    """scipy's ``_deBoor_D`` at ``x`` on knot ``interval``, per column, as ``degree + 1`` tensors.

    ``h[a]`` is the B-spline ``interval - degree + a`` (or its first derivative) at
    ``x``. scipy's steps literally, in its order of operations, its zero-initialized
    work array and its handling of empty knot spans included. The knots are gathered by
    the interval, so every division is by a computed tensor: TensorFlow's graph
    optimizer (SavedModel serving, ``tf.function``) rewrites a division by a constant
    into a multiplication by its reciprocal, one ulp off scikit-learn.
    """
    n_columns, n_knots = knots.shape
    flat = knots.reshape(-1)
    base = ops.add(interval, np.arange(n_columns, dtype=np.int32) * n_knots)

    def knot(offset: int):
        return ops.take(flat, ops.add(base, offset))

    zeros = ops.zeros_like(x)
    h = [ops.ones_like(x)] + [zeros] * degree
    levels = degree - 1 if derivative else degree
    for j in range(1, levels + 1):
        hh = h[:j]
        h[0] = zeros
        for n in range(1, j + 1):
            xb, xa = knot(n), knot(n - j)
            empty = ops.equal(xb, xa)
            w = ops.divide(hh[n - 1], ops.where(empty, 1.0, ops.subtract(xb, xa)))
            h[n - 1] = ops.where(empty, h[n - 1], ops.add(h[n - 1], ops.multiply(w, ops.subtract(xb, x))))
            h[n] = ops.where(empty, 0.0, ops.multiply(w, ops.subtract(x, xa)))
    if derivative and degree > 0:
        j = degree
        hh = h[:j]
        h[0] = zeros
        for n in range(1, j + 1):
            xb, xa = knot(n), knot(n - j)
            empty = ops.equal(xb, xa)
            w = ops.divide(ops.multiply(hh[n - 1], float(j)), ops.where(empty, 1.0, ops.subtract(xb, xa)))
            h[n - 1] = ops.where(empty, h[n - 1], ops.subtract(h[n - 1], w))
            h[n] = ops.where(empty, h[n], w)
            h[1] = ops.where(empty, 0.0, h[1])  # scipy sets h[m] (m = 1), not h[n], on an empty span
    elif derivative:
        h[0] = zeros
    return h


def bspline_basis(x, knots, degree: int, derivative: bool = False):
    """All B-splines of ``degree`` over each column's ``knots``, at ``x``, in float64.

    ``x`` is ``(batch, n)``, ``knots`` ``(n, m)``; returns ``(batch, n, m - degree - 1)``
    values (or, with ``derivative=True``, first derivatives). As
    ``scipy.interpolate.BSpline(..., extrapolate=True)``: ``x`` is placed in the knot
    interval ``l``, the last with ``t[l] <= x``, kept within ``[degree, m - degree - 2]``
    (so a value at the last base knot uses the last interval and values outside extend
    the first or last polynomial piece); scipy's de Boor recursion gives the
    ``degree + 1`` splines that are nonzero there, and every other spline is 0.
    """
    t = f64(knots)
    n_knots = t.shape[1]
    n_basis = n_knots - degree - 1
    interval = ops.clip(ops.subtract(_count_at_most(x, t), 1), degree, n_basis - 1)
    h = _de_boor(x, t, interval, degree, derivative)
    index = ops.expand_dims(ops.subtract(interval, degree), -1)
    positions = np.arange(n_basis, dtype=np.int32)
    basis = ops.zeros_like(ops.multiply(ops.expand_dims(x, -1), positions.astype(np.float64)))
    for a, value in enumerate(h):
        hit = ops.equal(ops.add(index, a), positions)
        basis = ops.where(hit, ops.expand_dims(value, -1), basis)
    return basis


def _spline_combine(basis, coefficients):
    """``sum_i c[j, i, s] * B_i(x_j)``: scipy's ``BSpline.__call__`` with a 2-D ``c``."""
    c = f64(coefficients)
    if c.shape[1] == c.shape[2] and np.array_equal(c, np.broadcast_to(np.eye(c.shape[1]), c.shape)):
        return basis
    return ops.einsum("bjn,jns->bjs", basis, c)


def spline_features(x, knots, coefficients, degree: int, extrapolation: str):
    """SplineTransformer's dense output: ``(batch, n)`` -> ``(batch, n * n_splines)``, float64.

    ``knots`` ``(n, m)`` and ``coefficients`` ``(n, m - degree - 1, n_splines)`` are
    each column's fitted ``BSpline.t`` and ``BSpline.c``. scikit-learn's rules, with
    ``lo = t[degree]`` and ``hi = t[m - degree - 1]``:

    - ``"continue"`` / ``"error"``: the splines at ``x`` (extended beyond the knots;
      the caller makes ``"error"`` fail there).
    - ``"periodic"``: at ``lo + (x - lo) % (hi - lo)``, or at 0 where ``hi == lo``.
    - ``"constant"``: inside ``[lo, hi]`` the splines; below ``lo`` the first
      ``degree`` splines keep their value at ``lo``, above ``hi`` the last ``degree``
      their value at ``hi``; every other output is 0.
    - ``"linear"``: the same columns (``degree + 1`` of them for degree 0 or 1) continue
      as ``f(lo) + (x - lo) * f'(lo)`` below and ``f(hi) + (x - hi) * f'(hi)`` above.
      For degree 0 or 1, scikit-learn raises its loop variable ``degree`` in the first
      column(s) and keeps it for the next ones, which then take ``lo = t[degree']`` and
      ``hi = t[m - degree' - 1]`` with the raised ``degree'``: reproduced as is.

    NaN gives zeros (``handle_missing="zeros"``).
    """
    t = f64(knots)
    n_columns, n_knots = t.shape
    lo, hi = t[:, degree], t[:, n_knots - degree - 1]
    n_splines = int(np.shape(coefficients)[-1])
    missing = ops.expand_dims(ops.isnan(x), -1)
    if extrapolation == "periodic":
        period = hi - lo
        has_period = period > 0
        wrapped = ops.add(ops.mod(ops.subtract(x, lo), np.where(has_period, period, 1.0)), lo)
        x = ops.where(has_period, wrapped, 0.0)
    if extrapolation not in ("constant", "linear"):
        y = _spline_combine(bspline_basis(x, t, degree), coefficients)
    else:
        bound, reach = _spline_edges(n_columns, degree, extrapolation)
        lo = t[np.arange(n_columns), bound]
        hi = t[np.arange(n_columns), n_knots - bound - 1]
        inside = ops.expand_dims(ops.logical_and(ops.greater_equal(x, lo), ops.less_equal(x, hi)), -1)
        below = ops.expand_dims(ops.less(x, lo), -1)
        above = ops.expand_dims(ops.greater(x, hi), -1)
        edge = ops.minimum(ops.maximum(x, lo), hi)
        first = np.arange(n_splines) < reach[:, None]
        last = np.arange(n_splines) >= n_splines - reach[:, None]
        if extrapolation == "constant":
            values = _spline_combine(bspline_basis(edge, t, degree), coefficients)
            keep = ops.logical_or(
                inside,
                ops.logical_or(ops.logical_and(below, first), ops.logical_and(above, last)),
            )
            y = ops.where(keep, values, 0.0)
        else:
            values = _spline_combine(bspline_basis(edge, t, degree), coefficients)
            slope = _spline_combine(bspline_basis(edge, t, degree, derivative=True), coefficients)
            under = ops.add(values, ops.multiply(ops.expand_dims(ops.subtract(x, lo), -1), slope))
            over = ops.add(values, ops.multiply(ops.expand_dims(ops.subtract(x, hi), -1), slope))
            y = ops.where(ops.logical_and(above, last), over, 0.0)
            y = ops.where(ops.logical_and(below, first), under, y)
            y = ops.where(inside, values, y)
    y = ops.where(missing, 0.0, y)
    return ops.reshape(y, (-1, n_columns * n_splines))


def _spline_edges(n_columns: int, degree: int, extrapolation: str):
    """Per column: the knot index of the boundary, and how many splines extrapolate.

    scikit-learn's own loop over columns, whose ``degree`` variable the
    ``"linear"`` branch raises (``if degree <= 1: degree += 1``) and never resets.
    """
    bound, reach = [], []
    for _ in range(n_columns):
        bound.append(degree)
        if extrapolation == "linear" and degree <= 1:
            degree += 1
        reach.append(degree)
    return np.array(bound), np.array(reach)


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


# --- decoding ------------------------------------------------------------------------------


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
            name=f"labels_{next(_uid)}",
        )
        return to_text(ops.cast(index, "int64"))
    if classes.dtype.kind in "iu":
        return ops.take(classes.astype(np.int64), index)
    return ops.take(f64(classes), index)


# --- inverse nonlinear maps (decoded targets) ---------------------------------------------------


def _held(x, values):
    """``values`` (one per column) as a tensor computed from ``x`` (see :func:`_divisor`).

    For a divisor, and also for a ``pow`` exponent and the ``1`` in ``exp(x) - 1``, which
    TensorFlow's graph optimizer would otherwise rewrite when they are constants
    (``pow(x, 0.5)`` to ``sqrt``, ``exp(x) - 1`` to ``expm1``): the served model then
    computes what the eager one does.
    """
    return _divisor(x, values)


def yeo_johnson_inverse(x, lambdas):
    """``PowerTransformer._yeo_johnson_inverse_transform(x[:, j], lambdas[j])``, in float64.

    scikit-learn's formulas literally, per column: for ``x >= 0``, ``exp(x) - 1`` if
    ``|lambda| < eps`` else ``(x * lambda + 1) ** (1 / lambda) - 1``; for ``x < 0``,
    ``1 - exp(-x)`` if ``|lambda - 2| <= eps`` else
    ``1 - (-(2 - lambda) * x + 1) ** (1 / (2 - lambda))``. A negative base gives NaN and
    a zero base with a negative exponent ``inf``, as ``np.power``; NaN stays NaN.
    """
    lam = f64(lambdas)
    log_branch = np.abs(lam) < _EPS
    neg_log_branch = ~(np.abs(lam - 2.0) > _EPS)
    lam_pos = np.where(log_branch, 1.0, lam)
    lam_neg = np.where(neg_log_branch, 1.0, 2.0 - lam)
    base = ops.add(ops.multiply(x, lam_pos), 1.0)
    pos = ops.subtract(ops.power(base, _held(x, 1.0 / lam_pos)), 1.0)
    pos = ops.where(log_branch, ops.subtract(ops.exp(x), _held(x, np.ones_like(lam))), pos)
    base = ops.add(ops.multiply(x, -lam_neg), 1.0)
    neg = ops.subtract(1.0, ops.power(base, _held(x, 1.0 / lam_neg)))
    neg = ops.where(neg_log_branch, ops.subtract(1.0, ops.exp(ops.negative(x))), neg)
    return ops.where(ops.greater_equal(x, 0.0), pos, neg)


def box_cox_inverse(x, lambdas):
    """``scipy.special.inv_boxcox(x[:, j], lambdas[j])`` for every column at once, in float64.

    scipy's three branches: ``exp(x)`` if ``lambda == 0``; else
    ``exp(log1p(lambda * x) / lambda)`` while ``lambda * x < 1.79e308``; beyond,
    ``exp((log(sign(lambda) * (x + 1 / lambda)) + log|lambda|) / lambda)``. ``lambda * x < -1``
    gives NaN; NaN stays NaN.
    """
    lam = f64(lambdas)
    exp_branch = lam == 0.0
    lam = np.where(exp_branch, 1.0, lam)
    product = ops.multiply(x, lam)
    regular = ops.exp(ops.divide(ops.log1p(product), _divisor(x, lam)))
    shifted = ops.multiply(ops.add(x, 1.0 / lam), np.copysign(1.0, lam))
    log_abs = f64([math.log(abs(v)) for v in lam])
    large = ops.exp(ops.divide(ops.add(ops.log(shifted), log_abs), _divisor(x, lam)))
    # A float64 array: comparisons read a Python float as float32, which 1.79e308 overflows.
    y = ops.where(ops.less(product, f64([1.79e308])), regular, large)
    return ops.where(exp_branch, ops.exp(x), y)


def normal_cdf(x):
    """``scipy.stats.norm.cdf`` (``scipy.special.ndtr``) in float64, as scipy computes it.

    ``t = x * sqrt(1/2)``: ``0.5 + 0.5 * erf(t)`` where ``|t| < 1``, else
    ``0.5 * erfc(|t|)``, subtracted from 1 for ``t > 0``. ``erfc`` keeps full relative
    precision in the lower tail, where ``0.5 + 0.5 * erf`` would cancel. Within a few ulp
    of scipy; 0 at ``-inf``, 1 at ``inf``, NaN for NaN.
    """
    t = ops.multiply(x, math.sqrt(0.5))
    z = ops.abs(t)
    central = ops.add(ops.multiply(ops.erf(t), 0.5), 0.5)
    tail = ops.multiply(ops.erfc(z), 0.5)
    tail = ops.where(ops.greater(t, 0.0), ops.subtract(1.0, tail), tail)
    return ops.where(ops.less(z, 1.0), central, tail)


def quantile_inverse(x, quantiles, references, output_distribution: str):
    """QuantileTransformer's ``inverse_transform``, column by column, in float64.

    scikit-learn's ``_transform_col(..., inverse=True)`` in its order: for the normal
    output ``p = norm.cdf(x)`` first (the uniform output is used as is); then
    ``np.interp(p, references, quantiles[:, j])``, which holds ``quantiles[0]`` below
    0 and ``quantiles[-1]`` above 1; then values at the upper bound take
    ``quantiles[-1]`` and at the lower bound ``quantiles[0]`` (lower wins), the bounds
    being ``p == 1`` / ``p == 0`` for the uniform output and ``p + 1e-7 > 1`` /
    ``p - 1e-7 < 0`` for the normal one. NaN stays NaN.
    """
    q = f64(quantiles).T
    r = np.broadcast_to(f64(references), q.shape)
    if output_distribution == "normal":
        p = normal_cdf(x)
        lower = ops.less(ops.subtract(p, QUANTILE_BOUNDS_THRESHOLD), 0.0)
        upper = ops.greater(ops.add(p, QUANTILE_BOUNDS_THRESHOLD), 1.0)
    else:
        p = x
        lower = ops.equal(p, 0.0)
        upper = ops.equal(p, 1.0)
    y = interpolate(p, r, q)
    y = ops.where(upper, q[:, -1], y)
    return ops.where(lower, q[:, 0], y)
