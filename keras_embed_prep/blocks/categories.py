"""Categories as positions: one shared lookup per kind, flat indices, one-hot blocks, text fills."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from ..columns import Columns, category_text
from .affine import take_columns
from .floats import f64
from .names import unique
from .records import OneHot, concat, note


def one_hot(positions, width: int):
    """Multi-hot float64 ``(batch, width)`` from int positions ``(batch, k)``.

    Each row sets a 1.0 at each of its ``k`` positions (one per input column, each
    column owning its own range of outputs, so no position repeats within a row).
    A position equal to ``width`` means "no output" (dropped or ignored unknown
    category): it lands in an extra slot that is cut off. A stock
    ``CategoryEncoding`` layer, so the graph does not grow with the number of columns.
    """
    encode = keras.layers.CategoryEncoding(
        num_tokens=width + 1, output_mode="multi_hot", name=unique("one_hot")
    )
    if positions.dtype != "int64":
        positions = ops.cast(positions, "int64")
    hot = encode(positions)
    # A slice, not a gather, drops the extra slot; 0.0/1.0 need no subnormal care (plain cast).
    y = ops.cast(hot[:, :width], "float64")
    return note(y, OneHot(positions, width))


#: StringLookup's out-of-vocabulary token. Never a user-facing value; a category equal to it
#: is refused (with Keras' default '[UNK]', a real '[UNK]' category silently became OOV).
_OOV = "\x00keras_embed_prep:oov\x00"


def _ids_text(x, categories: Sequence[Sequence[str]]):
    """Ids in one shared vocabulary: 0 unknown, 1.. the sorted union of all categories."""
    vocabulary = sorted({c for cats in categories for c in cats})
    lookup = keras.layers.StringLookup(
        vocabulary=vocabulary,
        num_oov_indices=1,
        oov_token=_OOV,
        mask_token=None,
        name=unique("categories"),
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


#: A direct table of every (column, id) pair is used while it has at most this many entries,
#: or this many per category: past that, one search over the categories' pairs (smaller constants).
_DIRECT_ENTRIES = 1 << 16
_DIRECT_PER_CATEGORY = 8


def _flat_index(ids, cat_ids, n_ids: int, offsets: np.ndarray, unknown: np.ndarray):
    """Map (column, id) to ``offsets[column] + position``, or ``unknown[column]``.

    ``code = column * n_ids + id`` is below ``k * n_ids``: while that table is small it is
    one gather in a table holding every code's answer (a column's unknown index where the
    id is not one of its categories); otherwise one search over the categories' codes.
    """
    keys, flat = [], []
    for c, column in enumerate(cat_ids):
        for position, i in enumerate(column):
            keys.append(c * n_ids + i)
            flat.append(offsets[c] + position)
    codes = ops.add(ops.cast(ids, "int64"), np.arange(len(cat_ids), dtype=np.int64) * n_ids)
    if not keys:
        return ops.add(ops.zeros_like(codes), unknown)
    if len(cat_ids) * n_ids <= max(_DIRECT_ENTRIES, _DIRECT_PER_CATEGORY * len(keys)):
        table = np.repeat(np.asarray(unknown, dtype=np.int64), n_ids)
        table[np.asarray(keys, dtype=np.int64)] = np.asarray(flat, dtype=np.int64)
        return ops.take(table, codes)
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
    matched by their markers in text columns, :data:`~keras_embed_prep.columns.MISSING`
    for NaN and :data:`~keras_embed_prep.columns.NONE` for None, and by NaN in numeric
    ones). An unknown value in column ``c`` gets ``total + c``, where ``total`` counts all (column,
    category) pairs, so a table indexed by the result has ``total + k`` rows, the last
    ``k`` holding each column's value for unknown categories.

    Text columns go through one ``StringLookup`` over the union of their categories,
    numbers through one float64 ``searchsorted``, and one gather (or, for a large
    vocabulary over many columns, one more search) over ``column * n_ids + id`` finds the
    pair: a constant number of graph nodes, and constants that grow with the vocabulary.
    """
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in categories])]).astype(np.int64)
    columns = Columns.of(x)
    parts, order = [], []
    for kind, tensor, idx in columns.parts():
        cats = [categories[i] for i in idx]
        if kind == "text":
            ids, cat_ids, n_ids = _ids_text(tensor, [[category_text(v) for v in c] for c in cats])
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


def lookup_rows(flat, rows: Sequence[np.ndarray], unknown: Sequence[np.ndarray]):
    """Each column's block of outputs for each cell's category, the blocks side by side.

    ``flat`` is :func:`category_index`'s output for ``k`` columns; ``rows[c]`` is a float
    ``(n_c, w_c)`` table (one row per category of column ``c``, in ``category_index``'s order)
    and ``unknown[c]`` the ``(w_c,)`` row for a category column ``c`` never saw. Returns float64
    ``(batch, sum w_c)``; NaN entries stay NaN. Columns of width 1 are one gather each into one
    table; wider blocks are one gather of ``(batch, k, sum w_c)`` into a table that holds each
    column's rows in its own slots (zeros elsewhere), summed over the columns.
    """
    rows = [np.asarray(r, dtype=np.float64) for r in rows]
    rows = [r[:, None] if r.ndim == 1 else r for r in rows]
    unknown = [np.asarray(u, dtype=np.float64).reshape(-1) for u in unknown]
    if all(r.shape[1] == 1 for r in rows):
        return lookup_table(flat, np.concatenate([*(r[:, 0] for r in rows), *unknown]))
    widths = [r.shape[1] for r in rows]
    starts = np.concatenate([[0], np.cumsum(widths)])
    total = sum(len(r) for r in rows)
    table = np.zeros((total + len(rows), starts[-1]))
    first = 0
    for c, r in enumerate(rows):
        table[first : first + len(r), starts[c] : starts[c + 1]] = r
        table[total + c, starts[c] : starts[c + 1]] = unknown[c]
        first += len(r)
    blocks = ops.take(f64(np.where(np.isnan(table), 0.0, table)), flat, axis=0)
    y = ops.sum(blocks, axis=1)
    if np.isnan(table).any():
        undefined = ops.any(ops.take(np.isnan(table), flat, axis=0), axis=1)
        y = ops.where(undefined, np.float64(np.nan), y)
    return y


def code_positions(codes, sizes: Sequence[int], widths: Sequence[int]):
    """Flat one-hot positions of category codes ``(batch, k)`` float64, and which codes are valid.

    Column ``j`` owns ``widths[j]`` outputs from ``offsets[j]``; a code in ``[0, sizes[j])`` is valid
    and goes to ``offsets[j] + floor(code)``, any other (negative, too large, NaN) to slot
    ``sizes[j]``; a slot at or past ``widths[j]`` is no output (position ``sum(widths)``, cut off
    by :func:`one_hot`). Returns ``(positions int64, valid bool)``.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    widths = np.asarray(widths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    valid = ops.logical_and(ops.greater_equal(codes, np.float64(0.0)), ops.less(codes, sizes))
    slots = ops.cast(ops.floor(ops.where(valid, codes, sizes)), "int64")
    positions = ops.where(ops.less(slots, widths), ops.add(slots, offsets), int(widths.sum()))
    return positions, valid
