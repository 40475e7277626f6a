"""One named stage per scikit-learn step: names from the fitted object, a short readable summary."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    SplineTransformer,
    StandardScaler,
)

from keras_embed_prep import embed, to_inputs, to_keras
from keras_embed_prep.stages import SEPARATOR
from keras_embed_prep.verify import compare


def _frame(n=120):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "bill_length_mm": rng.normal(44, 5, n),
            "body_mass_g": rng.normal(4200, 800, n),
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n).astype(object),
            "sex": rng.choice(["male", "female", None], n).astype(object),
        }
    )
    frame.loc[::7, "bill_length_mm"] = np.nan
    return frame


NUM, CAT = ["bill_length_mm", "body_mass_g"], ["island", "sex"]


def _penguins():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUM),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), CAT),
        ]
    )


def _nested():
    union = FeatureUnion(
        [
            ("scale", StandardScaler()),
            ("curve", Pipeline([("mm", MinMaxScaler()), ("spline", SplineTransformer(n_knots=3))])),
        ]
    )
    ct = ColumnTransformer(
        [("num", make_pipeline(SimpleImputer(), union), NUM), ("cat", OneHotEncoder(), CAT)],
        remainder="drop",
    )
    return Pipeline([("prep", ct), ("pca", PCA(n_components=3))])


CASES = {
    "single": (lambda: StandardScaler(), NUM),
    "pipeline": (lambda: make_pipeline(SimpleImputer(), StandardScaler()), NUM),
    "pipeline-named": (lambda: Pipeline([("fill", SimpleImputer()), ("scale", MinMaxScaler())]), NUM),
    "column-transformer": (_penguins, None),
    "feature-union": (
        lambda: FeatureUnion(
            [
                ("pca", PCA(1)),
                ("bins", KBinsDiscretizer(n_bins=3, encode="onehot-dense", quantile_method="linear")),
            ]
        ),
        ["body_mass_g"],
    ),
    "nested": (_nested, None),
}


def _leaf_paths(estimator, prefix=()):
    """Each leaf step's path in the fitted object, read from scikit-learn's own attributes."""
    if isinstance(estimator, Pipeline):
        parts = estimator.steps
    elif isinstance(estimator, ColumnTransformer):
        parts = [(n, t) for n, t, _ in estimator.transformers_ if not isinstance(t, str)]
    elif isinstance(estimator, FeatureUnion):
        parts = estimator.transformer_list
    else:
        return [SEPARATOR.join(prefix) or type(estimator).__name__.lower()]
    return [p for name, part in parts for p in _leaf_paths(part, (*prefix, name))]


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_stage_names_are_the_fitted_step_names(case):
    make, columns = CASES[case]
    frame = _frame() if columns is None else _frame()[columns]
    pre = make().fit(frame)
    model = to_keras(pre)
    stages = [
        layer.name for layer in model.layers if isinstance(layer, keras.Model) and layer.name != "columns"
    ]
    expected = _leaf_paths(pre)
    assert sorted(stages) == sorted(expected)
    if len(expected) > 1:  # each name is the step's key in get_params, so set_params reaches it
        params = pre.get_params()
        assert all(params[name] is not None for name in expected)
    assert compare(np.asarray(model(to_inputs(frame, model))), pre.transform(frame)).passed


def test_penguins_summary_is_short_and_names_every_step():
    frame = _frame()
    pre = _penguins().fit(frame)
    width = pre.transform(frame).shape[1]
    model = keras.Sequential(
        [
            keras.Input((width,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(3),
        ],
        name="penguin_mlp",
    )
    full = embed(model, pre)
    lines = []
    full.summary(line_length=160, print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    rows = [line for line in text.splitlines() if line.startswith("│ ") and "(" in line.split("│")[1]]
    assert len(full.layers) <= 20 and len(rows) <= 20, text
    for name in ["num__simpleimputer", "num__standardscaler", "cat__simpleimputer", "cat__onehotencoder"]:
        assert f"│ {name} " in text, text
    assert "penguin_mlp (Sequential)" in text
    assert "hidden_fused_with_cat__onehotencoder" in text  # the fused first layer says what it took in
    expected = model(pre.transform(frame).astype("float32"))
    assert compare(np.asarray(full(to_inputs(frame, full))), np.asarray(expected)).passed
