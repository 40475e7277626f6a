"""Parity cases for text vectorizers: adversarial documents, as data. test_parity.py checks them all.

The words break naive tokenizers and lower-casers: accents precomposed and decomposed (combining
marks), apostrophes, underscores, digits and other numerals, CJK, emoji with modifiers, scripts
whose vowel signs are not word characters, 'İ' (two characters in lower case), 'ẞ', Greek capital
sigma in every final-sigma context, letters newer than TensorFlow's ICU and RE2 tables, control
characters, empty documents and missing ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from cases_numeric import Case
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

N = 160

WORDS = [
    "Hello",
    "hello",
    "HELLO",
    "world",
    "the",
    "and",
    "is",
    "naïve",
    "nai\u0308ve",
    "café",
    "cafe\u0301",
    "don't",
    "l'été",
    "rock'n'roll",
    "snake_case",
    "__init__",
    "x_",
    "_",
    "42",
    "3.14",
    "2024-01-01",
    "A1",
    "b2b",
    "日本語",
    "東京タワー",
    "中文 分词",
    "😀",
    "👍🏽ok",
    "İstanbul",
    "İİ",
    "KIRIKKALE",
    "straße",
    "STRASSE",
    "ẞig",
    "ΟΔΟΣ",
    "ΛΌΓΟΣ",
    "Σ",
    "ΑΣ.Σ",
    "ΣΑΣ",
    "ΑΣ\u0301Β",
    "ΑΣ'",
    "ǅemal",
    "ǈj",
    "ﬁne",
    "Ⅻth",
    "½x",
    "x²",
    "٣٤٥",
    "१२३",
    "कित",
    "Ⱟab",
    "𐕰𐕱",
    "e\u200dz",
    "tab\tsep",
    "new\nline",
    "nb\u00a0sp",
    "a",
    "I",
    "Ωmega",
    "ΣΣΣ",
    "ǆ",
    "ﬀ",
    "μm",
    "µm",
    "K\u212a",
    "Å\u212b",
    "x\x00y",
    "\x00x",  # not "x\x00": the harness keeps inputs in numpy strings, which drop a trailing NUL
    "한국어",
    "\u3000wide\u2003\u2003space",
    "x\u0301\u0302y",
    "ab",
    "\t\t",
]


def _documents(rng: np.random.Generator, n: int, extra: list[str]) -> np.ndarray:
    words = np.array(WORDS + extra, dtype=object)
    seps = np.array([" ", "  ", ", ", ".", "-", "\t", "/", "'", "", " — "], dtype=object)
    docs = []
    for _ in range(n):
        k = int(rng.integers(0, 9))
        picked = rng.choice(words, k)
        glue = rng.choice(seps, k)
        docs.append("".join(f"{w}{s}" for w, s in zip(picked, glue, strict=True)))
    docs[:3] = ["", " ", "ΑΣ ΣΑ Σ"]
    return np.array(docs, dtype=object)


def documents() -> tuple[np.ndarray, np.ndarray]:
    """1-D object arrays of text; the test rows hold words never seen at fit."""
    rng = np.random.default_rng(31)
    return _documents(rng, N, []), _documents(rng, N, ["unseen", "Ünseen", "ΝΈΟΣ"])


#: Terms for the hash: 'q76laaft' hashes to -2**31 (scikit-learn's special case of abs), long
#: tokens cross many 4-byte blocks, short ones leave tails of 1 to 3 bytes.
HASHED = ["q76laaft", "Q76LAAFT", "abc", "abcd", "abcde", "é" * 41, "w" * 257, "日本語日本語日本語x", "😀😀"]


def hashed_documents() -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`documents`, with :data:`HASHED` among the words."""
    rng = np.random.default_rng(34)
    return _documents(rng, N, HASHED), _documents(rng, N, [*HASHED, "unseen"])


