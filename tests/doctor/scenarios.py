"""The doctor's three NaN-after-load scenarios, built once: trained models, their files, their data.

1. A scaler not saved with the model: raw rows fed to a model trained on standardized rows.
2. A custom layer that divides by values that reach zero.
3. NaN in the raw inputs of a model that embeds its scaler (and no imputer).

Every number a test checks is recomputed from scikit-learn and Keras.
"""

from __future__ import annotations

import pathlib
import types

import keras
import numpy as np
import pandas as pd
import skops.io
from keras import ops
from sklearn.preprocessing import StandardScaler

from keras_embed_prep import DoctorReport, diagnose, embed

COLUMNS = ["bill length (mm)", "depth", "mass"]


@keras.saving.register_keras_serializable(package="doctor_tests")
class RelativeTo(keras.layers.Layer):
    """Each input divided by input ``column``: NaN or Inf where that column is 0."""

    def __init__(self, column: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.column = column

    def call(self, x):
        return ops.divide(x, x[:, self.column : self.column + 1])

    def get_config(self):
        return {**super().get_config(), "column": self.column}


def penguins(rng, n):
    return pd.DataFrame(
        np.column_stack([rng.normal(44, 5, n), rng.normal(17, 2, n), rng.normal(4200, 800, n)]),
        columns=COLUMNS,
    )


def build(root: pathlib.Path) -> types.SimpleNamespace:
    """Trained models, their files under ``root``, the data of each scenario, and diagnose()'s reports."""
    rng = np.random.default_rng(0)
    X_train, X = penguins(rng, 400), penguins(rng, 120)
    scaler = StandardScaler().fit(X_train)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation="tanh", name="hidden"),
            keras.layers.Dense(1, activation="sigmoid", name="score"),
        ],
        name="penguins",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    y_train = (X_train["mass"] > 4200).to_numpy("float32")
    model.fit(scaler.transform(X_train).astype("float32"), y_train, epochs=10, verbose=0)
    full = embed(model, scaler)

    counts = pd.DataFrame({"cats": rng.integers(0, 20, 300), "dogs": rng.integers(0, 20, 300)}).astype(float)
    counts["total"] = counts.cats + counts.dogs + rng.integers(1, 5, 300)
    shares = keras.Sequential(
        [
            keras.Input((3,)),
            RelativeTo(column=2, name="relative_to_total"),
            keras.layers.Dense(4, activation="tanh", name="mix"),
            keras.layers.Dense(1, name="share"),
        ],
        name="shares",
    )
    shares.compile(optimizer="adam", loss="mse")
    shares.fit(
        counts.to_numpy("float32"), (counts.cats / counts.total).to_numpy("float32"), epochs=3, verbose=0
    )
    counts_test = counts.iloc[:80].copy()
    counts_test.loc[[3, 17, 40], :] = 0.0  # an empty shelter: 0 / 0
    counts_test.loc[55, ["cats", "total"]] = [4.0, 0.0]  # a data-entry error: 4 / 0

    X_nan = X.copy()
    X_nan.iloc[::9, 1] = np.nan

    f = types.SimpleNamespace(root=root, X=X, X_nan=X_nan, scaler=scaler, model=model, full=full)
    f.counts, f.shares = counts_test, shares
    f.model_file, f.scaler_file, f.full_file = (
        root / "penguins.keras",
        root / "scaler.skops",
        root / "full.keras",
    )
    f.shares_file, f.csv, f.nan_csv, f.counts_csv = (
        root / "shares.keras",
        root / "penguins.csv",
        root / "nan.csv",
        root / "counts.csv",
    )
    model.save(f.model_file)
    full.save(f.full_file)
    shares.save(f.shares_file)
    skops.io.dump(scaler, f.scaler_file)
    X.to_csv(f.csv, index=False)
    X_nan.to_csv(f.nan_csv, index=False)
    counts_test.to_csv(f.counts_csv, index=False)

    f.loaded_full = keras.saving.load_model(f.full_file, safe_mode=True)
    f.unscaled = diagnose(model, X, preprocessor=scaler)
    f.division = diagnose(shares, counts_test)
    f.missing = diagnose(f.loaded_full, X_nan)
    f.healthy = diagnose(f.loaded_full, X, preprocessor=scaler, reference_model=model)
    return f


def codes(report: DoctorReport) -> list[str]:
    return [p.code for p in report.problems]
