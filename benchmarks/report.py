"""Render a run's ``results.json`` as ``results.md`` (tables, goals of issue 6) and ``latency.png``.

``python benchmarks/report.py benchmarks/results/results.json`` re-renders both from the
JSON without running anything again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from paths import label

BATCHES = ("1", "32", "1024", "4096", "65536")
LARGE = ("1024", "4096", "65536")


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.3g} s"
    return f"{ms:.3g} ms"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.3g}x"


def latency(table: dict[str, Any], path: str, batch: str) -> float | None:
    """Median ms of ``path`` at ``batch``: in-process timing, or the probe for the big batch."""
    entry = table.get("latency", {}).get(path, {}).get(batch)
    return None if entry is None else entry["median_ms"]


def ratio(table, top: str, bottom: str, batch: str) -> float | None:
    a, b = latency(table, top, batch), latency(table, bottom, batch)
    return None if a is None or b is None or b == 0 else a / b


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header, rows) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def goals(results: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """Issue 6's goals: (goal, met (None: not measurable), the numbers)."""
    narrow, wide = results["narrow"], results.get("wide", {})
    big = results["meta"]["big_rows"]
    large = [b for b in LARGE if b in narrow.get("latency", {}).get("B", {})]
    out = []

    def check(text, values, ok, fmt=fmt_ratio):
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            out.append((text, None, "not measured (a path failed or is missing; see above)"))
            return
        numbers = ", ".join(f"{k}: {fmt(v)}" for k, v in values.items())
        out.append((text, all(ok(v) for v in values.values()), numbers))

    check(
        "B / bare <= 1.15 at batch 1",
        {"batch 1": ratio(narrow, "B", "bare", "1")},
        lambda r: r <= 1.15,
    )
    check(
        "B / bare <= 1.0 from batch 1,024 up",
        {f"batch {b}": ratio(narrow, "B", "bare", b) for b in large},
        lambda r: r <= 1.0,
    )
    check("A / B >= 10 at batch 1", {"batch 1": ratio(narrow, "A", "B", "1")}, lambda r: r >= 10)
    check(
        "A / B >= 5 from batch 1,024 up",
        {f"batch {b}": ratio(narrow, "A", "B", b) for b in large},
        lambda r: r >= 5,
    )
    check(
        "C / B >= 2 (B twice as fast as onnxruntime) from batch 1,024 up",
        {f"batch {b}": ratio(narrow, "C", "B", b) for b in large},
        lambda r: r >= 2,
    )
    exports = [p for p in narrow.get("latency", {}) if p.startswith("D:")]
    if exports:
        check(
            "low-latency export / C <= 2 at batch 1",
            {label(p): ratio(narrow, p, "C", "1") for p in exports},
            lambda r: r <= 2,
        )
    else:
        out.append(
            (
                "low-latency export / C <= 2 at batch 1",
                None,
                "not measurable: `export` has no `format=` yet (deliverable 3)",
            )
        )
    peak = narrow.get("big", {}).get("B", {}).get("peak_delta_bytes")
    check(
        f"peak memory of B for a {int(big):,}-row call <= 1 GB",
        {"B": peak},
        lambda n: n <= 1e9,
        fmt=fmt_bytes,
    )
    embed_s = wide.get("conversion", {}).get("conversion_s", {}).get("B: embed()")
    check(
        f"{wide.get('spec', {}).get('n_columns', 500)}-column table: embed() under 5 s",
        {"embed()": None if embed_s is None else embed_s * 1e3},
        lambda ms: ms < 5000,
        fmt=fmt_ms,
    )
    for path in ("B", "B_packed"):
        w1, n1 = latency(wide, path, "1"), latency(narrow, path, "1")
        check(
            f"wide table: {path} batch-1 latency within 1.5x of the 16-column table",
            {"wide / narrow": None if w1 is None or n1 is None else w1 / n1},
            lambda r: r <= 1.5,
        )
    return out


