"""Text vectorizers: conversion time by vocabulary size, and latency of a tf-idf + numeric table.

Run ``python benchmarks/text.py``; it writes ``benchmarks/results/text.md``. Conversion is timed
from a fitted ColumnTransformer (TfidfVectorizer on a text column, StandardScaler on a number) to
the embedded Keras model, the first Dense layer fused (terms looked up in its kernel, no dense
``(rows, vocabulary)`` matrix). Latency compares the embedded model on raw rows with the path a
user has today: ``ct.transform`` (sparse), densified, then the Keras model; medians of repeats.
The embedded model runs as a ``tf.function`` (the graph its SavedModel serves).
"""

from __future__ import annotations

import pathlib
import time

import numpy as np
import pandas as pd

RESULTS = pathlib.Path(__file__).parent / "results" / "text.md"


def _table(vocabulary: int, rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)], dtype=object)
    docs = [" ".join(rng.choice(words, 30)) for _ in range(rows)]
    return pd.DataFrame({"review": docs, "stars": rng.normal(size=rows)})


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm up (tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    import keras
    import tensorflow as tf
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import StandardScaler

    from keras_embed_prep import embed, to_inputs

    lines = [
        "# Text vectorizers",
        "",
        "| vocabulary | convert + embed (s) | batch | embedded (ms) | ct.transform + model (ms) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for vocabulary in (1_000, 10_000, 100_000):
        fit = _table(vocabulary, max(4000, vocabulary // 8))
        fit["review"] = [" ".join(f"w{i}" for i in range(j, vocabulary, 97)) for j in range(97)] + list(
            fit["review"][97:]
        )  # every term occurs, so the vocabulary has them all
        ct = ColumnTransformer([("t", TfidfVectorizer(), "review"), ("n", StandardScaler(), ["stars"])]).fit(
            fit
        )
        width = len(ct.named_transformers_["t"].vocabulary_) + 1
        model = keras.Sequential(
            [keras.Input((width,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
        )
        start = time.perf_counter()
        full = embed(model, ct)
        convert = time.perf_counter() - start
        served = tf.function(full)  # the graph a SavedModel serves, not op-by-op eager calls
        for batch in (1, 1024):
            rows = _table(vocabulary, batch, seed=1)
            feeds = to_inputs(rows, full)
            ours = _median_seconds(lambda f=feeds, s=served: s(f), 20 if batch == 1 else 5)
            today = _median_seconds(
                lambda r=rows, m=model, c=ct: m(c.transform(r).toarray().astype(np.float32)),
                20 if batch == 1 else 5,
            )
            lines.append(
                f"| {vocabulary:,} | {convert:.2f} | {batch} | {ours * 1e3:.1f} | {today * 1e3:.1f} | "
                f"{today / ours:.2f} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        "ratio: (ct.transform + model) / embedded; above 1, the embedded model is faster.",
        "skl2onnx + onnxruntime is not timed in this run; "
        "see docs/text.md for why text is not exported to ONNX.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
