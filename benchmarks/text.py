"""Text vectorizers: conversion time by vocabulary size, and latency of a tf-idf + numeric table.

Run ``python benchmarks/text.py``; it writes ``benchmarks/results/text.md``. Conversion is timed
from a fitted ColumnTransformer (TfidfVectorizer on a text column, StandardScaler on a number) to
the embedded Keras model, the first Dense layer fused (terms looked up in its kernel, no dense
``(rows, vocabulary)`` matrix). Latency compares the embedded model on raw rows with the path a
user has today: ``ct.transform`` (sparse), densified, then the Keras model; and with skl2onnx +
onnxruntime: the ColumnTransformer converted by skl2onnx and the Keras model by tf2onnx, merged
into one ONNX model (as in ``paths.py``), where skl2onnx converts it (the terms here are ASCII
words, which its tokenizer splits as scikit-learn does; its parity is printed in the table).
Medians of repeats, all paths of a row timed in the same run. The embedded model runs as a
``tf.function`` (the graph its SavedModel serves).
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


def _onnx_session(ct, model, width: int):
    """The skl2onnx + tf2onnx path as an onnxruntime session, or the reason it is not built."""
    try:
        import onnxruntime as ort
        from paths import ONNX_OPSET, _onnx_mlp, merge_onnx
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
        from sklearn.feature_extraction.text import TfidfVectorizer
    except ImportError as exc:
        return None, f"not installed: {exc.name}"
    types = [("review", StringTensorType([None, 1])), ("stars", FloatTensorType([None, 1]))]
    # StringNormalizer's default locale (en_US.UTF-8) is missing on minimal machines: C.UTF-8
    options = {TfidfVectorizer: {"locale": "C.UTF-8"}}
    pre = convert_sklearn(ct, initial_types=types, target_opset=ONNX_OPSET, options=options)
    merged = merge_onnx(pre, _onnx_mlp(model, width))
    session = ort.InferenceSession(merged.SerializeToString(), providers=["CPUExecutionProvider"])
    return session, None


def _onnx_feeds(rows: pd.DataFrame) -> dict:
    return {
        "review": rows[["review"]].to_numpy().astype(str),
        "stars": rows[["stars"]].to_numpy().astype(np.float32),
    }


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
        "| vocabulary | convert + embed (s) | batch | embedded (ms) | ct.transform + model (ms) | ratio "
        "| skl2onnx + onnxruntime (ms) | ratio | onnx max abs err |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    skipped = None
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
        session, skipped = _onnx_session(ct, model, width)
        for batch in (1, 1024):
            rows = _table(vocabulary, batch, seed=1)
            feeds = to_inputs(rows, full)
            repeats = 20 if batch == 1 else 5
            ours = _median_seconds(lambda f=feeds, s=served: s(f), repeats)
            today = _median_seconds(
                lambda r=rows, m=model, c=ct: m(c.transform(r).toarray().astype(np.float32)), repeats
            )
            onnx = "n/a | n/a | n/a"
            if session is not None:
                inputs = _onnx_feeds(rows)
                seconds = _median_seconds(lambda i=inputs, s=session: s.run(None, i), repeats)
                expected = np.asarray(model(ct.transform(rows).toarray().astype(np.float32)))
                error = np.max(np.abs(session.run(None, inputs)[0] - expected))
                onnx = f"{seconds * 1e3:.2f} | {seconds / ours:.3f} | {error:.1e}"
            lines.append(
                f"| {vocabulary:,} | {convert:.2f} | {batch} | {ours * 1e3:.2f} | {today * 1e3:.2f} | "
                f"{today / ours:.2f} | {onnx} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        "ratio: the other path's time / embedded; above 1, the embedded model is faster. "
        "onnx max abs err: the merged ONNX model against ct.transform + the Keras model on the timed rows.",
        "skl2onnx converts these ASCII words exactly; it has no char_wb and tokenizes other text "
        "differently (docs/text.md), which is why export(format='onnx') refuses text.",
    ]
    if skipped:
        lines.append(f"skl2onnx + onnxruntime not timed: {skipped}.")
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
