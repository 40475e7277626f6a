"""Where the ONNX paths spend their time: node counts and onnxruntime's per-op profile (issue 17).

    python benchmarks/onnx_breakdown.py          # writes benchmarks/results/onnx-breakdown.md

For the narrow and the wide table (smaller training sets than ``run.py``: the weights only
need to be fitted), it builds path C (skl2onnx + tf2onnx merged) and variants of path D
(``export(format="onnx")``), one step of issue 17 after another, from the export before it
to the export now (the steps are listed in the report). Every variant passes the export's own parity
check. Then per table: the graph's nodes by type, latency at batch 1 and 1,024 (medians of
interleaved calls, ratios to C from one run), and onnxruntime's per-op profile at batch 1
(``SessionOptions.enable_profiling``; summed kernel time per op type per call).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BATCHES = (1, 1024)
PROFILE_CALLS = 200


def build(spec, workdir: Path) -> dict[str, Path]:
    """C and the D variants of one table's workload, as files under ``workdir``."""
    from paths import _onnx_mlp, _onnx_preprocessor, merge_onnx
    from workload import build_workload

    import keras_embed_prep as kep
    from keras_embed_prep.blocks import categories
    from keras_embed_prep.export.onnx import handlers, tidy

    workload = build_workload(spec)
    workload.test.to_pickle(workdir / "test.pkl")
    full = kep.embed(workload.mlp, workload.preprocessor)
    full.save(workdir / "embedded.keras")
    direct = categories._DIRECT_ENTRIES, categories._DIRECT_PER_CATEGORY
    categories._DIRECT_ENTRIES = categories._DIRECT_PER_CATEGORY = 0
    try:  # the flat category index as before: a search over the (column, id) keys
        searched = kep.embed(workload.mlp, workload.preprocessor)
    finally:
        categories._DIRECT_ENTRIES, categories._DIRECT_PER_CATEGORY = direct
    with open(workdir / "manifest.json", "w") as f:
        json.dump({"signature_keys": kep.signature_keys(full)}, f)
    files = {"C": workdir / "merged.onnx"}
    pre = _onnx_preprocessor(workload.preprocessor, spec)
    merged = merge_onnx(pre, _onnx_mlp(workload.mlp, workload.width))
    files["C"].write_bytes(merged.SerializeToString())
    # (the searched index, its binary search, no stack pass, no ORT basic, no wrap pass)
    variants = {
        "D before": (True, True, True, True, True),
        "D lookup": (True, False, True, True, True),
        "D lookup + stack": (True, False, False, True, True),
        "D lookup + stack + basic": (True, False, False, False, True),
        "D direct": (False, False, False, False, True),
        "D": (False, False, False, False, False),
    }
    saved = handlers._DIRECT_LIMIT, tidy.stack_inputs, tidy.ort_basic, tidy.gather_wraps
    for name, (search, binary, no_stack, no_basic, no_wraps) in variants.items():
        handlers._DIRECT_LIMIT = 0 if binary else saved[0]
        tidy.stack_inputs = (lambda proto: proto) if no_stack else saved[1]
        tidy.ort_basic = (lambda ort, onnx, proto: proto) if no_basic else saved[2]
        tidy.gather_wraps = (lambda proto: proto) if no_wraps else saved[3]
        try:
            files[name] = workdir / f"export_{len(files)}.onnx"
            kep.export(searched if search else full, files[name], format="onnx")
        finally:
            handlers._DIRECT_LIMIT, tidy.stack_inputs, tidy.ort_basic, tidy.gather_wraps = saved
    return files


class Session:
    """One ONNX file in onnxruntime (default options, as ``run.py`` serves it) and its feed."""

    def __init__(self, path: Path, workdir: Path, profile: bool = False):
        import onnxruntime as ort
        from paths import Exported, OnnxRuntime

        options = ort.SessionOptions()
        if profile:
            options.enable_profiling = True
            options.profile_file_prefix = str(path.with_suffix(""))
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        if path.name == "merged.onnx":
            self.feeder = OnnxRuntime.__new__(OnnxRuntime)
        else:
            self.feeder = Exported.__new__(Exported)
            self.feeder.fmt = "onnx"
            import keras

            with open(workdir / "manifest.json") as f:
                self.feeder.keys = json.load(f)["signature_keys"]
            self.feeder.model = keras.saving.load_model(workdir / "embedded.keras", safe_mode=True)
        self.feeder.session = self.session
        self.feeder.inputs = {i.name: i.type for i in self.session.get_inputs()}
        self.feeder.specs = {i.name: (i.type, len(i.shape)) for i in self.session.get_inputs()}

    def feed(self, frame: pd.DataFrame):
        return self.feeder.feed(frame)

    def __call__(self, feed):
        return self.session.run(None, feed)[0]


def node_counts(path: Path) -> dict[str, int]:
    import onnx

    model = onnx.load(str(path))
    counts = Counter(n.op_type for n in model.graph.node)
    double = onnx.TensorProto.DOUBLE
    doubles = {v.name for v in model.graph.value_info if v.type.tensor_type.elem_type == double}
    counts["(nodes)"] = len(model.graph.node)
    counts["(float64 outputs)"] = sum(any(o in doubles for o in n.output) for n in model.graph.node)
    return dict(counts)