def _reviews(missing: bool, texts=None):
    def data():
        fit, test = (texts or documents)()
        rng = np.random.default_rng(32)

        def frame(docs):
            docs = docs.copy()
            if missing:
                docs[rng.random(docs.size) < 0.1] = np.nan
            return pd.DataFrame({"review": docs, "stars": rng.integers(1, 6, docs.size).astype(float)})

        return frame(fit), frame(test)

    return data


def _column(missing: bool, texts=None):
    """Documents as one (n, 1) object column, NaN where missing."""

    def data():
        fit, test = _reviews(missing, texts)()
        return fit[["review"]].to_numpy(), test[["review"]].to_numpy()

    return data


def _counts() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(33)
    fit = rng.poisson(0.7, size=(N, 6)).astype(float)
    fit[:, 5] = 0.0  # a term in no document
    test = rng.poisson(0.7, size=(N, 6)).astype(float)
    test[:4] = 0.0  # empty rows: norm 0
    return fit, test


FIXED = [
    "hello",
    "ıstanbul",
    "i̇stanbul",
    "istanbul",
    "straße",
    "ssig",
    "ßig",
    "οδος",
    "οδοσ",
    "λόγος",
    "the",
    "東京タワー",
    "nai",
    "naïve",
    "don",
    "snake_case",
    "__init__",
    "42",
    "14",
    "ς",
    "σς",
    "ǆemal",
    "never",
]


def _idiom(vectorizer):
    return make_pipeline(
        SimpleImputer(strategy="constant", fill_value=""), FunctionTransformer(np.ravel), vectorizer
    )