def _latency_section(table, batches, title) -> list[str]:
    paths = list(table.get("latency", {}))
    lines = [f"### {title}", ""]
    lines += _table(
        ["path", *(f"batch {int(b):,}" for b in batches)],
        [[label(p), *(fmt_ms(latency(table, p, b)) for b in batches)] for p in paths],
    )
    reps = {p: [table["latency"][p].get(b, {}).get("reps", "-") for b in batches] for p in paths}
    lines += ["", "Repetitions per median: " + "; ".join(f"{p} {reps[p]}" for p in paths) + ".", ""]
    pairs = [
        ("A", "B", "A / B"),
        ("B", "bare", "B / bare"),
        ("C", "B", "C / B"),
        ("B_frame", "B", "B_frame / B"),
        ("E", "B", "E / B"),
        ("E", "B_frame", "E / B_frame"),
        ("E_records", "B", "E_records / B"),
        ("K_call", "B", "K_call / B"),
        ("K_predict", "B", "K_predict / B"),
    ]
    pairs += [(p, "C", f"{p} / C") for p in paths if p.startswith("D:")]
    lines += _table(
        ["ratio", *(f"batch {int(b):,}" for b in batches)],
        [[name, *(fmt_ratio(ratio(table, a, b_, b)) for b in batches)] for a, b_, name in pairs],
    )
    return lines + [""]


def _parity_section(table) -> list[str]:
    rows = []
    for p, rep in table.get("parity", {}).items():
        status = "passed" if rep["passed"] else "**FAILED: timing aborted**"
        rows.append(
            [label(p), rep["rows"], f"{rep['max_abs_error']:.3g}", f"{rep['max_rel_error']:.3g}", status]
        )
    for p, reason in table.get("conversion", {}).get("errors", {}).items():
        rows.append([p, "-", "-", "-", f"**not run: {reason}**"])
    return _table(["path", "rows", "max abs diff vs A", "max rel diff", "parity"], rows)


def _conversion_section(table) -> list[str]:
    conv = table.get("conversion", {})
    lines = _table(
        ["conversion step", "time"], [[k, fmt_ms(v * 1e3)] for k, v in conv.get("conversion_s", {}).items()]
    )
    lines += [""]
    lines += _table(["artifact", "size"], [[k, fmt_bytes(v)] for k, v in conv.get("size_bytes", {}).items()])
    return lines


def _memory_section(table, rows: int) -> list[str]:
    big = table.get("big", {})
    out = _table(
        [
            "path",
            f"peak RSS above baseline, {rows:,}-row call",
            "first call",
            "median of later calls",
            "baseline RSS (inputs loaded)",
            f"parity of the {rows:,}-row call vs A",
        ],
        [
            [
                label(p),
                fmt_bytes(r.get("peak_delta_bytes")),
                fmt_ms(r.get("first_call_ms")),
                fmt_ms(r.get("latency", {}).get("median_ms")),
                fmt_bytes(r.get("baseline_rss_bytes")),
                r.get("parity", r.get("error", "-")),
            ]
            for p, r in big.items()
        ],
    )
    methods = sorted({r["memory_method"] for r in big.values() if "memory_method" in r})
    note = (
        f"Memory measured in a fresh process per path: {'; '.join(methods)}. The first call also pays "
        "for the operating system handing the process its peak memory for the first time (page faults), "
        "which on a shared machine can take longer than the computation."
    )
    return out + ["", note, ""]


