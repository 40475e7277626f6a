"""Scoring the narrow table on Spark: ``keras_embed_prep.spark.predict`` vs today's pandas UDF.

    python benchmarks/spark.py                  # 1,000,000 rows; writes results/spark.md and spark.json
    python benchmarks/spark.py --rows 200000    # fewer rows (the table says how many)

Today's path is what users glue together by hand: a pandas UDF (``mapInPandas``) that loads the
pickled scikit-learn ColumnTransformer and the Keras model once per worker and calls
``model(ct.transform(pdf))``. Both paths get Arrow batches of 4,096 rows
(``spark.sql.execution.arrow.maxRecordsPerBatch``; ``predict(batch_size=4096)``) and the same
number of Python workers. Each run is one fresh Spark session (``local[1]`` or ``local[2]``) in
its own process, scoring the same Parquet table into Spark's ``noop`` sink twice: the first job
pays for starting the Python workers (importing TensorFlow, loading the model), the second reuses
them. The table is written in row groups of 65,536 rows, so that Spark splits it over both cores
(one row group is one split at most). The peak RSS of each executor Python worker is its kernel
high-water mark (``VmHWM``), read before the session stops; ``predict`` is also run on a quarter
of the rows to show that it does not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
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
    table = make_table(work.spec, rows, np.random.default_rng(1), unseen=True)
    table.to_parquet(root / "table.parquet", row_group_size=ROW_GROUP)
    table.iloc[: rows // 4].to_parquet(root / "quarter.parquet", row_group_size=ROW_GROUP)


#: Rows per Parquet row group: Spark never splits one, so a one-group table runs on one core.
ROW_GROUP = 65_536


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and its descendants (the JVM, the Python workers)."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _worker_peaks() -> dict[int, int]:
    """``{pid: VmHWM bytes}`` of the executor Python workers (the daemon's children) now alive."""
    import psutil

    daemons = {
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if "pyspark.daemon" in " ".join(p.info["cmdline"] or [])
    }
    peaks = {}
    for pid in daemons:
        try:
            children = psutil.Process(pid).children()
        except psutil.NoSuchProcess:
            continue
        for child in children:
            try:
                status = Path(f"/proc/{child.pid}/status").read_text()
            except OSError:
                continue
            kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), 0)
            peaks[child.pid] = int(kb) * 1024
    return peaks


def _pandas_udf_batches(root: str, batches):
    """Today's path: the ColumnTransformer unpickled and the model loaded once per executor Python
    worker (kept in that process between tasks, as careful user code does), then transform, predict."""
    import types

    import keras
    import numpy as np

    # A module object in sys.modules outlives the task in a reused worker; a global of this file
    # would not (the function travels by value, with fresh globals, to every task).
    cache = sys.modules.setdefault("_today_path_cache", types.ModuleType("_today_path_cache"))
    if getattr(cache, "root", None) != root:
        cache.ct = pickle.loads(Path(root, "ct.pkl").read_bytes())
        cache.model = keras.saving.load_model(Path(root, "mlp.keras"))
        cache.root = root
    ct, model = cache.ct, cache.model
    for pdf in batches:
        X = ct.transform(pdf)
        X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        yield pdf.assign(output_0=np.asarray(model(X.astype(np.float32))).reshape(-1))


def run_one(root: Path, master: str, path: str, table: str = "table.parquet", cpus: int = 0) -> dict:
    """Score the table twice in a fresh session (cold, then warm workers); rows/s and worker peaks.

    ``cpus`` > 0 pins this process, and so the JVM and Python workers it starts, to that many
    CPUs (``sched_setaffinity`` is inherited), so ``local[1]`` on one CPU against ``local[2]``
    on two measures scaling from one core to two on a machine that has only two.
    """
    import functools

    if cpus:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cpus])

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "4g")
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4096")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.parquet(str(root / table))
    rows = df.count()
    tasks = df.rdd.getNumPartitions()
    if path == "predict":
        from keras_embed_prep.spark import predict

        scored = predict(df, root / "savedmodel", batch_size=4096)
    else:
        from pyspark.sql.types import FloatType, StructField, StructType

        schema = StructType(df.schema.fields + [StructField("output_0", FloatType())])
        scored = df.mapInPandas(functools.partial(_pandas_udf_batches, str(root)), schema)
    seconds, busy = [], 0.0
    for _ in range(2):
        cpu, start = _cpu_seconds(), time.perf_counter()
        scored.write.format("noop").mode("overwrite").save()
        seconds.append(time.perf_counter() - start)
        busy = (_cpu_seconds() - cpu) / seconds[-1]
    peaks = _worker_peaks()
    spark.stop()
    return {
        "master": master,
        "path": path,
        "cpus": cpus or os.cpu_count(),
        "rows": rows,
        "tasks": tasks,
        "seconds_cold": seconds[0],
        "seconds_warm": seconds[1],
        "rows_per_s_cold": rows / seconds[0],
        "rows_per_s_warm": rows / seconds[1],
        "cores_busy_warm": busy,
        "peak_worker_rss_mb": sorted(round(v / 2**20) for v in peaks.values()),
    }


