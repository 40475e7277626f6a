"""Backends (issue 12): the numeric-only table on JAX, the SavedModel, LiteRT and onnxruntime.

    python benchmarks/backends.py            # about 2 minutes on 2 cores; writes results/backends.{md,json}
    python benchmarks/backends.py --quick    # under a minute; writes results/quick.tmp/backends.*

Workload: the narrow table's 12 numeric columns only (NaN included; ``workload.numeric_spec``),
SimpleImputer + StandardScaler and the benchmark's Dense 64-64-1 MLP, embedded with ``embed``.
Every path is checked against ``ct.transform`` + the MLP (path A of ``run.py``) on all test rows
before it is timed; one that fails, or cannot be built, is not timed and the table says why.
Batches 1 and 1,024, median per call, all paths interleaved round after round
(``measure.interleaved``), ratios to the SavedModel's ``serving_default``; timed twice: in blocks
of calls in a row with the first untimed, as ``run.py`` does (the first pays for what the other
paths left behind: their runtimes' spinning threads, and for a JAX worker its wake-up after the
wait), then with one call per path and round.

The ``.keras`` file runs on JAX in worker processes of its own (``KERAS_BACKEND=jax``, one with
``JAX_ENABLE_X64=1``, one without it), which import neither TensorFlow nor keras_embed_prep. The
workers take each call from this process over a pipe and time it themselves, so the trip between
the processes is not in their times, and the round-after-round order holds across processes: a
worker waits on its pipe, using no CPU, while the other paths run. JAX is timed two ways, a
``jax.jit`` of the model's ``stateless_call`` (weights passed as arguments, compiled once per batch
size during the warm-up) and Keras' ``predict_on_batch``; inputs are on the device before the
call, outputs copied back to numpy in it, as for every other path (``tf.constant`` inputs for the
SavedModel, numpy outputs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from paths import _error  # noqa: E402  (numpy and pandas only: the JAX worker imports it too)

BATCHES = (1, 1024)
#: Label of each path, in table order; the ratio column divides by ``REFERENCE``'s time.
LABELS = {
    "A": "today: `ct.transform(df)` + the Keras MLP (`tf.function`)",
    "B": "SavedModel `serving_default` (TensorFlow)",
    "B_packed": "SavedModel `serving_packed` (one float32 tensor)",
    "jax": "`.keras` on JAX, `jax.jit(model.stateless_call)`, x64",
    "jax_predict": "`.keras` on JAX, `model.predict_on_batch`, x64",
    "jax_no_x64": "`.keras` on JAX, `jax.jit(model.stateless_call)`, x64 off",
    "D:litert": "LiteRT: `export(format='litert')`, `ai_edge_litert` interpreter",
    "D:onnx": "onnxruntime: `export(format='onnx')`",
}
REFERENCE = "B"
#: The JAX paths: each worker's calls (x64 on, x64 off).
WORKERS = {"x64": {"jax": "jit", "jax_predict": "predict_on_batch"}, "no_x64": {"jax_no_x64": "jit"}}


@dataclass(frozen=True)
class Config:
    quick: bool
    train_rows: int
    test_rows: int
    budget_s: float  # per batch size, all paths together
    max_reps: int
    sample_rows: int = 2_048  # export(..., sample=) rows
    parity_chunk: int = 8_192

    @classmethod
    def of(cls, quick: bool) -> Config:
        if quick:
            return cls(True, 50_000, 8_192, 2.0, 300)
        return cls(False, 200_000, 65_536, 20.0, 5_000)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


#: Packages whose versions the report names.
PACKAGES = ("tensorflow", "keras", "jax", "jaxlib", "onnxruntime", "ai-edge-litert", "scikit-learn", "numpy")


# --- the JAX worker (its own process) --------------------------------------------------------


def worker(workdir: Path) -> int:
    """Serve the ``.keras`` file on JAX: ``feed``, ``call`` and ``stats`` requests on stdin.

    Replies go to the original stdout (a JSON line, then the output's float32 bytes for a
    call); anything Keras or JAX prints goes to stderr instead.
    """
    import warnings

    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    caught: list[str] = []
    shown = warnings.showwarning
    warnings.simplefilter("always")

    def record(message, category, *args, **kwargs):
        caught.append(f"{category.__name__}: {str(message).splitlines()[0][:200]}")
        shown(message, category, *args, **kwargs)

    warnings.showwarning = record

    def reply(header: dict, payload: bytes = b"") -> None:
        protocol.write(json.dumps(header).encode() + b"\n" + payload)
        protocol.flush()

    try:
        import jax
        import keras

        model = keras.saving.load_model(workdir / "embedded.keras", safe_mode=True)
        inputs = dict(np.load(workdir / "inputs.npz"))
        # Copies: predict_on_batch donates the model's own buffers, which would delete these.
        trainable = [jax.device_put(np.asarray(v.value)) for v in model.trainable_variables]
        fixed = [jax.device_put(np.asarray(v.value)) for v in model.non_trainable_variables]
        jitted = jax.jit(lambda t, n, x: model.stateless_call(t, n, x)[0])
        calls = {
            "jit": lambda x: np.asarray(jitted(trainable, fixed, x)),
            "predict_on_batch": lambda x: np.asarray(model.predict_on_batch(x)),
        }
    except Exception as exc:  # the table says why the path did not run
        reply({"error": _error(exc)})
        return 1
    reply(
        {
            "backend": keras.backend.backend(),
            "x64": bool(jax.config.jax_enable_x64),
            "tensorflow_imported": "tensorflow" in sys.modules,
            "keras_embed_prep_imported": "keras_embed_prep" in sys.modules,
            "devices": [str(d) for d in jax.devices()],
        }
    )
    feeds: dict[tuple[int, int], dict] = {}
    first: dict[str, float] = {}
    busy = {"calls_s": 0.0, "cpu_at_start_s": time.process_time()}
    for line in sys.stdin:
        request = line.split()
        if request[0] == "feed":
            start, stop = int(request[1]), int(request[2])
            feeds[start, stop] = {k: jax.device_put(v[start:stop]) for k, v in inputs.items()}
            reply({"ok": True})
        elif request[0] == "call":
            name, key = request[1], (int(request[2]), int(request[3]))
            try:
                begin = time.perf_counter()
                out = calls[name](feeds[key])
                seconds = time.perf_counter() - begin
            except Exception as exc:
                reply({"error": _error(exc)})
                continue
            first.setdefault(f"{name} {key[1] - key[0]}", seconds)
            busy["calls_s"] += seconds
            out = np.ascontiguousarray(out, dtype=np.float32)
            reply({"s": seconds, "shape": list(out.shape)}, out.tobytes())
        elif request[0] == "stats":
            cpu = time.process_time() - busy["cpu_at_start_s"]
            reply(
                {
                    "first_call_s": first,
                    "warnings": sorted(set(caught)),
                    "calls_s": busy["calls_s"],
                    "cpu_s": cpu,
                }
            )
        else:
            break
    return 0


class Worker:
    """A JAX worker process, started with or without ``JAX_ENABLE_X64``."""

    def __init__(self, workdir: Path, x64: bool):
        env = dict(os.environ, KERAS_BACKEND="jax")
        env.pop("JAX_ENABLE_X64", None)  # unset, not "": JAX refuses to import with an empty value
        if x64:
            env["JAX_ENABLE_X64"] = "1"
        self.log = workdir / f"worker-{'x64' if x64 else 'no-x64'}.log"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(workdir)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log.open("wb"), env=env
        )
        self.info: dict | None = None

    def hello(self) -> dict:
        """The worker's first reply: its backend and x64 setting, or the error that stopped it."""
        if self.info is None:
            self.info = self._read()
        return self.info

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return {"error": f"worker exited {self.process.wait()}: {tail[0][:300]}"}
        return json.loads(line)

    def ask(self, *request) -> tuple[dict, bytes]:
        self.process.stdin.write((" ".join(str(r) for r in request) + "\n").encode())
        self.process.stdin.flush()
        header = self._read()
        payload = b""
        if "shape" in header:
            payload = self.process.stdout.read(4 * int(np.prod(header["shape"])))
        if "error" in header:
            raise RuntimeError(header["error"])
        return header, payload

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write(b"quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)


class Remote:
    """One call of a worker as a path: ``feed`` puts the rows on its device, a call runs them there.

    ``own_seconds`` is the worker's time for the last call, which ``measure.interleaved``
    records instead of the round trip.
    """

    def __init__(self, worker: Worker, call: str):
        self.worker, self.call = worker, call

    def feed(self, frame):
        start = int(frame.index[0])
        if list(frame.index) != list(range(start, start + len(frame))):
            raise ValueError("a worker takes consecutive test rows")
        self.worker.ask("feed", start, start + len(frame))
        return start, start + len(frame)

    def __call__(self, rows):
        header, payload = self.worker.ask("call", self.call, *rows)
        self.own_seconds = header["s"]
        return np.frombuffer(payload, dtype=np.float32).reshape(header["shape"])


# --- building ----------------------------------------------------------------------------------


def build(workload, workdir: Path, cfg: Config) -> dict:
    """The files of every path in the layout ``paths.load_path`` reads; conversion times, failures."""
    from paths import export_target

    import keras_embed_prep as kep

    workdir.mkdir(parents=True, exist_ok=True)
    info: dict = {"conversion_s": {}, "errors": {}, "export_reports": {}}
    workload.test.to_pickle(workdir / "test.pkl")
    (workdir / "preprocessor.pkl").write_bytes(pickle.dumps(workload.preprocessor))
    workload.mlp.save(workdir / "mlp.keras")
    start = time.perf_counter()
    full = kep.embed(workload.mlp, workload.preprocessor)
    info["conversion_s"]["embed()"] = time.perf_counter() - start
    full.save(workdir / "embedded.keras")
    start = time.perf_counter()
    kep.export(full, workdir / "savedmodel")
    info["conversion_s"]["export() SavedModel"] = time.perf_counter() - start
    (workdir / "manifest.json").write_text(json.dumps({"signature_keys": kep.signature_keys(full)}))
    feeds = kep.to_inputs(workload.test, full)  # what the JAX workers are fed
    np.savez(workdir / "inputs.npz", **{name: np.asarray(v) for name, v in feeds.items()})
    sample = workload.test.iloc[: cfg.sample_rows]
    for fmt in ("onnx", "litert"):
        start = time.perf_counter()
        try:
            report = kep.export(full, export_target(workdir, fmt), format=fmt, sample=sample)
        except Exception as exc:  # not run, and the table says why
            info["errors"][f"D:{fmt}"] = f"not run: {_error(exc)}"
            continue
        info["conversion_s"][f"export(format={fmt!r})"] = time.perf_counter() - start
        lines = str(report).splitlines() if report is not None else [""]
        info["export_reports"][fmt] = next((line for line in lines if line.startswith("parity")), lines[0])
    return info


# --- report ------------------------------------------------------------------------------------


def render(results: dict) -> str:
    from report import _table, fmt_ms, fmt_ratio

    meta, parity = results["meta"], results["parity"]
    modes = [results["latency"], results["latency_single"]]
    dash = ["-"] * 2 * len(modes) * len(BATCHES)
    rows = []
    for name, text in LABELS.items():
        if name in results["not_run"]:
            rows.append([text, results["not_run"][name], *dash])
            continue
        check = parity[name]
        if not check["passed"]:
            over = "" if check.get("worst_ratio") is None else f", up to {check['worst_ratio']:.3g}x it"
            why = check.get("error") or (
                f"{check['rows_over_tolerance']:,} of {check['rows']:,} rows over the tolerance{over}; "
                f"max abs diff {check['max_abs_error']:.3g}"
            )
            rows.append([text, f"**failed** ({why}): not timed", *dash])
            continue
        cells = [text, f"passed, max abs diff {check['max_abs_error']:.2g}"]
        for b in BATCHES:
            for latency in modes:
                ms, reference = (
                    latency.get(n, {}).get(str(b), {}).get("median_ms") for n in (name, REFERENCE)
                )
                cells += [fmt_ms(ms), fmt_ratio(ms / reference if ms and reference else None)]
        rows.append(cells)
    header = ["path", "parity on the test rows"]
    for b in BATCHES:
        header += [f"batch {b:,}", "/ SavedModel", f"batch {b:,}, single calls", "/ SavedModel"]
    latency = results["latency"]
    lines = [
        "# Backends: the numeric-only table on JAX, the SavedModel, LiteRT and onnxruntime",
        "",
        f"`{meta['command']}`, {meta['date']}, {meta['duration_s']:.0f} s; {meta['machine']}. "
        f"{meta['rows']['train']:,} training rows, parity on {meta['rows']['test']:,} test rows "
        f"(`|d| <= {meta['atol']:g} + {meta['rtol']:g} * |ref|`, against today's path). "
        "Median per call, all paths interleaved round after round; ratio: the path's time / the "
        f"SavedModel's `serving_default` (below 1: faster). Each round calls a path {meta['block']} "
        "times in a row and times all but the first, as `make bench` does (the first pays for what "
        "the other paths left behind: their runtimes' threads still spinning, caches to refill, and "
        "for JAX a worker process to wake from its wait on the pipe). *Single calls*: a second "
        "timing with one call per path and round.",
        "",
        *_table(header, rows),
        "",
        "Timed calls per path (blocks, single calls): "
        + ", ".join(
            f"batch {b:,}: " + " and ".join(f"{max(t[str(b)]['reps'] for t in m.values()):,}" for m in modes)
            for b in BATCHES
            if latency
        )
        + ". Quartiles (p25, p75) are in `backends.json`.",
        "",
        "## Notes",
        "",
    ]
    for fmt, first in results["conversion"]["export_reports"].items():
        lines.append(f"- `export(format={fmt!r}, sample=...)` report: {first}")
    conversion = ", ".join(f"{k} {v:.2g} s" for k, v in results["conversion"]["conversion_s"].items())
    lines.append(f"- Conversion: {conversion}.")
    for key, info in results["workers"].items():
        if "error" in info:
            lines.append(f"- JAX worker ({key}): {info['error']}")
            continue
        first = ", ".join(f"{k} rows: {v * 1e3:.3g} ms" for k, v in info.get("first_call_s", {}).items())
        warned = info.get("warnings") or ["none"]
        lines.append(
            f"- JAX worker ({key}): backend {info['backend']}, `jax_enable_x64` {info['x64']}, "
            f"TensorFlow imported: {info['tensorflow_imported']}, keras_embed_prep imported: "
            f"{info['keras_embed_prep_imported']}. First call (trace + compile for `jit`): {first}. "
            f"Its CPU time after loading {info['cpu_s']:.3g} s, its time in calls {info['calls_s']:.3g} s "
            "(far more CPU than call time would mean its threads spin while other paths are timed). "
            f"Warnings: {'; '.join(warned)[:600]}."
        )
    fast = [n for n in ("jax", "jax_predict") if n in latency]
    if len(fast) == 2:
        parts = [
            f"batch {b}: jit {fmt_ms(latency['jax'][str(b)]['median_ms'])}, predict_on_batch "
            f"{fmt_ms(latency['jax_predict'][str(b)]['median_ms'])} (single calls: "
            f"{fmt_ms(modes[1]['jax'][str(b)]['median_ms'])} and "
            f"{fmt_ms(modes[1]['jax_predict'][str(b)]['median_ms'])})"
            for b in BATCHES
        ]
        lines.append(f"- JAX, jit of `stateless_call` against `predict_on_batch`: {'; '.join(parts)}.")
    lines += [
        f"- Machine load (`uptime`) before and after: `{meta['uptime'][0]}`; `{meta['uptime'][1]}` "
        f"({meta['cpus']} cores; a load above that means other work competed for them: compare "
        "the ratios of one run, not absolute times across runs).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
    ]
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: fewer rows, a smaller budget")
    parser.add_argument("--out", type=Path, help="results folder (default results/, or results/quick.tmp/)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="rewrite the .md beside a backends.json")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if args.render:
        args.render.with_suffix(".md").write_text(render(json.loads(args.render.read_text())))
        return 0
    cfg = Config.of(args.quick)
    out = args.out or HERE / "results" / ("quick.tmp" if cfg.quick else "")
    load_before = uptime()
    start = time.perf_counter()

    import tensorflow as tf
    from paths import load_path
    from run import BLOCK, check_parity, log, time_batches, versions
    from workload import build_workload, numeric_spec

    from keras_embed_prep.verify import ATOL, RTOL

    tf.get_logger().setLevel("ERROR")
    results: dict = {"not_run": {}, "workers": {}}
    with tempfile.TemporaryDirectory(prefix="keras-embed-prep-backends-") as tmp:
        workdir = Path(tmp)
        log(f"numeric-only table: {cfg.train_rows:,} training rows, {cfg.test_rows:,} test rows")
        workload = build_workload(numeric_spec(cfg.train_rows, cfg.test_rows))
        results["conversion"] = build(workload, workdir, cfg)
        for name, reason in results["conversion"]["errors"].items():
            results["not_run"][name] = reason
            log(f"  {name} {reason}")
        workers = {key: Worker(workdir, x64=key == "x64") for key in WORKERS}
        remotes = {}
        try:
            for key, w in workers.items():
                info = w.hello()
                results["workers"][key] = info
                for name, call in WORKERS[key].items():
                    if "error" in info:
                        results["not_run"][name] = f"not run: {info['error']}"
                    else:
                        remotes[name] = Remote(w, call)
                log(f"  JAX worker ({key}): {info}")

            def load(name, workdir):
                return remotes[name] if name in remotes else load_path(name, workdir)

            names = [n for n in LABELS if n not in results["not_run"]]
            log(f"checking parity against today's path on {len(workload.test):,} rows")
            results["parity"] = check_parity(names, workdir, workload.test, cfg.parity_chunk, load=load)
            passed = [n for n in names if results["parity"][n]["passed"]]
            log(f"timing batches {BATCHES}: {', '.join(passed)}")
            results["latency"] = time_batches(passed, workdir, workload.test, BATCHES, cfg, load=load)
            log("the same, one call per path and round")
            results["latency_single"] = time_batches(
                passed, workdir, workload.test, BATCHES, cfg, load=load, block=1
            )
            for key, w in workers.items():
                if "error" not in results["workers"][key]:
                    results["workers"][key] |= w.ask("stats")[0]
        finally:
            for w in workers.values():
                w.close()
    results["meta"] = {
        "command": "python benchmarks/backends.py" + (" --quick" if cfg.quick else ""),
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPU cores ({platform.machine()}, shared with other work), no GPU",
        "cpus": os.cpu_count(),
        "rows": {"train": cfg.train_rows, "test": cfg.test_rows},
        "block": BLOCK,
        "config": asdict(cfg),
        "rtol": RTOL,
        "atol": ATOL,
        "versions": versions(PACKAGES),
        "duration_s": time.perf_counter() - start,
        "uptime": [load_before, uptime()],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "backends.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "backends.md").write_text(render(results))
    log(f"wrote {out / 'backends.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
