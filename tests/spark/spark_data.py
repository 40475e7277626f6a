"""The Spark test data: rows to fit on, clean rows Spark accepts in every mode, and dirty rows.

Dirty rows hold what ``handleInvalid="error"`` refuses: unseen labels, nulls in text, NaN in
numbers. Every numeric column has nulls (read as NaN by the model); ``c`` holds NaN and zeros.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLORS = ["red", "green", "blue", "violet", "red", "red", "green"]
SIZES = ["S", "M", "L", "M"]


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(0, 10, n).astype(np.float32).astype(np.float64),  # float32-exact rows
            "b": (rng.uniform(0, 5, n) * 4).round() / 4,
            "k": np.full(n, 7.0),
            "c": rng.choice([0.0, 1.5, -2.0, 3.25], n),
            "color": [COLORS[i % len(COLORS)] for i in rng.integers(0, 100, n)],
            "size": [SIZES[i % len(SIZES)] for i in rng.integers(0, 100, n)],
        }
    )
    frame["y"] = (frame["b"] > 2.5).astype(float)
    return frame


def fit_rows() -> pd.DataFrame:
    """40 rows: nulls in ``a``, ``b`` and ``color``."""
    frame = _rows(40, 0).astype({"a": object, "b": object, "color": object})
    frame.loc[[3, 11, 17], "a"] = None
    frame.loc[[5, 23], "b"] = None
    frame.loc[[8, 30], "color"] = None
    return frame


def clean_rows() -> pd.DataFrame:
    """24 new rows with nulls in ``a`` and ``b`` only (imputed before anything refuses them)."""
    frame = _rows(24, 1).astype({"a": object, "b": object})
    frame.loc[[2, 9], "a"] = None
    frame.loc[[4], "b"] = None
    frame.loc[0, "a"] = 1e6
    return frame


def dirty_rows() -> pd.DataFrame:
    """Clean rows plus an unseen color, a null color, NaN in ``c``, an unseen size."""
    frame = clean_rows().astype({"color": object, "size": object, "c": float})
    frame.loc[1, "color"] = "chartreuse"
    frame.loc[3, "color"] = None
    frame.loc[[5, 6], "c"] = np.nan
    frame.loc[7, "size"] = "XXL"
    return frame


def spark_frame(spark, frame: pd.DataFrame):
    """``frame`` as a Spark DataFrame: numbers double (None: null, NaN: NaN), text string.

    One partition: one task per job, and one executor Python worker (one TensorFlow import) for
    spark.predict, on a machine whose cores the other tests share.
    """
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    text = {"color", "size"}
    schema = StructType(
        [StructField(c, StringType() if c in text else DoubleType(), True) for c in frame.columns]
    )
    rows = [
        tuple(v if (c in text or v is None) else float(v) for c, v in zip(frame.columns, row, strict=True))
        for row in frame.astype(object).itertuples(index=False)
    ]
    return spark.createDataFrame(rows, schema).coalesce(1)
