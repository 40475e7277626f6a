"""One-hot blocks looked up in the first Dense kernel: same outputs, no wide one-hot matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler

from keras_embed_prep import embed, verify
from keras_embed_prep.walk import all_nodes, layers_by_path


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": 1e3 + 100 * rng.normal(size=n),
            "c": rng.choice([f"v{i}" for i in range(300)], n),
            "d": rng.choice(np.array(["x", "y", None], dtype=object), n),
        }
    )
    ct = ColumnTransformer(
        [
            ("n", StandardScaler(), ["a", "b"]),
            ("bins", KBinsDiscretizer(n_bins=5, encode="onehot-dense", quantile_method="linear"), ["a"]),
            ("c", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), ["c", "d"]),
        ],
        transformer_weights={"n": 2.0},
    ).fit(frame)
    return frame, ct


def _models(width):
    import keras

    keras.utils.set_random_seed(0)
    sequential = keras.Sequential(
        [keras.Input(shape=(width,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    x = keras.Input(shape=(width,))
    h = keras.layers.Dense(8, activation="tanh")(x)
    functional = keras.Model(x, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(4)(h)))
    normalized = keras.Sequential(
        [keras.Input(shape=(width,)), keras.layers.LayerNormalization(), keras.layers.Dense(2)]
    )
    return {"sequential": sequential, "functional": functional, "starts-without-dense": normalized}


@pytest.mark.parametrize("kind", ["sequential", "functional", "starts-without-dense"])
def test_fused_model_matches_model_after_transform(table, kind):
    frame, ct = table
    model = _models(ct.transform(frame).shape[1])[kind]
    full = embed(model, ct)
    report = verify(ct, full, frame, model=model)
    assert report.passed, str(report)
    layer_types = {type(layer).__name__ for layer in layers_by_path(full).values()}
    if kind == "starts-without-dense":
        assert "CategoryEncoding" in layer_types and "Embedding" not in layer_types
    else:
        # the wide one-hot matrix is gone from the graph: kernel rows are looked up instead
        assert "Embedding" in layer_types and "CategoryEncoding" not in layer_types


def test_unfused_keeps_the_model_whole(table):
    frame, ct = table
    model = _models(ct.transform(frame).shape[1])["sequential"]
    full = embed(model, ct, fuse_one_hot=False)
    assert model in full.layers
    assert verify(ct, full, frame, model=model).passed


def test_no_one_hot_means_no_fusion():
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    scaler = StandardScaler().fit(frame)
    model = _models(2)["sequential"]
    full = embed(model, scaler)
    assert model in full.layers


def _scaled(offset):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"a": rng.normal(size=500), "b": offset + rng.normal(size=500), "c": rng.choice(["p", "q"], 500)}
    )
    ct = ColumnTransformer(
        [("n", StandardScaler(), ["a", "b"]), ("c", OneHotEncoder(), ["c"])],
    ).fit(frame)
    return frame, ct


def test_fold_is_exact_enough_on_tame_columns():
    frame, ct = _scaled(offset=3.0)
    model = _models(4)["sequential"]
    full = embed(model, ct, fold=True)
    # the scaler's subtract/divide steps are gone: folded into the kernel and bias
    assert "Divide" not in {type(n.operation).__name__ for n in all_nodes(full)}
    assert "Divide" in {type(n.operation).__name__ for n in all_nodes(embed(model, ct))}
    assert verify(ct, full, frame, model=model).passed


def test_fold_costs_parity_on_a_large_offset_so_it_is_off_by_default():
    frame, ct = _scaled(offset=1e6)
    model = _models(4)["sequential"]
    assert verify(ct, embed(model, ct), frame, model=model).passed
    assert not verify(ct, embed(model, ct, fold=True), frame, model=model).passed


def test_fold_needs_a_first_dense_layer():
    from keras_embed_prep.errors import UnsupportedParameterError

    frame, ct = _scaled(offset=3.0)
    with pytest.raises(UnsupportedParameterError, match=r"fold=True.*does not start with a plain"):
        embed(_models(4)["starts-without-dense"], ct, fold=True)
