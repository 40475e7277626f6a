"""Tabular specifics: artifact size, graph size, input dtypes, unknown categories in Keras and SavedModel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from keras_embed_prep import export, signature_keys, to_inputs, to_keras
from keras_embed_prep.verify import compare
from keras_embed_prep.walk import all_nodes


def _categories(n, rows=20_000, seed=0):
    rng = np.random.default_rng(seed)
    values = np.array([f"category-{i:05d}" for i in range(n)], dtype=object)
    return pd.DataFrame({"c": np.concatenate([values, rng.choice(values, rows - n)])})


def test_artifact_grows_with_the_vocabulary_not_its_square(tmp_path):
    sizes = {}
    for n in (500, 5000):
        frame = _categories(n)
        model = to_keras(OneHotEncoder(handle_unknown="ignore").fit(frame))
        model.save(tmp_path / f"{n}.keras")
        sizes[n] = (tmp_path / f"{n}.keras").stat().st_size
    # a 5,000 x 5,000 float32 table alone would be 100 MB
    assert sizes[5000] < 2_000_000, sizes
    assert sizes[5000] / sizes[500] < 15, sizes  # linear growth is ~10x, quadratic ~100x


def _wide(n_columns, rows=200, seed=1):
    rng = np.random.default_rng(seed)
    half = n_columns // 2
    numbers = pd.DataFrame(rng.normal(size=(rows, half)), columns=[f"n{i}" for i in range(half)])
    text = pd.DataFrame(
        rng.choice(np.array(["a", "b", "c", None], dtype=object), size=(rows, n_columns - half)),
        columns=[f"t{i}" for i in range(n_columns - half)],
    )
    frame = pd.concat([numbers, text], axis=1)
    ct = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), list(numbers.columns)),
            (
                "cat",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()),
                list(text.columns),
            ),
        ]
    )
    return ct.fit(frame), frame


def _operations(model):
    return [n.operation for n in all_nodes(model) if type(n.operation).__name__ != "InputLayer"]


def test_graph_grows_with_steps_not_columns():
    small = to_keras(_wide(20)[0])
    ct, frame = _wide(500)
    wide = to_keras(ct)
    assert len(wide.inputs) == 500
    assert len(_operations(wide)) == len(_operations(small))
    assert compare(np.asarray(wide(to_inputs(frame, wide))), ct.transform(frame)).passed


def test_to_inputs_accepts_pandas_dtypes():
    frame = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "f": [0.5, np.nan, 2.0],
            "b": [True, False, True],
            "o": np.array(["x", None, "y"], dtype=object),
            "s": pd.array(["x", "z", "y"], dtype="string"),
            "c": pd.Categorical(["x", "y", None]),
        }
    )
    ct = ColumnTransformer(
        [
            ("n", SimpleImputer(), ["i", "f", "b"]),
            ("t", OneHotEncoder(handle_unknown="ignore"), ["o", "s", "c"]),
        ]
    ).fit(frame)
    model = to_keras(ct)
    inputs = to_inputs(frame, model)
    assert [inputs[k].dtype for k in "ifb"] == ["float32"] * 3
    assert [[v.decode() for v in inputs[k].numpy()] for k in "osc"] == [
        ["x", "__missing__", "y"],
        ["x", "z", "y"],
        ["x", "y", "__missing__"],
    ]
    assert compare(np.asarray(model(inputs)), ct.transform(frame)).passed


def test_unknown_category_raises_in_keras_and_savedmodel(tmp_path):
    import tensorflow as tf

    fit = pd.DataFrame({"island": ["Biscoe", "Dream", None], "mass": [3.0, 4.0, 5.0]})
    ct = ColumnTransformer([("c", OneHotEncoder(), ["island"]), ("n", StandardScaler(), ["mass"])]).fit(fit)
    model = to_keras(ct)
    unseen = pd.DataFrame({"island": ["Biscoe", "Atlantis"], "mass": [3.0, 4.0]})
    with pytest.raises(ValueError, match="unknown categor"):
        ct.transform(unseen)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"unknown category in column 0 \(island\)"):
        model(to_inputs(unseen, model))
    export(model, tmp_path / "sm")
    serve = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    keys = signature_keys(model)
    known = to_inputs(fit, model)
    out = serve(**{keys[k]: tf.constant(v) for k, v in known.items()})["output_0"]
    assert compare(out.numpy(), ct.transform(fit)).passed
    bad = to_inputs(unseen, model)
    with pytest.raises(tf.errors.InvalidArgumentError, match="unknown category"):
        serve(**{keys[k]: tf.constant(v) for k, v in bad.items()})


def test_packed_signature_equals_the_named_one(tmp_path):
    import tensorflow as tf

    from keras_embed_prep.export import packed_inputs
    from keras_embed_prep.export.signatures import _packed_twin

    fit = _frame_for_packing()
    ct = ColumnTransformer(
        [
            ("c", OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]),
            ("n", StandardScaler(), ["mass", "bill"]),
        ]
    ).fit(fit)
    model = to_keras(ct)
    by_kind = {
        "numbers": [t for t in model.inputs if t.dtype != "string"],
        "text": [t for t in model.inputs if t.dtype == "string"],
    }
    # the packed tensors enter the graph after the per-kind stacks: no unstack and restack
    assert _packed_twin(model, by_kind, ["numbers", "text"]) is not None
    export(model, tmp_path / "sm")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    feeds = {k: v.numpy() for k, v in to_inputs(fit, model).items()}
    keys = signature_keys(model)
    named = loaded.signatures["serving_default"](**{keys[k]: tf.constant(v) for k, v in feeds.items()})
    packed = packed_inputs(feeds, model)
    assert packed["numbers"].shape == (len(fit), 2) and packed["text"].shape == (len(fit), 2)
    out = loaded.signatures["serving_packed"](**{k: tf.constant(v) for k, v in packed.items()})
    np.testing.assert_array_equal(out["output_0"].numpy(), named["output_0"].numpy())
    assert compare(out["output_0"].numpy(), ct.transform(fit)).passed


def _frame_for_packing():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "mass": rng.normal(size=50),
            "island": rng.choice(np.array(["Biscoe", "Dream", None], dtype=object), 50),
            "bill": 40 + rng.normal(size=50),
            "sex": rng.choice(["male", "female"], 50),
        }
    )
    return frame