CASES: list[Case] = [
    Case("text-count-default", CountVectorizer, documents),
    Case("text-count-cased-binary", lambda: CountVectorizer(lowercase=False, binary=True), documents),
    Case(
        "text-count-ngrams-english",
        lambda: CountVectorizer(ngram_range=(1, 3), stop_words="english"),
        documents,
    ),
    Case(
        "text-count-fixed-vocabulary",
        lambda: CountVectorizer(vocabulary=FIXED, stop_words=["the", "and"]),
        documents,
    ),
    Case(
        "text-count-one-char-bigrams-float32",
        lambda: CountVectorizer(token_pattern=r"(?u)\b\w+\b", ngram_range=(2, 2), dtype=np.float32),
        documents,
    ),
    Case("text-count-df-limits", lambda: CountVectorizer(min_df=2, max_df=0.5, max_features=40), documents),
    Case("text-tfidf-default", TfidfVectorizer, documents),
    Case(
        "text-tfidf-l1-sublinear-raw-idf",
        lambda: TfidfVectorizer(norm="l1", sublinear_tf=True, smooth_idf=False),
        documents,
    ),
    Case(
        "text-tfidf-no-idf-no-norm-binary",
        lambda: TfidfVectorizer(use_idf=False, norm=None, binary=True),
        documents,
    ),
    Case(
        "text-tfidf-float32-bigrams-english",
        lambda: TfidfVectorizer(dtype=np.float32, ngram_range=(1, 2), stop_words="english", lowercase=False),
        documents,
    ),
    Case(
        "text-tfidf-transformer-after-counts",
        lambda: make_pipeline(CountVectorizer(ngram_range=(1, 2)), TfidfTransformer(sublinear_tf=True)),
        documents,
    ),
    Case(
        "text-tfidf-transformer-dense-counts", lambda: TfidfTransformer(norm="l1", sublinear_tf=True), _counts
    ),
    Case(
        "text-ct-tfidf-and-numbers",
        lambda: ColumnTransformer([("t", TfidfVectorizer(), "review"), ("n", StandardScaler(), ["stars"])]),
        _reviews(missing=False),
    ),
    Case(
        "text-ct-imputed-tfidf",
        lambda: ColumnTransformer(
            [("t", _idiom(TfidfVectorizer(ngram_range=(1, 2))), ["review"]), ("n", "passthrough", ["stars"])]
        ),
        _reviews(missing=True),
    ),
    Case("text-imputed-counts-array", lambda: _idiom(CountVectorizer(binary=True)), _column(missing=True)),
    Case("text-char-unigrams", lambda: CountVectorizer(analyzer="char"), documents),
    Case(
        "text-char-2-4-cased",
        lambda: CountVectorizer(analyzer="char", ngram_range=(2, 4), lowercase=False),
        documents,
    ),
    Case("text-char-wb-1-3", lambda: CountVectorizer(analyzer="char_wb", ngram_range=(1, 3)), documents),
    Case(
        "text-char-wb-tfidf-3-5",
        lambda: TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)),
        documents,
    ),
    Case("text-strip-unicode", lambda: CountVectorizer(strip_accents="unicode"), documents),
    Case(
        "text-strip-ascii-bigrams",
        lambda: TfidfVectorizer(strip_accents="ascii", ngram_range=(1, 2)),
        documents,
    ),
    Case(
        "text-char-wb-strip-unicode",
        lambda: CountVectorizer(analyzer="char_wb", strip_accents="unicode", ngram_range=(2, 3)),
        documents,
    ),
    Case("text-hash-4096", lambda: HashingVectorizer(n_features=2**12), hashed_documents),
    Case(
        "text-hash-16-cancelling-signs",
        lambda: HashingVectorizer(n_features=16, norm=None),
        hashed_documents,
    ),
    Case(
        "text-hash-16-binary-l1",
        lambda: HashingVectorizer(n_features=16, binary=True, norm="l1"),
        hashed_documents,
    ),
    Case(
        "text-hash-unsigned-bigrams-english-int64",
        lambda: HashingVectorizer(
            n_features=2**10, alternate_sign=False, ngram_range=(1, 2), stop_words="english", norm=None,
            dtype=np.int64,
        ),
        hashed_documents,
    ),
    Case(
        "text-hash-one-column-one-char-tokens",
        lambda: HashingVectorizer(n_features=1, token_pattern=r"(?u)\b\w+\b", norm=None, lowercase=False),
        hashed_documents,
    ),
    Case(
        "text-hash-char-wb-strip-ascii-float32",
        lambda: HashingVectorizer(
            n_features=2**11, analyzer="char_wb", ngram_range=(2, 4), strip_accents="ascii", dtype=np.float32
        ),
        hashed_documents,
    ),
    Case(
        "text-hash-char-cased-strip-unicode-l1",
        lambda: HashingVectorizer(
            n_features=2**9, analyzer="char", ngram_range=(1, 3), lowercase=False, strip_accents="unicode",
            norm="l1",
        ),
        hashed_documents,
    ),
    Case(
        "text-ct-hash-and-numbers",
        lambda: ColumnTransformer(
            [("t", HashingVectorizer(n_features=2**10), "review"), ("n", StandardScaler(), ["stars"])]
        ),
        _reviews(missing=False, texts=hashed_documents),
    ),
    Case(
        "text-ct-imputed-hash-binary",
        lambda: ColumnTransformer(
            [
                ("t", _idiom(HashingVectorizer(n_features=256, binary=True, ngram_range=(1, 2))), ["review"]),
                ("n", "passthrough", ["stars"]),
            ]
        ),
        _reviews(missing=True, texts=hashed_documents),
    ),
    Case(
        "text-hash-missing-document",
        lambda: HashingVectorizer(n_features=2**6),
        hashed_documents,
        failing_rows=lambda: np.array(["ok", np.nan], dtype=object),
        failing_match="a missing document",
    ),
    Case(
        "text-count-missing-document",
        CountVectorizer,
        documents,
        failing_rows=lambda: np.array(["ok", np.nan], dtype=object),
        failing_match="a missing document",
    ),
]

#: Round-tripped in fresh processes (each text artifact costs seconds to export and load): one per
#: path of TextBag's config (word n-grams with stop words, char_wb with accents, the imputer idiom,
#: the feature hash).
ROUNDTRIP = {
    "text-count-ngrams-english",
    "text-char-wb-strip-unicode",
    "text-ct-imputed-tfidf",
    "text-ct-hash-and-numbers",
}
CASES = [dataclasses.replace(case, roundtrip=case.id in ROUNDTRIP) for case in CASES]
