"""Text to a bag of term ids: the one custom layer of the package, :class:`TextBag`.

No stock Keras layer or ``keras.ops`` call handles strings beyond lookups, so the string steps of a
scikit-learn text vectorizer (lower case, tokens, stop words, n-grams, vocabulary or feature hash) run in this
registered layer, built from TensorFlow string ops only: a saved ``.keras`` file needs
keras_embed_prep to load, an exported SavedModel runs with TensorFlow alone. Its Unicode tables
come from :mod:`keras_embed_prep.blocks.unicode` (Python's own rules) and travel in its config.
Everything after the bag (counts, tf-idf, the dense matrix) is stock layers in
:mod:`keras_embed_prep.blocks.text`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from . import murmur, unicode

#: StringLookup's out-of-vocabulary token; never a term (every key ends with _END).
_OOV = "\x00keras_embed_prep:oov\x00"
#: Appended to every key and every looked-up string: Keras keeps vocabularies in numpy string
#: arrays, which drop trailing NUL characters (a character n-gram may end with one).
_END = "|"


def _lookup(keys, name: str):
    """A StringLookup over ``keys`` (0: not a key, 1..: their positions) for :func:`_find`."""
    return keras.layers.StringLookup(
        vocabulary=[f"{k}{_END}" for k in keys], num_oov_indices=1, oov_token=_OOV, mask_token=None, name=name
    )


def _find(lookup, strings):
    return lookup(tf.strings.join([strings, tf.fill(tf.shape(strings), _END)]))


def _member(codes, runs):
    """Whether each int32 code point lies in one of the inclusive ``runs`` ``[[first, last], ...]``."""
    runs = np.asarray(runs, dtype=np.int32).reshape(-1, 2)
    if runs.size == 0:
        return tf.zeros_like(codes, dtype=tf.bool)
    k = tf.searchsorted(runs[:, 0], codes, side="right") - 1
    return tf.logical_and(k >= 0, codes <= tf.gather(runs[:, 1], tf.maximum(k, 0)))


@keras.saving.register_keras_serializable(package="keras_embed_prep")
class TextBag(keras.layers.Layer):
    """One string per row -> ``(ids, counts)``: each row's distinct term ids and their counts.

    Both outputs are int64 ``(batch, L)``, padded with id ``width`` and count 0, where ``L`` is the
    largest number of distinct ids in a row of the batch. With a vocabulary, ``width`` is its size
    and terms not in it are dropped, as scikit-learn drops them; with ``hashing``, ``width`` is
    ``n_features``, each term's id is its hashed column and the counts are sums of its signs (a
    column whose signs cancel keeps its entry, with count 0, as scikit-learn's sparse matrix does).

    Parameters
    ----------
    vocabulary : list of str
        The terms in column order (``vocabulary_`` sorted by index).
    word : list of [first, last]
        Code point runs of the token characters: a token is a maximal run of them.
    min_chars : int
        The shortest token (2 for the default ``(?u)\\b\\w\\w+\\b``).
    ngram_range : [min_n, max_n]
        Word n-grams joined by one space, as scikit-learn joins them.
    stop_words : list of str
        Tokens removed before n-grams are formed.
    lower : dict or None
        ``{"keys", "values", "cased", "ignorable"}`` from :mod:`~keras_embed_prep.blocks.unicode`:
        ``str.lower()`` exactly; None: no lower case.
    analyzer : {"word", "char", "char_wb"}
        scikit-learn's analyzers; for the character ones ``space`` holds Python's ``\\s`` runs.
    accents : dict or None
        ``{"keys", "values", "ascii"}``: ``strip_accents`` as a table of characters (then, for
        ``ascii``, every non-ASCII character dropped); None: accents kept.
    hashing : dict or None
        ``{"n_features", "alternate_sign"}``: terms hashed as ``HashingVectorizer`` hashes them
        (:mod:`~keras_embed_prep.blocks.murmur`) instead of looked up; ``vocabulary`` is then empty.
    """

    def __init__(
        self,
        vocabulary,
        word,
        min_chars=2,
        ngram_range=(1, 1),
        stop_words=(),
        lower=None,
        analyzer="word",
        space=(),
        accents=None,
        hashing=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary = [str(t) for t in vocabulary]
        self.word = [[int(a), int(b)] for a, b in word]
        self.min_chars = int(min_chars)
        self.ngram_range = [int(n) for n in ngram_range]
        self.stop_words = [str(w) for w in stop_words]
        self.lower = lower
        self.analyzer = str(analyzer)
        self.space = [[int(a), int(b)] for a, b in space]
        self.accents = accents
        self.hashing = None
        if hashing is not None:
            self.hashing = {
                "n_features": int(hashing["n_features"]),
                "alternate_sign": bool(hashing["alternate_sign"]),
            }
        self._space = unicode.re2_class([tuple(r) for r in self.space]) if self.space else None
        self._accents = None
        if accents is not None:
            self._accents = _lookup(accents["keys"], "accents")
        self._separators = unicode.re2_class([tuple(r) for r in self.word], negate=True) + "+"
        self._terms = None if self.hashing else _lookup(self.vocabulary, "terms")
        self._stop = None
        if self.stop_words:
            self._stop = _lookup(sorted(set(self.stop_words)), "stop")

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary=self.vocabulary,
            word=self.word,
            min_chars=self.min_chars,
            ngram_range=self.ngram_range,
            stop_words=self.stop_words,
            lower=self.lower,
            analyzer=self.analyzer,
            space=self.space,
            accents=self.accents,
            hashing=self.hashing,
        )
        return config

    def build(self, input_shape):
        # nothing to build: the lookups hold their vocabularies already (and tracing call to
        # build them would cost seconds of graph construction per conversion)
        self.built = True

    def compute_output_spec(self, inputs):
        batch = inputs.shape[0]
        return (
            keras.KerasTensor((batch, None), dtype="int64"),
            keras.KerasTensor((batch, None), dtype="int64"),
        )

    def _lowered(self, x):
        """``str.lower()`` of each string: one code point table, 'İ' and the final sigma rule."""
        lower = self.lower
        x = tf.strings.regex_replace(x, unicode.DOTTED_CAPITAL_I, "i\u0307", replace_global=True)
        chars = tf.strings.unicode_decode(x, "UTF-8")
        codes = chars.flat_values
        keys = np.asarray(lower["keys"], dtype=np.int32)
        values = np.asarray(lower["values"], dtype=np.int32)
        at = tf.minimum(tf.searchsorted(keys, codes, side="left"), keys.size - 1)
        mapped = tf.where(tf.gather(keys, at) == codes, tf.gather(values, at), codes)
        # capital sigma: final when the nearest non-ignorable character before it in its string is
        # cased and the nearest one after it is not (or there is none)
        plain = tf.logical_not(_member(codes, lower["ignorable"]))
        cased = tf.concat([tf.boolean_mask(_member(codes, lower["cased"]), plain), [False]], 0)
        through = tf.cumsum(tf.cast(plain, tf.int64))  # non-ignorables up to and including each
        before = through - tf.cast(plain, tf.int64)
        bounds = tf.concat([[0], through], 0)
        rows = chars.value_rowids()
        first = tf.gather(bounds, tf.gather(chars.row_splits, rows))
        last = tf.gather(bounds, tf.gather(chars.row_splits, rows + 1))
        limit = tf.size(cased, out_type=tf.int64) - 1
        prev_cased = tf.logical_and(
            before - 1 >= first, tf.gather(cased, tf.clip_by_value(before - 1, 0, limit))
        )
        next_cased = tf.logical_and(through < last, tf.gather(cased, tf.minimum(through, limit)))
        final = tf.logical_and(prev_cased, tf.logical_not(next_cased))
        sigma = tf.where(final, np.int32(0x03C2), np.int32(0x03C3))
        mapped = tf.where(codes == unicode.CAPITAL_SIGMA, sigma, mapped)
        return tf.strings.unicode_encode(chars.with_flat_values(mapped), "UTF-8")

    def _stripped(self, x):
        """``strip_accents``: each character replaced by its image (see ``unicode.accent_table``)."""
        chars = tf.strings.unicode_split(x, "UTF-8")
        images = tf.constant(["", *self.accents["values"]])
        at = _find(self._accents, chars.flat_values)
        mapped = tf.where(at == 0, chars.flat_values, tf.gather(images, at))
        x = tf.strings.reduce_join(chars.with_flat_values(mapped), axis=1)
        if self.accents["ascii"]:
            x = tf.strings.regex_replace(x, "[^\\x00-\\x7f]", "")
        return x

    def _characters(self, x):
        """Character n-grams (``char``) or n-grams of space-padded words (``char_wb``), with rows."""
        x = tf.strings.regex_replace(x, f"{self._space}{{2,}}", " ")  # Python's \\s\\s+ -> " "
        low, high = self.ngram_range
        if self.analyzer == "char":
            chars = tf.strings.unicode_split(x, "UTF-8")
            grams = [
                chars if n == 1 else tf.strings.ngrams(chars, n, separator="") for n in range(low, high + 1)
            ]
            terms = grams[0] if len(grams) == 1 else tf.concat(grams, axis=1)
            return terms.flat_values, terms.value_rowids()
        words = tf.strings.split(tf.strings.regex_replace(x, f"{self._space}+", " "), sep=" ")
        keep = tf.strings.length(words.flat_values) > 0
        doc_of = tf.boolean_mask(words.value_rowids(), keep)
        flat = tf.boolean_mask(words.flat_values, keep)
        padded = tf.strings.join([tf.fill(tf.shape(flat), " "), flat, tf.fill(tf.shape(flat), " ")])
        chars = tf.strings.unicode_split(padded, "UTF-8")
        length = chars.row_lengths()
        # scikit-learn: all n-grams of a word longer than n; a word of at most max_n characters once
        whole = length <= high
        values, rows = [tf.boolean_mask(padded, whole)], [tf.boolean_mask(doc_of, whole)]
        for n in range(low, high + 1):
            grams = tf.strings.ngrams(chars, n, separator="")
            word = grams.value_rowids()
            longer = tf.gather(length, word) > n
            values.append(tf.boolean_mask(grams.flat_values, longer))
            rows.append(tf.boolean_mask(tf.gather(doc_of, word), longer))
        return tf.concat(values, 0), tf.concat(rows, 0)

    def _terms_of(self, x):
        """Each row's terms as ``(flat terms, row of each)``: tokens, stop words removed, n-grams."""
        if self.analyzer != "word":
            return self._characters(x)
        spaced = tf.strings.regex_replace(x, self._separators, " ")
        tokens = tf.strings.split(spaced, sep=" ")
        keep = tf.strings.length(tokens.flat_values, unit="UTF8_CHAR") >= self.min_chars
        if self._stop is not None:
            keep = tf.logical_and(keep, _find(self._stop, tokens.flat_values) == 0)
        tokens = tf.ragged.boolean_mask(tokens, tokens.with_flat_values(keep))
        low, high = self.ngram_range
        grams = [
            tokens if n == 1 else tf.strings.ngrams(tokens, n, separator=" ") for n in range(low, high + 1)
        ]
        terms = grams[0] if len(grams) == 1 else tf.concat(grams, axis=1)
        return terms.flat_values, terms.value_rowids()

    @property
    def width(self) -> int:
        """The number of columns: the vocabulary's size, or ``n_features`` when hashing."""
        return self.hashing["n_features"] if self.hashing else len(self.vocabulary)

    def _ids(self, terms, term_rows):
        """``(row * (width + 1) + id, value)`` of each known term: its id and count (or sign)."""
        width = self.width + 1
        if self.hashing:
            ids, signs = murmur.hashed_columns(terms, self.width, self.hashing["alternate_sign"])
            return term_rows * width + ids, signs
        ids = _find(self._terms, terms) - 1  # -1: not a term, 0..V-1: the terms
        known = ids >= 0
        keys = tf.boolean_mask(term_rows, known) * width + tf.boolean_mask(ids, known)
        return keys, tf.ones_like(keys)

    def call(self, inputs):
        x = tf.reshape(inputs, [-1])
        if self.lower is not None:
            x = self._lowered(x)
        if self._accents is not None:
            x = self._stripped(x)
        terms, term_rows = self._terms_of(x)
        keys, values = self._ids(terms, term_rows)
        distinct, at = tf.unique(keys, out_idx=tf.int64)
        counts = tf.math.unsorted_segment_sum(values, at, tf.size(distinct, out_type=tf.int64))
        order = tf.argsort(distinct)  # rows in order (char_wb gathers terms out of row order)
        distinct, counts = tf.gather(distinct, order), tf.gather(counts, order)
        batch = tf.shape(x, out_type=tf.int64)[0]
        width = self.width + 1
        row_of = distinct // width
        bag_ids = tf.RaggedTensor.from_value_rowids(distinct % width, row_of, nrows=batch)
        bag_counts = tf.RaggedTensor.from_value_rowids(counts, row_of, nrows=batch)
        return bag_ids.to_tensor(default_value=width - 1), bag_counts.to_tensor(default_value=0)


def text_bag(x, **config):
    """Apply a new :class:`TextBag` to a text tensor ``(batch,)`` or ``(batch, 1)``."""
    from .names import unique

    return TextBag(name=unique("text_bag"), **config)(x)