def report(results: list[dict], load: list[str]) -> str:
    by = {(r["path"], r["master"], r["rows"], r["cpus"]): r for r in results}
    ncpu = max(r["cpus"] for r in results)
    rows = max(r["rows"] for r in results)
    lines = [
        f"# Scoring on Spark: {rows:,} rows of the narrow table",
        "",
        "One run of `benchmarks/spark.py`: each line is a fresh Spark session scoring the Parquet table",
        "into the `noop` sink twice. *Cold*: the first job, which starts the Python workers (importing",
        "TensorFlow, loading the model); *warm*: the second job, on the same workers. Arrow batches of",
        "4,096 rows for both paths. Peak RSS: each executor Python worker's `VmHWM` after both jobs.",
        "Cores busy: CPU seconds of the driver, its JVM and the Python workers in the warm job, over",
        "its wall time (a task keeps more than one core busy: the JVM reads and converts while the",
        "worker scores).",
        "",
        "CPUs: how many CPUs the session (driver, JVM, Python workers) may run on; a session pinned",
        "to one CPU (`sched_setaffinity`) is how scaling from one core to two is measured on a",
        "two-core machine.",
        "",
        "| path | master | CPUs | rows | tasks | cold s | cold rows/s | warm s | warm rows/s "
        "| cores busy, warm | peak RSS per worker (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['path']} | {r['master']} | {r['cpus']} | {r['rows']:,} | {r['tasks']} | "
            f"{r['seconds_cold']:.1f} | "
            f"{r['rows_per_s_cold']:,.0f} | {r['seconds_warm']:.1f} | {r['rows_per_s_warm']:,.0f} | "
            f"{r['cores_busy_warm']:.2f} | "
            f"{', '.join(map(str, r['peak_worker_rss_mb'])) or '-'} |"
        )
    p2, u2, p1, q1 = (
        by.get(("predict", "local[2]", rows, ncpu)),
        by.get(("pandas_udf", "local[2]", rows, ncpu)),
        by.get(("predict", "local[1]", rows, ncpu)),
        by.get(("predict", "local[1]", rows, 1)),
    )
    lines += ["", "| ratio | cold | warm | goal |", "|---|---|---|---|"]
    for name, a, b, goal in (
        ("spark.predict / pandas UDF, local[2]", p2, u2, ">= 5x"),
        (f"spark.predict, local[2] on {ncpu} CPUs / local[1] on 1 CPU", p2, q1, ">= 1.7x"),
        (f"spark.predict, local[2] / local[1], both on {ncpu} CPUs", p2, p1, "(for comparison)"),
    ):
        if a and b:
            cold, warm = (a[f"rows_per_s_{k}"] / b[f"rows_per_s_{k}"] for k in ("cold", "warm"))
            lines.append(f"| {name} | {cold:.2f}x | {warm:.2f}x | {goal} |")
    lines += ["", "Machine load (`uptime`) before and after the run:", ""] + [f"    {line}" for line in load]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--one", nargs=5, metavar=("ROOT", "MASTER", "PATH", "TABLE", "CPUS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.one:
        root, master, path, table, cpus = args.one
        print(json.dumps(run_one(Path(root), master, path, table, int(cpus))))
        return 0
    load = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare(root, args.rows)
        for master, path, table, cpus in (
            ("local[2]", "predict", "table.parquet", 0),
            ("local[2]", "pandas_udf", "table.parquet", 0),
            ("local[1]", "predict", "table.parquet", 0),
            ("local[1]", "predict", "table.parquet", 1),
            ("local[2]", "predict", "quarter.parquet", 0),
        ):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(root), master, path, table, str(cpus)],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(results[-1], flush=True)
    load.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    (HERE / "results" / "spark.json").write_text(json.dumps({"uptime": load, "runs": results}, indent=2))
    (HERE / "results" / "spark.md").write_text(report(results, load))
    print(report(results, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