def profile(path: Path, workdir: Path, frame: pd.DataFrame) -> dict[str, float]:
    """Kernel microseconds per call by op type, and the whole ``run`` per call."""
    session = Session(path, workdir, profile=True)
    feed = session.feed(frame)
    for _ in range(20):
        session(feed)
    trace = session.session.end_profiling()
    session = Session(path, workdir, profile=True)  # a fresh trace: the warm-up calls left out
    for _ in range(PROFILE_CALLS):
        session(feed)
    trace = session.session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    per_op: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"] / PROFILE_CALLS
        elif event.get("cat") == "Session" and event["name"] == "model_run":
            per_op["(model_run)"] += event["dur"] / PROFILE_CALLS
    return dict(per_op)


def latency(files: dict[str, Path], workdir: Path, test: pd.DataFrame, budget_s: float) -> dict:
    from measure import interleaved

    sessions = {name: Session(path, workdir) for name, path in files.items()}
    out = {}
    for batch in BATCHES:
        rows = test.iloc[:batch]
        reference = sessions["C"](sessions["C"].feed(rows))
        for name, session in sessions.items():  # the same predictions, or nothing is timed
            got = session(session.feed(rows))
            np.testing.assert_allclose(got, reference, rtol=1e-4, atol=1e-4, err_msg=name)
        calls = {name: (s, s.feed(rows)) for name, s in sessions.items()}
        out[batch] = interleaved(calls, budget_s=budget_s, min_reps=20, max_reps=2000, block=4)
    return out


def table_report(title: str, files, counts, timing, profiles) -> list[str]:
    names = list(files)
    lines = [f"## {title}", "", "Latency (median of interleaved calls; ratio to C from the same run):", ""]
    lines += ["| path | " + " | ".join(f"batch {b:,}" for b in BATCHES) + " |"]
    lines += ["|---|" + "---|" * len(BATCHES)]
    for name in names:
        cells = []
        for b in BATCHES:
            ms = timing[b][name]["median_ms"]
            cells.append(f"{ms:.3g} ms ({ms / timing[b]['C']['median_ms']:.2f}x)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ops = sorted({op for c in counts.values() for op in c}, key=lambda op: (not op.startswith("("), op))
    lines += ["", "Nodes by op type:", "", "| op | " + " | ".join(names) + " |"]
    lines += ["|---|" + "---|" * len(names)]
    for op in ops:
        lines.append(f"| {op} | " + " | ".join(str(counts[n].get(op, 0)) for n in names) + " |")
    lines += [
        "",
        "onnxruntime profile at batch 1 (microseconds per call, kernel time summed by op type, "
        f"{PROFILE_CALLS} calls; `(model_run)` is the whole `run`, `(kernels)` their sum, the rest "
        "is the session's own overhead):",
        "",
        "| op | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for p in profiles.values():
        p["(kernels)"] = sum(v for k, v in p.items() if not k.startswith("("))
    keys = sorted({k for p in profiles.values() for k in p}, key=lambda k: (not k.startswith("("), k))
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(f"{profiles[n].get(key, 0.0):.1f}" for n in names) + " |")
    return lines + [""]


def main() -> None:
    import platform

    import onnxruntime as ort
    from workload import narrow_spec, wide_spec

    start = time.perf_counter()
    out = [
        "# Where the ONNX paths spend their time (issue 17)",
        "",
        "Generated by `python benchmarks/onnx_breakdown.py` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start; onnxruntime {ort.__version__}, "
        f"Python {platform.python_version()}).",
        "",
        '- **C**: skl2onnx + tf2onnx merged (the peer). **D before**: `export(format="onnx")` as before '
        "issue 17 (the flat category index a search over `(column, id)` keys, every `searchsorted` a "
        "binary search of seven ops a round). **D lookup**: that search one `Gather` in a table of counts. "
        "**D lookup + stack**: and the per-column `Unsqueeze` + `Concat` of the inputs as `Concat` + "
        "`Reshape` + `Transpose`. **D lookup + stack + basic**: and onnxruntime's offline "
        "`ORT_ENABLE_BASIC` optimization saved into the file (portable: no onnxruntime-only ops, no "
        "hardware-specific layouts). **D direct**: the flat category index one `Gather` in a table of "
        "every `(column, id)` pair, no search (a change of the Keras model, so of every artifact). "
        "**D**: the export now: and Keras' negative-index wrap before each `Gather` dropped (ONNX's "
        "`Gather` wraps alike). Each step is measured against the one before in one run; calls in "
        "blocks of four back to back, the first of each not timed.",
        "- onnxruntime's profiler records every node, so its absolute times are inflated by the profiling "
        "itself (compare `(model_run)` with the latency table); read them as where the time goes, "
        "not as latency.",
        "- Every session is created with default options (onnxruntime applies all its optimizations "
        "at load), "
        "as `run.py` serves them; each D variant passed the export's parity check and every path gives "
        "C's predictions on the timed rows.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for spec in (narrow_spec(20_000, 2_048), wide_spec(5_000, 2_048)):
            workdir = Path(tmp) / spec.name
            workdir.mkdir()
            files = build(spec, workdir)
            test = pd.read_pickle(workdir / "test.pkl")
            counts = {name: node_counts(path) for name, path in files.items()}
            timing = latency(files, workdir, test, budget_s=4.0)
            profiles = {name: profile(path, workdir, test.iloc[:1]) for name, path in files.items()}
            title = f"{spec.name} table ({spec.n_columns} columns)"
            out += table_report(title, files, counts, timing, profiles)
            print(f"[{time.perf_counter() - start:.0f}s] {title} done", flush=True)
    out.append(f"Load average at the end: {os.getloadavg()[0]:.2f}.")
    target = HERE / "results" / "onnx-breakdown.md"
    target.write_text("\n".join(out) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
