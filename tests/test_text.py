"""Text vectorizers: the Unicode tables and the feature hash proved, refusals, fusion, artifacts."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import StandardScaler

from keras_embed_prep import embed, export, supported_estimators, to_inputs, to_keras
from keras_embed_prep.blocks import unicode
from keras_embed_prep.blocks.tokens import TextBag
from keras_embed_prep.errors import ExportError, UnsupportedParameterError
from keras_embed_prep.verify import compare

DOCS = ["The quick brown fox", "jumps over the lazy dog", "ΟΔΟΣ İstanbul straße", "", "fox fox dog 42"]


@pytest.fixture(scope="module")
def every_character():
    """Every Unicode scalar value as a one-character string."""
    return [chr(c) for c in unicode.scalars().tolist()]


def _bag(config):
    """A TextBag over its own inputs, returning the TF string steps' lower case (for proofs)."""
    return TextBag(**config)


def test_python_lower_is_context_free_but_for_sigma_and_dotted_i(every_character):
    longer = [c for c in every_character if len(c.lower()) != 1]
    assert longer == [unicode.DOTTED_CAPITAL_I]


def test_lower_table_equals_str_lower_on_every_code_point(every_character):
    import tensorflow as tf

    keys, values = unicode.lower_table()
    cased, ignorable = unicode.sigma_context()
    layer = _bag(
        {
            "vocabulary": ["x"],
            "word": [[97, 97]],
            "lower": {
                "keys": keys.tolist(),
                "values": values.tolist(),
                "cased": cased,
                "ignorable": ignorable,
            },
        }
    )
    sigma = [
        "ΑΣ",
        "ΑΣ.Σ",
        "ΣΑ",
        "Α Σ",
        "ΑΣΣ",
        "ΑΣ\u0301",
        "aΣb",
        "ΑΣ'Β",
        "ΣΣΣ",
        "Σ",
        "İΣ",
        "ΑΣ\u0345",
        "\u0345Σ",
        "ǅΣ",
        "AΣ\u00adΒ",
        "1Σ",
        "ΑΣ1",
        "ΑΣ\u200d",
    ]
    probes = every_character + sigma + [f"A{c}Σ{c}" for c in every_character[::97]]
    ours = layer._lowered(tf.constant(probes)).numpy()
    wrong = [p for p, o in zip(probes, ours, strict=True) if o.decode("utf-8") != p.lower()]
    assert not wrong, f"{len(wrong)} strings lower differently, e.g. {wrong[:5]}"


def test_tensorflow_own_lower_and_classes_are_not_python(every_character):
    """Why the tables exist: ICU's lower and RE2's \\p classes follow other Unicode versions."""
    import tensorflow as tf

    x = tf.constant(every_character)
    changed = [c for c in every_character if c.lower() != c] + ["a\x00B"]
    icu = tf.strings.lower(tf.constant(changed), encoding="utf-8").numpy()
    assert any(o.decode("utf-8") != c.lower() for c, o in zip(changed, icu, strict=True))
    word = np.array([bool(re.match(r"(?u)\w", c)) for c in every_character])
    assert (tf.strings.regex_full_match(x, r"[\p{L}\p{N}_]").numpy() != word).any()
    ours = tf.strings.regex_full_match(x, unicode.re2_class(list(unicode.matching(r"(?u)\w")))).numpy()
    assert (ours == word).all()


def _fitted(**params):
    return CountVectorizer(**params).fit(DOCS)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"analyzer": str.split}, "analyzer="),
        ({"preprocessor": str.strip}, "preprocessor="),
        ({"tokenizer": str.split}, "tokenizer="),
        ({"strip_accents": str.upper}, "strip_accents="),
        ({"token_pattern": r"(?<=\s)\w+"}, "token_pattern="),
        ({"dtype": np.int8}, "dtype="),
    ],
    ids=["callable-analyzer", "preprocessor", "tokenizer", "strip-accents", "lookbehind", "int8"],
)
def test_refused_by_name(params, named):
    with pytest.raises(UnsupportedParameterError, match=re.escape(f"CountVectorizer({named}")):
        to_keras(_fitted(**params))


def test_input_file_is_refused():
    vectorizer = _fitted()
    vectorizer.input = "filename"
    with pytest.raises(UnsupportedParameterError, match=r"input='filename'"):
        to_keras(vectorizer)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"tokenizer": str.split}, "tokenizer="),
        ({"token_pattern": r"(\w)\1"}, "token_pattern="),
        ({"dtype": np.uint32}, "dtype="),
        ({"n_features": 0}, "n_features=0"),
        ({"norm": "max"}, "norm='max'"),
    ],
    ids=["tokenizer", "backreference", "uint32", "no-features", "max-norm"],
)
def test_hashing_refused_by_name(params, named):
    with pytest.raises(UnsupportedParameterError, match=re.escape(f"HashingVectorizer({named}")):
        to_keras(HashingVectorizer(**params))  # stateless: nothing to fit, nothing validated yet


#: 'q76laaft' hashes to -2**31, where abs() overflows: scikit-learn special-cases its column.
INT_MIN_TERM = "q76laaft"


