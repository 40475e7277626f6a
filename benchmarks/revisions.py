"""Before and after in one run: the same fitted workload embedded by two revisions of the package.

    python benchmarks/revisions.py BEFORE [AFTER] [--name NAME] [--train-rows N]

BEFORE and AFTER are git revisions (AFTER defaults to the working tree). The narrow table's
ColumnTransformer and MLP are fitted once, by this checkout's ``benchmarks/workload.py``; each
revision's ``keras_embed_prep`` (a ``git archive`` of it, imported in a subprocess) then embeds that
same fitted pair, saves the ``.keras`` file and exports the SavedModel. This process loads every
SavedModel, checks each against path A (``ct.transform`` + the MLP) on all test rows, and times
them interleaved, round after round, with the bare MLP, so that the ratios between revisions come
from one run on one machine state. It also records each revision's ``model.summary()`` length and
its SavedModel's size. Writes ``benchmarks/results/revisions-NAME.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

#: Run by each revision's interpreter, with that revision first on sys.path.
_BUILD = """
import io, json, pickle, sys, contextlib
from pathlib import Path
import keras
import keras_embed_prep as kep
src, out = Path(sys.argv[1]), Path(sys.argv[2])
with open(src / "preprocessor.pkl", "rb") as f:
    preprocessor = pickle.load(f)
mlp = keras.saving.load_model(src / "mlp.keras", safe_mode=True)
full = kep.embed(mlp, preprocessor)
full.save(out / "embedded.keras")
kep.export(full, out / "savedmodel")
text = io.StringIO()
with contextlib.redirect_stdout(text):
    full.summary(line_length=120)
rows = [line for line in text.getvalue().splitlines() if line.startswith("│ ")]
(out / "built.json").write_text(json.dumps({
    "package": kep.__file__,
    "signature_keys": kep.signature_keys(full),
    "summary_rows": len(rows),
    "summary": text.getvalue(),
}))
"""


def _checkout(revision: str, into: Path) -> Path:
    """The tree of ``revision`` (or the working tree for ``"working tree"``) as an importable folder."""
    if revision == "working tree":
        return ROOT
    into.mkdir(parents=True)
    archive = into.with_suffix(".tar")
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), revision], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def _build(revision: str, source: Path, workdir: Path, out: Path) -> dict:
    out.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(source)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _BUILD, str(workdir), str(out)], cwd=source, env=env, check=True)
    built = json.loads((out / "built.json").read_text())
    if not built["package"].startswith(str(source)):
        raise SystemExit(f"{revision}: imported {built['package']}, not the revision's own package")
    built["embed_export_s"] = time.perf_counter() - start
    from workload import directory_size

    built["savedmodel_bytes"] = directory_size(out / "savedmodel")
    return built


class _Revision:
    """One revision's SavedModel: ``serving_default`` on named tensors, and ``serving_packed``."""

    def __init__(self, out: Path, keys: dict[str, str], packed: bool):
        import keras
        import tensorflow as tf

        self.loaded = tf.saved_model.load(str(out / "savedmodel"))
        name = "serving_packed" if packed else "serving_default"
        self.signature = self.loaded.signatures[name]
        self.packed = packed
        self.keys = keys
        self.model = keras.saving.load_model(out / "embedded.keras", safe_mode=True)

    def feed(self, frame):
        import tensorflow as tf

        from keras_embed_prep import to_inputs
        from keras_embed_prep.export import packed_inputs

        feeds = {k: np.asarray(v) for k, v in to_inputs(frame, self.model).items()}
        if self.packed:
            return {k: tf.constant(v) for k, v in packed_inputs(feeds, self.model).items()}
        return {self.keys[k]: tf.constant(v) for k, v in feeds.items()}

    def __call__(self, tensors):
        return self.signature(**tensors)["output_0"].numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="working tree")
    parser.add_argument("--name", default="before-after")
    parser.add_argument("--train-rows", type=int, default=50_000)
    parser.add_argument("--budget-s", type=float, default=8.0, help="timing budget per batch size")
    args = parser.parse_args(argv)

    from measure import interleaved
    from paths import BareModel, SklearnKeras
    from workload import build_workload, narrow_spec

    from keras_embed_prep.verify import compare

    revisions = {"before": args.before, "after": args.after}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="keras-embed-prep-revisions-") as tmp:
        tmp = Path(tmp)
        workload = build_workload(narrow_spec(args.train_rows, 8_192))
        workload.test.to_pickle(tmp / "test.pkl")
        with open(tmp / "preprocessor.pkl", "wb") as f:
            pickle.dump(workload.preprocessor, f)
        workload.mlp.save(tmp / "mlp.keras")
        test = workload.test
        del workload
        built = {
            label: _build(rev, _checkout(rev, tmp / f"src-{label}"), tmp, tmp / label)
            for label, rev in revisions.items()
        }
        paths = {"A": SklearnKeras(tmp), "bare": BareModel(tmp)}
        for label in revisions:
            for packed in (False, True):
                name = f"{label}{'_packed' if packed else ''}"
                paths[name] = _Revision(tmp / label, built[label]["signature_keys"], packed)
        reference = paths["A"](paths["A"].feed(test))
        parity = {}
        for name, path in paths.items():
            if name in ("A", "bare"):
                continue
            report = compare(path(path.feed(test)), reference)
            parity[name] = {"passed": bool(report.passed), "max_abs_error": float(report.max_abs_error.max())}
            if not report.passed:
                raise SystemExit(f"{name} differs from ct.transform + MLP:\n{report}")
        timing = {}
        for batch in (1, 32, 1024, 4096):
            rows = test.iloc[:batch]
            calls = {name: (path, path.feed(rows)) for name, path in paths.items() if name != "A"}
            timing[batch] = interleaved(calls, budget_s=args.budget_s, min_reps=5, max_reps=400)
            medians = ", ".join(f"{n} {t['median_ms']:.3g} ms" for n, t in timing[batch].items())
            print(f"batch {batch}: {medians}")
    results = {
        "revisions": revisions,
        "train_rows": args.train_rows,
        "load": os.getloadavg(),
        "duration_s": time.perf_counter() - started,
        "built": {k: {f: v for f, v in b.items() if f != "summary"} for k, b in built.items()},
        "summaries": {k: b["summary"] for k, b in built.items()},
        "parity": parity,
        "timing": {str(b): t for b, t in timing.items()},
    }
    out = HERE / "results" / f"revisions-{args.name}"
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(_report(results))
    print(f"wrote {out}.md")
    return 0


