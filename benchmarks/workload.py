"""The benchmark's data and models: a raw table, its ColumnTransformer, an MLP trained behind it.

Two tables share one recipe (:class:`TableSpec`): the *narrow* one of issue 6 (12 numeric
columns with NaN, 4 text columns of cardinality 5, 50, 500 and 5,000) and a *wide* one of
500 columns. Numeric values are float32 numbers stored as float64 (what pandas holds), so
path A (scikit-learn on the DataFrame) and the converted model (float32 inputs) see the
same values and parity is exact up to float32 arithmetic. Test rows carry NaN and, in
every text column, a share of categories never seen at fit (``handle_unknown="ignore"``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SEED = 0


@dataclass(frozen=True)
class TableSpec:
    """Shape of a raw table: numeric columns, then one text column per cardinality."""

    name: str
    n_numeric: int
    cardinalities: tuple[int, ...]
    train_rows: int
    test_rows: int
    nan_rate: float = 0.05
    unseen_rate: float = 0.01

    @property
    def numeric_columns(self) -> list[str]:
        digits = len(str(self.n_numeric))
        return [f"num_{i:0{digits}d}" for i in range(self.n_numeric)]

    @property
    def text_columns(self) -> list[str]:
        digits = len(str(len(self.cardinalities)))
        return [f"cat_{i:0{digits}d}_c{c}" for i, c in enumerate(self.cardinalities)]

    @property
    def n_columns(self) -> int:
        return self.n_numeric + len(self.cardinalities)


def narrow_spec(train_rows: int = 200_000, test_rows: int = 65_536) -> TableSpec:
    """Issue 6's table: 12 numeric columns, 4 text columns of cardinality 5 to 5,000."""
    return TableSpec("narrow", 12, (5, 50, 500, 5_000), train_rows, test_rows)


def numeric_spec(train_rows: int = 200_000, test_rows: int = 65_536) -> TableSpec:
    """The narrow table's 12 numeric columns only (with their NaN): a model every backend can load."""
    return TableSpec("numeric", 12, (), train_rows, test_rows)


def wide_spec(train_rows: int = 20_000, test_rows: int = 4_096) -> TableSpec:
    """500 columns: 450 numeric, 50 text of cardinality 5, 10, 20, 50 in turn."""
    return TableSpec("wide", 450, (5, 10, 20, 50) * 12 + (5, 10), train_rows, test_rows)


def make_table(spec: TableSpec, rows: int, rng: np.random.Generator, unseen: bool) -> pd.DataFrame:
    """Random raw rows: float64 columns holding float32 values with NaN, and text columns."""
    data = {}
    for i, name in enumerate(spec.numeric_columns):
        values = rng.normal(loc=i % 7, scale=1 + i % 5, size=rows).astype(np.float32).astype(np.float64)
        values[rng.random(rows) < spec.nan_rate] = np.nan
        data[name] = values
    for name, cardinality in zip(spec.text_columns, spec.cardinalities, strict=True):
        vocabulary = np.array([f"v{cardinality}_{j}" for j in range(cardinality)], dtype=object)
        values = vocabulary[rng.integers(0, cardinality, size=rows)]
        if unseen:
            values[rng.random(rows) < spec.unseen_rate] = "never_seen_at_fit"
        data[name] = values
    return pd.DataFrame(data)


def make_preprocessor(spec: TableSpec) -> ColumnTransformer:
    """Issue 6's preprocessing: impute and scale the numbers, one-hot the text (ignore unknown)."""
    parts = [("num", make_pipeline(SimpleImputer(), StandardScaler()), spec.numeric_columns)]
    if spec.text_columns:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), spec.text_columns))
    return ColumnTransformer(parts)


def make_mlp(width: int) -> keras.Model:
    """The model trained behind the preprocessor: Dense 64-64-1 (named ``mlp``)."""
    return keras.Sequential(
        [
            keras.Input(shape=(width,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ],
        name="mlp",
    )


class _DenseBatches(keras.utils.PyDataset):
    """Batches of a (sparse) design matrix, densified one at a time (200k x 5,567 would be 4.5 GB)."""

    def __init__(self, X, y, batch_size: int):
        super().__init__()
        self.X = X.tocsr() if hasattr(X, "tocsr") else np.asarray(X)  # dense when mostly numbers
        self.y, self.batch_size = y, batch_size

    def __len__(self) -> int:
        return -(-self.X.shape[0] // self.batch_size)

    def __getitem__(self, i: int):
        rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
        block = self.X[rows]
        block = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
        return block.astype(np.float32), self.y[rows]


@dataclass
class Workload:
    spec: TableSpec
    preprocessor: ColumnTransformer
    mlp: keras.Model
    test: pd.DataFrame
    width: int


def build_workload(spec: TableSpec, seed: int = SEED) -> Workload:
    """Fit the preprocessor on ``spec.train_rows`` rows and train the MLP for one epoch."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    train = make_table(spec, spec.train_rows, rng, unseen=False)
    preprocessor = make_preprocessor(spec).fit(train)
    X = preprocessor.transform(train)
    width = X.shape[1]
    # A target the features explain in part; the weights only need to be non-trivial.
    numbers = np.nan_to_num(train[spec.numeric_columns].to_numpy()[:, :3]).sum(axis=1)
    first_text = train[spec.text_columns[0]].str.len().to_numpy() if spec.text_columns else 0
    y = (numbers + first_text + rng.normal(size=len(train))).astype(np.float32)
    mlp = make_mlp(width)
    mlp.compile(optimizer="adam", loss="mse")
    mlp.fit(_DenseBatches(X, y, 512), epochs=1, verbose=0)
    test = make_table(spec, spec.test_rows, rng, unseen=True)
    return Workload(spec, preprocessor, mlp, test, width)


def directory_size(path: str | os.PathLike) -> int:
    """Bytes of a file, or of every file under a directory."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
    )