def _breakdown_section(results) -> list[str]:
    lines = []
    for trace in results.get("breakdown", []):
        pre, model = trace["sum_ms"]["preprocessing"], trace["sum_ms"]["model"]
        call = trace.get("call_ms")
        outside = (
            f" The same call through `serving_default` from Python took {fmt_ms(call)} (median above): "
            f"about {fmt_ms(max(call - trace['wall_ms'], 0))} outside the graph (arguments, dispatch)."
            if call
            else ""
        )
        lines += [
            f"#### B traced, {trace['table']} table, batch {int(trace['batch']):,}",
            "",
            f"{trace['nodes_executed']} nodes executed; traced run {fmt_ms(trace['wall_ms'])} wall time; "
            f"summed node time: preprocessing {fmt_ms(pre)}, model {fmt_ms(model)} "
            f"(preprocessing {pre / max(pre + model, 1e-9):.0%} of the total).{outside}",
            "",
        ]
        lines += _table(
            ["node", "op", "output", "part", "time"],
            [
                [n["node"], n["op"], f"`{n['output']}`", n["part"], fmt_ms(n["ms"])]
                for n in trace["top_nodes"]
            ],
        )
        lines += [""]
    dense = results.get("first_dense")
    if dense:
        lines += [
            "#### The first Dense layer: one-hot matmul vs kernel-row gather (narrow MLP's weights)",
            "",
        ]
        lines += _table(
            ["batch", "dense one-hot matmul", "kernel-row gather", "speed-up", "max abs diff"],
            [
                [
                    f"{int(b):,}",
                    fmt_ms(r["one-hot matmul"]),
                    fmt_ms(r["kernel-row gather"]),
                    fmt_ratio(r["one-hot matmul"] / r["kernel-row gather"]),
                    f"{r['max_abs_diff']:.2g}",
                ]
                for b, r in dense.items()
            ],
        )
        lines += [""]
    overhead = results.get("signature_overhead")
    if overhead:
        lines += [
            "#### Calling a signature from Python, per named input",
            "",
            "A SavedModel whose graph only sums n one-row float inputs, called like path B "
            "(`signature(**tensors)`): the floor under B's batch-1 latency for a table of n columns (2: the "
            "two tensors of `serving_packed`, B_packed's floor).",
            "",
        ]
        lines += _table(
            ["named inputs", "`serving_default` call"], [[n, fmt_ms(ms)] for n, ms in overhead.items()]
        )
        lines += [""]
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    meta, narrow, wide = results["meta"], results["narrow"], results.get("wide", {})
    big = int(meta["big_rows"])
    batches = [b for b in BATCHES if int(b) <= big]
    lines = [
        "# Benchmark results",
        "",
        f"{'**Quick run** (smaller, for smoke tests; not the numbers to quote). ' if meta['quick'] else ''}"
        f"One run of `{meta['command']}` on {meta['machine']}, {meta['date']}, "
        f"{meta['duration_s'] / 60:.1f} minutes. Timings on a shared machine are noisy: read the ratios "
        "(paths are timed in turn, round after round, so noise spreads over all of them) more than "
        "the absolute times." + _load_text(meta),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
        "## Workload",
        "",
        f"Narrow table: {narrow['spec']['n_numeric']} numeric columns (5% NaN) and text columns of "
        f"cardinality {', '.join(f'{c:,}' for c in narrow['spec']['cardinalities'])}, "
        f"{narrow['spec']['train_rows']:,} training rows; ColumnTransformer of SimpleImputer + "
        f"StandardScaler (numbers) and OneHotEncoder(handle_unknown='ignore') (text): "
        f"{narrow['width']:,} output columns; "
        "MLP Dense 64-64-1 trained for one epoch. Test rows: fresh draws with NaN and 1% unseen categories "
        "per text column.",
        "",
        f"Path A calls the MLP through a `tf.function` with a batch-polymorphic input signature, after "
        f"`ct.transform(df).astype(float32).toarray()`: {meta['a_call']}.",
        "",
        "## Parity (checked first, on every test row, against path A)",
        "",
        f"Tolerance of DESIGN.md: |d| <= {meta['atol']:g} + {meta['rtol']:g} * |ref|. "
        "A path that fails is not timed.",
        "",
        *_parity_section(narrow),
        "",
        "## Latency, narrow table (16 columns)",
        "",
        f"Batches up to 4,096: median per call in this process, paths in turn, each {meta.get('block', 1)} "
        "calls in a row of which all but the first are timed (a server calls one artifact back to back; "
        f"see `measure.interleaved`). Batch {big:,}: median of "
        f"{meta['big_reps']} calls after the first one, in a fresh process per path (below).",
        "",
        *_latency_section(narrow, batches, "Median latency per call"),
        f"## Peak memory, {big:,}-row call",
        "",
        *_memory_section(narrow, big),
        "## Conversion time and artifact size, narrow table",
        "",
        *_conversion_section(narrow),
        "",
    ]
    if wide:
        wide_batches = [b for b in BATCHES if b in next(iter(wide.get("latency", {}).values()), {})]
        spec = wide["spec"]
        lines += [
            f"## Wide table ({spec['n_columns']} columns)",
            "",
            f"{spec['n_numeric']} numeric columns and {len(spec['cardinalities'])} text columns of "
            f"cardinality 5 to {max(spec['cardinalities'])}, {spec['train_rows']:,} training rows, the same "
            f"preprocessing ({wide['width']:,} output columns) and MLP.",
            "",
            *_parity_section(wide),
            "",
            *_latency_section(wide, wide_batches, "Median latency per call"),
            *_conversion_section(wide),
            "",
        ]
    lines += ["## Goals of issue 6", ""]
    lines += _table(
        ["goal", "met", "measured"],
        [[g, {True: "yes", False: "**no**", None: "n/a"}[ok], numbers] for g, ok, numbers in goals(results)],
    )
    lines += ["", "## Goals of issue 17 (the race with onnxruntime)", ""]
    lines += _table(
        ["goal", "met", "measured"],
        [[g, {True: "yes", False: "**no**", None: "n/a"}[ok], m] for g, ok, m in race_goals(results)],
    )
    lines += [
        "",
        "No regression of issue 6's ratios (A / B, B / bare from 1,024 rows, peak memory): the table above.",
    ]
    lines += ["", "## One row from Python (issue 14)", "", *_one_row_section(results)]
    lines += ["", "## Where path B spends its time", "", *_breakdown_section(results)]
    return "\n".join(lines).rstrip() + "\n"


