"""CountVectorizer, TfidfVectorizer, HashingVectorizer and TfidfTransformer: text to term counts,
hashed counts and tf-idf weights.

A vectorizer takes one string per row (its column in a ColumnTransformer, named by a string, or
a 1-D array of strings). The string steps run in :class:`~keras_embed_prep.blocks.tokens.TextBag`
with Python's own Unicode tables (:mod:`~keras_embed_prep.blocks.unicode`); the numbers are stock
layers in :mod:`~keras_embed_prep.blocks.text`. What cannot be reproduced exactly is refused by
name; docs/text.md says what each option becomes.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from keras import ops
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

from ..blocks import checks, patterns, text, tokens, unicode
from ..columns import MARKERS
from ..registry import register_converter
from ._checks import check_choice, refuse

#: The dtypes whose counts are exact (scikit-learn casts int32 counts to ``dtype``).
DTYPES = (np.int32, np.int64, np.float32, np.float64)


def _document_kinds(estimator, n_columns: int) -> list[str]:
    return ["text"] * n_columns


def _analyzer(estimator) -> dict:
    """The :class:`TextBag` configuration of a fitted vectorizer, refusing what is not exact."""
    for name in ("preprocessor", "tokenizer"):
        if getattr(estimator, name) is not None:
            raise refuse(
                estimator,
                name,
                getattr(estimator, name),
                "a Python callable cannot be "
                "converted; use the built-in options, or register a converter for a subclass.",
            )
    if callable(estimator.analyzer):
        raise refuse(estimator, "analyzer", estimator.analyzer, "a Python callable cannot be converted.")
    check_choice(estimator, "analyzer", ("word", "char", "char_wb"))
    check_choice(estimator, "input", ("content",))
    if callable(estimator.strip_accents):
        raise refuse(
            estimator, "strip_accents", estimator.strip_accents, "a Python callable cannot be converted."
        )
    check_choice(estimator, "strip_accents", (None, "ascii", "unicode"))
    word = estimator.analyzer == "word"
    runs, shortest = _token_runs(estimator) if word else (unicode.matching(r"(?u)\w"), 1)
    low, high = (int(n) for n in estimator.ngram_range)
    if not 1 <= low <= high:
        raise refuse(estimator, "ngram_range", estimator.ngram_range, "use 1 <= min_n <= max_n.")
    if np.dtype(estimator.dtype) not in [np.dtype(d) for d in DTYPES]:
        raise refuse(
            estimator,
            "dtype",
            estimator.dtype,
            "use int32, int64, float32 or float64; narrower types wrap or round counts.",
        )
    lower = None
    if estimator.lowercase:
        keys, values = unicode.lower_table()
        cased, ignorable = unicode.sigma_context()
        lower = {"keys": keys.tolist(), "values": values.tolist(), "cased": cased, "ignorable": ignorable}
    return {
        "word": runs,
        "min_chars": shortest,
        "ngram_range": (low, high),
        "stop_words": sorted(estimator.get_stop_words() or ()) if word else [],
        "lower": lower,
        "analyzer": estimator.analyzer,
        "space": [] if word else unicode.matching(r"(?u)\s"),
        "accents": _accents(estimator.strip_accents),
    }


def _token_runs(estimator) -> tuple[tuple[tuple[int, int], ...], int]:
    """The token characters and the shortest token of ``token_pattern`` (word analyzer only)."""
    try:
        return patterns.token_runs(estimator.token_pattern)
    except patterns.UnsupportedPattern as why:
        raise refuse(estimator, "token_pattern", estimator.token_pattern, f"{why}.") from None


def _accents(kind: str | None) -> dict | None:
    if kind is None:
        return None
    keys, values = unicode.accent_table(kind)
    return {"keys": keys, "values": values, "ascii": kind == "ascii"}


def _missing_check(estimator, x):
    """Zeros ``(batch, 1)`` that fail the rows holding a missing-value marker (scikit-learn raises)."""
    column = ops.reshape(x, (-1,))
    flags = ops.any(ops.stack([ops.equal(column, m) for m in MARKERS], axis=1), axis=1)
    return checks.fail_if_any(
        flags,
        f"{type(estimator).__name__}: a missing document (None/NaN); impute text first, e.g. "
        "SimpleImputer(strategy='constant', fill_value='')",
    )


def _vocabulary(estimator) -> list[str]:
    return sorted(estimator.vocabulary_, key=estimator.vocabulary_.get)


def _bag(estimator, x, vocabulary: list[str], hashing: dict | None = None):
    """``(ids, weights, width)``: each row's distinct term ids and their counts (signed sums when
    ``hashing``), float64."""
    config = _analyzer(estimator)
    if len(x.shape) == 2 and int(x.shape[-1]) != 1:
        raise refuse(
            estimator,
            "input columns",
            int(x.shape[-1]),
            "a text vectorizer takes one "
            "string per row: name its column with a string, e.g. ('t', vectorizer, 'review').",
        )
    ids, values = tokens.text_bag(x, vocabulary=vocabulary, hashing=hashing, **config)
    weights = ops.add(ops.cast(values, "float64"), _missing_check(estimator, x))
    return ids, weights, hashing["n_features"] if hashing else len(vocabulary)


@register_converter(
    CountVectorizer,
    notes=(
        "analyzer 'word' (token_pattern: one character class repeated, C+ or C{n,}, as Python's re "
        "reads it; \\b...\\b around \\w), 'char', 'char_wb'; lowercase "
        "(str.lower(), Unicode), strip_accents 'ascii'/'unicode', ngram_range, stop_words (list, "
        "'english'), fitted or fixed vocabulary_, binary, dtype. Custom layer TextBag: the .keras file "
        "needs keras_embed_prep to load; the SavedModel runs with TensorFlow alone. Refused: callables, "
        "input='file'/'filename', other token patterns (look-arounds, "
        "back-references, alternation, anchors, lazy or bounded repeats, inner groups)."
    ),
    needs_package_to_load=True,
    input_kinds=_document_kinds,
)
def convert_count_vectorizer(estimator, x):
    ids, weights, width = _bag(estimator, x, _vocabulary(estimator))
    return text.counts(ids, weights, width, binary=estimator.binary)


def _idf(estimator) -> np.ndarray | None:
    return np.asarray(estimator.idf_, dtype=np.float64) if estimator.use_idf else None


def _check_norm(estimator) -> None:
    if estimator.norm not in ("l1", "l2", None):
        raise refuse(estimator, "norm", estimator.norm, "use 'l1', 'l2' or None.")


@register_converter(
    TfidfVectorizer,
    notes=(
        "CountVectorizer's options, then norm (l1, l2, None), use_idf, smooth_idf (read from idf_), "
        "sublinear_tf, in float64. Custom layer TextBag (see CountVectorizer)."
    ),
    needs_package_to_load=True,
    input_kinds=_document_kinds,
)
def convert_tfidf_vectorizer(estimator, x):
    _check_norm(estimator)
    ids, weights, width = _bag(estimator, x, _vocabulary(estimator))
    bag = text.counts(ids, weights, width, binary=estimator.binary)
    return text.tfidf(bag, _idf(estimator), estimator.sublinear_tf, estimator.norm)


def _hashing(estimator) -> dict:
    n = estimator.n_features
    if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= np.iinfo(np.int32).max:
        raise refuse(estimator, "n_features", n, "use an int from 1 to 2**31 - 1, as scikit-learn requires.")
    check_choice(estimator, "alternate_sign", (True, False))
    _check_norm(estimator)
    return {"n_features": int(n), "alternate_sign": bool(estimator.alternate_sign)}


@register_converter(
    HashingVectorizer,
    notes=(
        "CountVectorizer's tokenization options, then scikit-learn's MurmurHash3 (x86 32-bit, seed 0, "
        "signed) of each term's UTF-8 bytes in TensorFlow ops, bit for bit: n_features, alternate_sign, "
        "binary, norm (l1, l2, None), dtype. Custom layer TextBag (see CountVectorizer)."
    ),
    needs_package_to_load=True,
    input_kinds=_document_kinds,
)
def convert_hashing_vectorizer(estimator, x):
    hashing = _hashing(estimator)
    ids, weights, width = _bag(estimator, x, [], hashing)
    return text.normalized(text.hashed(ids, weights, width, binary=estimator.binary), estimator.norm)


@register_converter(
    TfidfTransformer,
    notes=(
        "norm (l1, l2, None), use_idf, smooth_idf (read from idf_), sublinear_tf; after a "
        "CountVectorizer it works on the bag of terms, on any other count matrix densely."
    ),
)
def convert_tfidf_transformer(estimator, x):
    _check_norm(estimator)
    idf = np.asarray(estimator.idf_, dtype=np.float64) if hasattr(estimator, "idf_") else None
    return text.tfidf(x, idf, estimator.sublinear_tf, estimator.norm)
