"""Side-by-side benchmark of the serving paths of issue 6; writes ``benchmarks/results/``.

    python benchmarks/run.py            # the full run (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick    # a smoke test (a few minutes); writes results/quick.tmp/

Steps: build the workload and every path's files (conversion times, sizes); check
parity of every path against path A on all test rows, dropping any that fails; time
batches up to 4,096 in this process, paths interleaved; time the biggest batch and
measure its peak memory in a fresh process per path; the same for a 500-column table
(conversion and small batches); trace path B per op. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from paths import available_paths, build_artifacts, load_path  # noqa: E402


@dataclass(frozen=True)
class Config:
    quick: bool
    train_rows: int
    wide_train_rows: int
    big_rows: int
    big_reps: int
    batches: tuple[int, ...]
    wide_batches: tuple[int, ...]
    trace_batches: tuple[int, ...]
    budget_s: float  # per batch size, all paths together
    max_reps: int
    parity_chunk: int = 8_192

    @classmethod
    def of(cls, quick: bool) -> Config:
        if quick:
            return cls(True, 50_000, 5_000, 4_096, 2, (1, 32, 1024), (1, 1024), (1, 1024), 1.5, 50)
        return cls(False, 200_000, 20_000, 65_536, 3, (1, 32, 1024, 4096), (1, 1024), (1, 4096), 10.0, 300)


def log(message: str, start: float = time.perf_counter()) -> None:
    print(f"[{time.perf_counter() - start:6.1f}s] {message}", flush=True)


#: Packages whose versions a report names (``versions``).
PACKAGES = ("tensorflow", "keras", "scikit-learn", "numpy", "onnxruntime", "skl2onnx", "tf2onnx", "onnx")


def versions(names=PACKAGES) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


# --- steps ----------------------------------------------------------------------------------


def check_parity(names, workdir: Path, test, chunk: int, load=load_path) -> dict[str, dict]:
    """Every path against path A on all test rows, chunk by chunk (keeps memory low).

    ``load(name, workdir)`` gives a loaded path (``paths.load_path``; ``backends.py`` adds its own).
    """
    from keras_embed_prep.verify import compare, merge_reports

    reference = load("A", workdir)
    expected = [reference(reference.feed(test.iloc[i : i + chunk])) for i in range(0, len(test), chunk)]
    del reference
    reports = {}
    for name in names:
        try:
            path = load(name, workdir)
            parts = [
                compare(path(path.feed(test.iloc[i : i + chunk])), ref)
                for i, ref in zip(range(0, len(test), chunk), expected, strict=True)
            ]
        except Exception as exc:  # a path that cannot even run fails parity, with its reason
            reports[name] = {"passed": False, "rows": 0, "max_abs_error": np.nan, "max_rel_error": np.nan}
            reports[name]["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300]}"
            log(f"  parity {name}: FAILED to run ({reports[name]['error']})")
            continue
        report = merge_reports(parts).to_dict()
        reports[name] = {
            k: report[k] for k in ("passed", "rows", "max_abs_error", "max_rel_error", "worst_ratio")
        }
        reports[name]["rows_over_tolerance"] = sum(
            c["violations"] + c["nan_mismatches"] for c in report["columns"]
        )
        log(
            f"  parity {name}: max abs diff {report['max_abs_error']:.3g} "
            f"({'passed' if report['passed'] else 'FAILED'})"
        )
    return reports


#: Calls in a row per path and round; the first of each is not timed (see measure.interleaved).
BLOCK = 4


def time_batches(
    names, workdir: Path, test, batches, cfg, load=load_path, block: int = BLOCK
) -> dict[str, dict[str, dict]]:
    """Median latency of every path at each batch, paths interleaved in blocks of calls.

    ``cfg``: its budget and reps; ``load``: as in :func:`check_parity`.
    """
    from measure import interleaved

    paths = {name: load(name, workdir) for name in names}
    results: dict[str, dict[str, dict]] = {name: {} for name in names}
    for batch in batches:
        rows = test.iloc[:batch]
        calls = {name: (path, path.feed(rows)) for name, path in paths.items()}
        min_reps = 5 if batch <= 1024 else 3
        timing = interleaved(
            calls, budget_s=cfg.budget_s, min_reps=min_reps, max_reps=cfg.max_reps, block=block
        )
        for name, summary in timing.items():
            results[name][str(batch)] = summary
        log(f"  batch {batch}: " + ", ".join(f"{n} {t['median_ms']:.3g} ms" for n, t in timing.items()))
    return results


def probe_big_batch(names, workdir: Path, rows: int, reps: int) -> dict[str, dict]:
    """The biggest batch, one fresh process per path: latency, peak memory, outputs."""
    from keras_embed_prep.verify import compare

    results, outputs = {}, {}
    for name in names:
        out = workdir / f"big_{name.replace(':', '_')}.npy"
        command = [sys.executable, str(HERE / "probe.py"), "--workdir", str(workdir), "--path", name]
        command += ["--rows", str(rows), "--reps", str(reps), "--out", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            results[name] = {"error": f"probe exited {done.returncode}: {tail[:300]}"}
            log(f"  {name}: {results[name]['error']}")
            continue
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        outputs[name] = np.load(out)
        log(
            f"  {name}: {results[name]['latency']['median_ms']:.4g} ms, first call "
            f"{results[name]['first_call_ms']:.4g} ms, peak +{results[name]['peak_delta_bytes'] / 1e9:.3g} GB"
        )
    if "A" in outputs:
        for name, values in outputs.items():
            report = compare(values, outputs["A"]).to_dict()
            status = "passed" if report["passed"] else "FAILED"
            results[name]["parity"] = f"{status}, max abs diff {report['max_abs_error']:.3g}"
    return results


def a_call_choice(workdir: Path, test, budget_s: float) -> str:
    """How fast the MLP is through ``tf.function`` vs ``predict_on_batch`` (the call of path A)."""
    from measure import interleaved

    bare = load_path("bare", workdir)
    parts = []
    for batch in (1, 1024):
        x = bare.transform(test.iloc[:batch])
        timing = interleaved(
            {
                "tf.function": (lambda a: bare.fn(a).numpy(), x),
                "predict_on_batch": (bare.mlp.predict_on_batch, x),
            },
            budget_s=budget_s,
            min_reps=5,
            max_reps=300,
        )
        parts.append(
            f"batch {batch}: `tf.function` {timing['tf.function']['median_ms']:.3g} ms vs "
            f"`predict_on_batch` {timing['predict_on_batch']['median_ms']:.3g} ms"
        )
    return "; ".join(parts)


def trace_b(table_name: str, workdir: Path, test, batch: int, table: dict) -> dict:
    """Per-op trace of path B at ``batch``, next to its ``serving_default`` latency from Python."""
    from breakdown import trace_savedmodel

    from keras_embed_prep import to_inputs

    path = load_path("B", workdir)
    raw = to_inputs(test.iloc[:batch], path.model)
    feed = {path.keys[k]: np.asarray(v) for k, v in raw.items()}  # a session takes no tf.Tensor
    trace = trace_savedmodel(str(workdir / "savedmodel"), feed)
    call = table.get("latency", {}).get("B", {}).get(str(batch))
    trace |= {"table": table_name, "batch": batch, "call_ms": call and call["median_ms"]}
    log(f"  traced B ({table_name}) at batch {batch}: {trace['sum_ms']}")
    return trace


def first_dense(workload, budget_s: float) -> dict:
    from breakdown import first_dense_costs

    encoder = workload.preprocessor.named_transformers_["cat"]
    sizes = [len(c) for c in encoder.categories_]
    dense = first_dense_costs(
        workload.mlp, workload.spec.n_numeric, sizes, batches=(1, 1024, 4096), budget_s=budget_s
    )
    return {str(b): r for b, r in dense.items()}


#: Paths of the one-row question (issue 14): timed up to the "big" batch, not probed at 65,536 rows.
SMALL_BATCH_ONLY = ("E_records", "K_call", "K_predict")


def to_inputs_timing(workdir: Path, test, rows: tuple[int, ...], budget_s: float) -> dict[str, dict]:
    """``to_inputs`` against building the same tensors by hand, one ``tf.constant`` per column."""
    import keras
    import tensorflow as tf
    from measure import interleaved

    from keras_embed_prep import to_inputs

    model = keras.saving.load_model(workdir / "embedded.keras", safe_mode=True)
    kinds = {t.name: t.dtype == "string" for t in model.inputs}

    def by_hand(frame):
        return {
            c: tf.constant(frame[c].tolist() if kinds[c] else frame[c].to_numpy(np.float32)) for c in kinds
        }

    out = {}
    for n in rows:
        frame = test.iloc[:n].copy()
        got, expected = to_inputs(frame, model), by_hand(frame)
        for c in kinds:  # the same tensors, or the comparison means nothing
            np.testing.assert_array_equal(np.asarray(got[c]), expected[c].numpy(), err_msg=c)
        calls = {"to_inputs": (lambda f: to_inputs(f, model), frame), "by hand": (by_hand, frame)}
        out[str(n)] = interleaved(calls, budget_s=budget_s, min_reps=20, max_reps=2000)
        log(
            f"  to_inputs {n} rows: "
            + ", ".join(f"{k} {t['median_ms']:.3g} ms" for k, t in out[str(n)].items())
        )
    return out


#: The paths of issue 14's batch-1 goal, timed again on their own at one row (see one_row_serving).
ONE_ROW_PATHS = ("B", "B_packed", "bare")


def one_row_serving(names, workdir: Path, test, budget_s: float) -> dict[str, dict]:
    """``serving_default``, ``serving_packed`` and the bare MLP at one row, only these three interleaved.

    In the main table each batch-1 round also runs the slow paths (A, Keras' predict), so it
    gets few rounds and each small call follows a long one; here the three calls the goal
    compares share the budget, for many rounds.
    """
    from measure import interleaved

    rows = test.iloc[:1]
    calls = {}
    for name in ONE_ROW_PATHS:
        if name in names:
            path = load_path(name, workdir)
            calls[name] = (path, path.feed(rows))
    timing = interleaved(calls, budget_s=budget_s, min_reps=100, max_reps=3000, block=BLOCK)
    log("  one row, three paths: " + ", ".join(f"{n} {t['median_ms']:.3g} ms" for n, t in timing.items()))
    return timing


def run_table(spec, workdir: Path, cfg: Config, batches, big: bool) -> tuple[dict, object]:
    from workload import build_workload

    log(f"{spec.name} table: {spec.n_columns} columns, {spec.train_rows:,} training rows")
    workload = build_workload(spec)
    log(f"  {workload.width:,} output columns; converting every path")
    info = build_artifacts(workload, workdir)
    for step, seconds in info["conversion_s"].items():
        log(f"  {step}: {seconds:.3g} s")
    for name, reason in info["errors"].items():
        log(f"  {name} not available: {reason}")
    names = available_paths(info)
    table = {
        "spec": asdict(spec) | {"n_columns": spec.n_columns},
        "width": workload.width,
        "conversion": info,
    }
    log(f"  checking parity against A on {len(workload.test):,} rows")
    table["parity"] = check_parity(names, workdir, workload.test, cfg.parity_chunk)
    passed = [n for n in names if table["parity"][n]["passed"]]
    log(f"  timing batches {batches}")
    table["latency"] = time_batches(passed, workdir, workload.test, batches, cfg)
    table["to_inputs"] = to_inputs_timing(workdir, workload.test, (1, max(batches)), cfg.budget_s / 3)
    if big:
        table["one_row"] = one_row_serving(passed, workdir, workload.test, cfg.budget_s / 2)
    if big:
        log(f"  batch {cfg.big_rows:,}: one fresh process per path")
        probed = [n for n in passed if n not in SMALL_BATCH_ONLY]
        table["big"] = probe_big_batch(probed, workdir, cfg.big_rows, cfg.big_reps)
        for name, result in table["big"].items():
            if "latency" in result:
                table["latency"][name][str(cfg.big_rows)] = result["latency"]
    return table, workload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run for a smoke test")
    parser.add_argument("--out", type=Path, help="results folder (default results/, or results/quick.tmp/)")
    args = parser.parse_args(argv)
    cfg = Config.of(args.quick)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one tf.function per loaded path reads as "retracing"
    out = args.out or HERE / "results" / ("quick.tmp" if cfg.quick else "")
    start = time.perf_counter()

    import report
    from workload import narrow_spec, wide_spec

    from keras_embed_prep.verify import ATOL, RTOL

    results = {
        "meta": {
            "quick": cfg.quick,
            "block": BLOCK,
            "command": "make bench" + (" BENCH_ARGS=--quick" if cfg.quick else ""),
            "machine": f"{os.cpu_count()} CPU cores ({platform.machine()}, shared with other work), no GPU",
            "date": datetime.date.today().isoformat(),
            "versions": versions(),
            "big_rows": cfg.big_rows,
            "big_reps": cfg.big_reps,
            "rtol": RTOL,
            "atol": ATOL,
            "config": asdict(cfg),
            "cpus": os.cpu_count(),
            "load_average": {"start": os.getloadavg()},
        }
    }
    with tempfile.TemporaryDirectory(prefix="keras-embed-prep-bench-") as tmp:
        tmp = Path(tmp)
        narrow_dir = tmp / "narrow"
        results["narrow"], narrow = run_table(
            narrow_spec(cfg.train_rows, cfg.big_rows), narrow_dir, cfg, cfg.batches, big=True
        )
        log("choice of path A's model call")
        results["meta"]["a_call"] = a_call_choice(narrow_dir, narrow.test, budget_s=cfg.budget_s / 5)
        log("where path B spends its time")
        results["breakdown"] = [
            trace_b("narrow", narrow_dir, narrow.test, batch, results["narrow"])
            for batch in cfg.trace_batches
        ]
        results["first_dense"] = first_dense(narrow, budget_s=cfg.budget_s / 5)
        del narrow
        wide_dir = tmp / "wide"
        results["wide"], wide = run_table(
            wide_spec(cfg.wide_train_rows), wide_dir, cfg, cfg.wide_batches, big=False
        )
        results["breakdown"].append(trace_b("wide", wide_dir, wide.test, 1, results["wide"]))
        from breakdown import signature_overhead

        counts = (2, narrow_spec().n_columns, 100, wide_spec().n_columns)  # 2: serving_packed's inputs
        results["signature_overhead"] = signature_overhead(counts, budget_s=cfg.budget_s / 5)
        log(f"  serving_default call on n one-row inputs, no preprocessing: {results['signature_overhead']}")
    results["meta"]["duration_s"] = time.perf_counter() - start
    results["meta"]["load_average"]["end"] = os.getloadavg()
    report.write(results, out)
    log(f"wrote {out.relative_to(HERE.parent) if out.is_relative_to(HERE.parent) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