def _adversarial_terms(every_character) -> list[str]:
    """Every code point alone (1 to 4 UTF-8 bytes: each tail length, one whole block), then strings
    of 0 to 40 random characters (many blocks, every tail), ASCII runs of each length to 67, NULs."""
    rng = np.random.default_rng(11)
    scalars = unicode.scalars()
    mixed = ["".join(map(chr, rng.choice(scalars, rng.integers(0, 41)))) for _ in range(3000)]
    ascii_runs = ["abcdefghij"[: n % 10] * (n // 10 + 1) for n in range(68)]
    fixed = ["", "\x00", "\x00\x00\x00\x00\x00", "日本語", "😀👍🏽", "e\u0301", INT_MIN_TERM, "w" * 4096]
    return fixed + every_character + mixed + ascii_runs


def test_murmurhash_equals_scikit_learn_bit_for_bit(every_character):
    import tensorflow as tf
    from sklearn.utils import murmurhash3_32

    from keras_embed_prep.blocks import murmur

    terms = _adversarial_terms(every_character)
    expected = np.array([murmurhash3_32(t, seed=0, positive=False) for t in terms])
    ours = murmur.murmurhash3_32(tf.constant([t.encode("utf-8") for t in terms])).numpy()
    wrong = [t for t, e, o in zip(terms, expected, ours, strict=True) if e != o]
    assert not wrong, f"{len(wrong)} of {len(terms)} terms hash differently, e.g. {wrong[:5]!r}"
    assert expected.min() == -(2**31)  # the INT_MIN term is among them


@pytest.mark.parametrize("n_features", [1, 3, 7, 2**20, 2**31 - 1])
def test_hashed_column_and_sign_equal_feature_hasher(n_features):
    import tensorflow as tf

    from keras_embed_prep.blocks import murmur

    terms = ["ab", "abc", "日本語", "😀", INT_MIN_TERM, "x" * 99]
    hashed = HashingVectorizer(n_features=n_features, norm=None, token_pattern=r"\S+")
    # one document per term: a row's one stored entry is the term's column and sign
    reference = hashed.transform(terms).tocoo()
    column, sign = murmur.hashed_columns(tf.constant(terms), n_features, alternate_sign=True)
    np.testing.assert_array_equal(reference.row, np.arange(len(terms)))
    np.testing.assert_array_equal(column.numpy(), reference.col)
    np.testing.assert_array_equal(sign.numpy(), reference.data)


def test_supported_estimators_say_the_keras_file_needs_the_package():
    needs = {e.name: e.needs_package_to_load for e in supported_estimators()}
    assert needs["CountVectorizer"] and needs["TfidfVectorizer"] and needs["HashingVectorizer"]
    assert not needs["TfidfTransformer"] and not needs["OneHotEncoder"]


def _table(n=120):
    rng = np.random.default_rng(5)
    words = np.array([f"w{i}" for i in range(300)] + ["ΛΌΓΟΣ", "İİ", "naïve"], dtype=object)
    docs = [" ".join(rng.choice(words, rng.integers(0, 12))) for _ in range(n)]
    return pd.DataFrame({"review": docs, "stars": rng.normal(size=n)})


@pytest.mark.parametrize(
    "vectorizer",
    [TfidfVectorizer(sublinear_tf=True), HashingVectorizer(n_features=2**16, ngram_range=(1, 2))],
    ids=["tfidf", "hashing"],
)
def test_bag_is_looked_up_in_the_first_dense_kernel(vectorizer):
    import keras

    frame = _table()
    ct = ColumnTransformer([("t", vectorizer, "review"), ("n", StandardScaler(), ["stars"])]).fit(frame)
    width = ct.transform(frame).shape[1]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((width,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    full = embed(model, ct)
    from keras_embed_prep.walk import layers_by_path

    nested = list(layers_by_path(full).values())  # stages are nested models: look inside them too
    assert any(isinstance(layer, keras.Model) for layer in nested)
    assert not any(isinstance(layer, keras.layers.CategoryEncoding) for layer in nested)
    expected = np.asarray(model(ct.transform(frame).toarray().astype(np.float32)))
    assert compare(np.asarray(full(to_inputs(frame, full))), expected).passed
    from keras_embed_prep.walk import stages

    # what export() writes beside the SavedModel: the fused bag's width varies with the batch
    assert any(None in stage["widths"] for stage in stages(full))


@pytest.mark.parametrize(
    "vectorizer", [CountVectorizer(), HashingVectorizer(n_features=64)], ids=["count", "hashing"]
)
def test_onnx_export_of_text_is_refused(tmp_path, vectorizer):
    model = to_keras(vectorizer.fit(DOCS))
    with pytest.raises(ExportError, match="TextBag"):
        export(model, tmp_path / "m.onnx", format="onnx")


@pytest.mark.parametrize("kind", ["ascii", "unicode"])
def test_accent_layer_equals_scikit_learn_on_every_code_point(every_character, kind):
    import tensorflow as tf
    from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode

    strip = {"ascii": strip_accents_ascii, "unicode": strip_accents_unicode}[kind]
    keys, values = unicode.accent_table(kind)
    image = dict(zip(keys, values, strict=True))
    # scikit-learn's function of the string of every character: NFKD works character by character
    # but for the order of combining marks, which both functions drop, so this checks each image
    everything = "".join(every_character)
    ours = "".join(image.get(c, c) for c in everything)
    if kind == "ascii":
        ours = ours.encode("ascii", "ignore").decode("ascii")
    assert ours == strip(everything)
    layer = TextBag(
        vocabulary=["x"], word=[[97, 97]], accents={"keys": keys, "values": values, "ascii": kind == "ascii"}
    )
    # the table is proved on every character above; the layer applies it to each key and to strings
    probes = keys + every_character[::101] + ["e\u0301\u0302x", "한국어 x\u0327\u0301", "ﬁ½Å\u212b"]
    ours = layer._stripped(tf.constant(probes)).numpy()
    wrong = [p for p, o in zip(probes, ours, strict=True) if o.decode("utf-8") != strip(p)]
    assert not wrong, f"{len(wrong)} strings differ, e.g. {wrong[:5]}"
