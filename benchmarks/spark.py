"""Scoring the narrow table on Spark: ``keras_embed_prep.spark.predict`` vs today's pandas UDF.

    python benchmarks/spark.py                  # 1,000,000 rows; writes results/spark.md and spark.json
    python benchmarks/spark.py --rows 200000    # fewer rows (the table says how many)

Today's path is what users glue together by hand: a pandas UDF (``mapInPandas``) that loads the
pickled scikit-learn ColumnTransformer and the Keras model once per task and calls
``model(ct.transform(pdf))``. Each run is one fresh Spark session (``local[1]`` or ``local[2]``)
in its own process, scoring the same Parquet table into Spark's ``noop`` sink; the peak RSS of
each executor Python worker is sampled while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def prepare(root: Path, rows: int) -> None:
    """The workload (fitted ColumnTransformer, trained MLP), its three artifacts and the table."""
    import numpy as np
    from workload import build_workload, make_table, narrow_spec

    from keras_embed_prep import embed, export

    work = build_workload(narrow_spec(train_rows=50_000, test_rows=1_024))
    export(embed(work.mlp, work.preprocessor), root / "savedmodel")
    work.mlp.save(root / "mlp.keras")
    (root / "ct.pkl").write_bytes(pickle.dumps(work.preprocessor))
    make_table(work.spec, rows, np.random.default_rng(1), unseen=True).to_parquet(root / "table.parquet")


def _peak_worker_rss(stop: threading.Event, peaks: dict) -> None:
    import psutil

    while not stop.is_set():
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                cmd = " ".join(proc.info["cmdline"] or [])
                if "pyspark.daemon" in cmd or "pyspark/daemon" in cmd or "pyspark.worker" in cmd:
                    rss = proc.memory_info().rss
                    peaks[proc.info["pid"]] = max(peaks.get(proc.info["pid"], 0), rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        stop.wait(0.5)


def _pandas_udf_batches(root: str, batches):
    """Today's path, per task: unpickle the ColumnTransformer, load the model, transform, predict."""
    import keras
    import numpy as np

    ct = pickle.loads(Path(root, "ct.pkl").read_bytes())
    model = keras.saving.load_model(Path(root, "mlp.keras"))
    for pdf in batches:
        X = ct.transform(pdf)
        X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        yield pdf.assign(output_0=np.asarray(model(X.astype(np.float32))).reshape(-1))


def run_one(root: Path, master: str, path: str) -> dict:
    """Score the table once in a fresh session; rows per second and peak worker RSS."""
    import functools

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4096")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.parquet(str(root / "table.parquet"))
    rows = df.count()
    if path == "predict":
        from keras_embed_prep.spark import predict

        scored = predict(df, root / "savedmodel", batch_size=4096)
    else:
        from pyspark.sql.types import FloatType, StructField, StructType

        schema = StructType(df.schema.fields + [StructField("output_0", FloatType())])
        scored = df.mapInPandas(functools.partial(_pandas_udf_batches, str(root)), schema)
    stop, peaks = threading.Event(), {}
    sampler = threading.Thread(target=_peak_worker_rss, args=(stop, peaks), daemon=True)
    sampler.start()
    start = time.perf_counter()
    scored.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    spark.stop()
    return {
        "master": master,
        "path": path,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_worker_rss_mb": sorted(round(v / 2**20) for v in peaks.values()),
    }


def report(results: list[dict]) -> str:
    by = {(r["path"], r["master"]): r for r in results}
    rows = results[0]["rows"]
    lines = [
        f"# Scoring on Spark: {rows:,} rows of the narrow table",
        "",
        "| path | master | seconds | rows/s | peak RSS per worker (MB) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['path']} | {r['master']} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} | "
            f"{', '.join(map(str, r['peak_worker_rss_mb'])) or '-'} |"
        )
    p2, u2, p1 = (
        by.get(("predict", "local[2]")),
        by.get(("pandas_udf", "local[2]")),
        by.get(("predict", "local[1]")),
    )
    lines.append("")
    if p2 and u2:
        lines.append(f"- spark.predict / pandas UDF on local[2]: {p2['rows_per_s'] / u2['rows_per_s']:.2f}x")
    if p2 and p1:
        lines.append(f"- spark.predict local[2] / local[1]: {p2['rows_per_s'] / p1['rows_per_s']:.2f}x")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--one", nargs=3, metavar=("ROOT", "MASTER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(Path(args.one[0]), args.one[1], args.one[2])))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare(root, args.rows)
        for master, path in (("local[2]", "predict"), ("local[2]", "pandas_udf"), ("local[1]", "predict")):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(root), master, path],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(results[-1], flush=True)
    (HERE / "results" / "spark.json").write_text(json.dumps(results, indent=2))
    (HERE / "results" / "spark.md").write_text(report(results))
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