def _load_text(meta: dict[str, Any]) -> str:
    """The machine's load average (1, 5, 15 minutes) at the start and the end of the run, if recorded."""
    load = meta.get("load_average")
    if not load:
        return ""
    start, end = (", ".join(f"{x:.2f}" for x in load[k]) for k in ("start", "end"))
    return (
        f" Load average (1, 5, 15 min) on {meta.get('cpus', '?')} cores: {start} at the start, {end} at "
        "the end; above the core count, other work competed for the CPUs and batch-1 times carry its noise."
    )


def one_row_goals(results: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """Issue 14's goals: (goal, met (None: not measured), the numbers)."""
    narrow = results["narrow"]
    timing = narrow.get("to_inputs", {})
    out = []

    def median(rows, what):
        return timing.get(rows, {}).get(what, {}).get("median_ms")

    one = median("1", "to_inputs")
    out.append(
        (
            "`to_inputs` of a one-row 16-column DataFrame <= 0.2 ms",
            None if one is None else one <= 0.2,
            fmt_ms(one),
        )
    )
    big = max(timing, key=int, default=None)
    r = None if big is None else median(big, "to_inputs") / median(big, "by hand")
    out.append(
        (
            f"`to_inputs` of {int(big or 0):,} rows <= 1.2x `tf.constant` per column by hand",
            None if r is None else r <= 1.2,
            fmt_ratio(r),
        )
    )
    r = ratio(narrow, "B", "bare", "1")
    one_row = narrow.get("one_row", {})
    if "B" in one_row and "bare" in one_row:  # the three batch-1 paths timed on their own, many rounds
        focused = one_row["B"]["median_ms"] / one_row["bare"]["median_ms"]
        rounds = one_row["B"]["reps"]
        shown = f"{fmt_ratio(focused)} timed on their own ({rounds} rounds); {fmt_ratio(r)} in the table"
        r = focused
    else:
        shown = fmt_ratio(r)
    out.append(
        ("`serving_default` (B) / bare MLP <= 1.15 at batch 1", None if r is None else r <= 1.15, shown)
    )
    keras_r = [ratio(narrow, p, "B", "1") for p in ("K_call", "K_predict")]
    keras_r = [x for x in keras_r if x is not None]
    out.append(
        (
            "Keras' own call or predict adds > 20% over the signature at batch 1 (so a fast path is "
            "worth having)",
            None if not keras_r else min(keras_r) > 1.2,
            ", ".join(fmt_ratio(x) for x in keras_r) or "-",
        )
    )
    r = ratio(narrow, "E", "B_frame", "1")
    out.append(
        (
            "the fast path E beats `to_inputs` + `serving_default` from the DataFrame at batch 1",
            None if r is None else r < 1.0,
            f"E / B_frame {fmt_ratio(r)}",
        )
    )
    return out


#: Our artifacts in the race with the peer (issue 17): the SavedModel's two signatures, our ONNX export.
OURS = ("B", "B_packed", "D:onnx", "D:litert")


def race_goals(results: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """Issue 17's goals: (goal, met (None: not measured), the numbers)."""
    narrow, wide = results["narrow"], results.get("wide", {})
    out = []
    for table, name, batch in ((narrow, "narrow", "1"), (wide, "wide", "1"), (wide, "wide", "1024")):
        ours = {p: latency(table, p, batch) for p in OURS}
        ours = {p: v for p, v in ours.items() if v is not None}
        peer = latency(table, "C", batch)
        goal = f"{name} table, batch {int(batch):,}: our fastest artifact / C <= 1.0"
        if not ours or peer is None:
            out.append((goal, None, "not measured (a path failed or is missing; see above)"))
            continue
        best = min(ours, key=ours.get)
        others = ", ".join(f"{p} {fmt_ratio(v / peer)}" for p, v in ours.items() if p != best)
        shown = f"{best}: {fmt_ms(ours[best])} vs C {fmt_ms(peer)}, {fmt_ratio(ours[best] / peer)}"
        out.append((goal, ours[best] / peer <= 1.0, f"{shown} (others: {others})"))
    r = ratio(wide, "B", "B_packed", "1")
    out.append(
        (
            "wide table, batch 1: `serving_default` (B) / `serving_packed` <= 1.5",
            None if r is None else r <= 1.5,
            fmt_ratio(r),
        )
    )
    return out


def _one_row_section(results: dict[str, Any]) -> list[str]:
    timing = results["narrow"].get("to_inputs", {})
    lines = [
        "`to_inputs(df, model)` against the same tensors built by hand (one `tf.constant` per column, "
        "no checks, no missing-value markers), both checked equal first; medians of interleaved calls.",
        "",
    ]
    lines += _table(
        ["rows", "`to_inputs`", "by hand", "ratio"],
        [
            [
                f"{int(n):,}",
                fmt_ms(t["to_inputs"]["median_ms"]),
                fmt_ms(t["by hand"]["median_ms"]),
                fmt_ratio(t["to_inputs"]["median_ms"] / t["by hand"]["median_ms"]),
            ]
            for n, t in sorted(timing.items(), key=lambda kv: int(kv[0]))
        ],
    )
    one_row = results["narrow"].get("one_row")
    if one_row:
        lines += [
            "",
            "`serving_default`, `serving_packed` and the bare MLP at one row, these three alone interleaved "
            "(in the latency table each batch-1 round also runs A and Keras' predict, so it has few rounds "
            "and every small call follows a long one):",
            "",
        ]
        bare = one_row.get("bare", {}).get("median_ms")
        lines += _table(
            ["path", "median", "25th-75th percentile", "rounds", "/ bare"],
            [
                [
                    label(name),
                    fmt_ms(t["median_ms"]),
                    f"{fmt_ms(t['p25_ms'])} - {fmt_ms(t['p75_ms'])}",
                    t["reps"],
                    fmt_ratio(t["median_ms"] / bare) if bare else "-",
                ]
                for name, t in one_row.items()
            ],
        )
    lines += ["", "### Goals of issue 14", ""]
    lines += _table(
        ["goal", "met", "measured"],
        [[g, {True: "yes", False: "**no**", None: "n/a"}[ok], m] for g, ok, m in one_row_goals(results)],
    )
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    narrow = results["narrow"]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    for name, by_batch in narrow.get("latency", {}).items():
        if name in ("E_records", "K_call", "K_predict"):  # the one-row question: see the tables
            continue
        points = sorted((int(b), v["median_ms"]) for b, v in by_batch.items())
        ax.plot(
            [p[0] for p in points], [p[1] for p in points], marker="o", label=label(name).replace("`", "")
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size (rows)")
    ax.set_ylabel("median latency per call (ms)")
    title = f"Raw rows to prediction, {narrow['width']:,}-wide one-hot + MLP 64-64-1"
    ax.set_title(title + (" (quick run)" if results["meta"]["quick"] else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(render_markdown(results))
    plot(results, out / "latency.png")


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "results.json")
    data = json.loads(source.read_text())
    (source.parent / "results.md").write_text(render_markdown(data))
    plot(data, source.parent / "latency.png")