def _report(r: dict) -> str:
    def ms(batch, name):
        return r["timing"][batch][name]["median_ms"]

    lines = [
        f"# Before and after in one run: {r['revisions']['before']} and {r['revisions']['after']}",
        "",
        "The same fitted narrow table (`benchmarks/workload.py`, "
        f"{r['train_rows']:,} training rows) embedded and exported by each revision, loaded in one process, "
        "checked against `ct.transform` + MLP on 8,192 rows, then timed interleaved with the bare MLP "
        f"(medians). Load average at the end: {', '.join(f'{x:.2f}' for x in r['load'])}; "
        f"{r['duration_s']:.0f} s in all (`python benchmarks/revisions.py`).",
        "",
        "| | before | after |",
        "|---|---|---|",
        f"| `model.summary()` rows | {r['built']['before']['summary_rows']} | "
        f"{r['built']['after']['summary_rows']} |",
        f"| embed + save + export (s, one subprocess) | {r['built']['before']['embed_export_s']:.1f} | "
        f"{r['built']['after']['embed_export_s']:.1f} |",
        f"| SavedModel size (MB) | {r['built']['before']['savedmodel_bytes'] / 1e6:.2f} | "
        f"{r['built']['after']['savedmodel_bytes'] / 1e6:.2f} |",
        f"| max abs diff from A, `serving_default` | {r['parity']['before']['max_abs_error']:.3g} | "
        f"{r['parity']['after']['max_abs_error']:.3g} |",
        "",
        "| batch | bare MLP (ms) | before (ms) | after (ms) | after / before | before / bare | after / bare "
        "| packed before (ms) | packed after (ms) | packed after / before |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for batch in r["timing"]:
        bare, b, a = ms(batch, "bare"), ms(batch, "before"), ms(batch, "after")
        pb, pa = ms(batch, "before_packed"), ms(batch, "after_packed")
        lines.append(
            f"| {int(batch):,} | {bare:.3g} | {b:.3g} | {a:.3g} | {a / b:.2f}x | {b / bare:.2f}x | "
            f"{a / bare:.2f}x | {pb:.3g} | {pa:.3g} | {pa / pb:.2f}x |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
