"""MkDocs hooks: the parts of the site that are generated from the code at every build.

Registered under ``hooks:`` in ``mkdocs.yml``. Markers in the Markdown sources are replaced:

- ``<!-- supported-estimators -->``: the table of
  :func:`keras_embed_prep.supported_estimators`, so the list of what converts is never kept by hand.
- ``<!-- supported-targets -->``: the table of ``keras_embed_prep.decoders.supported_targets()``.
- ``<!-- unsupported-estimators -->``: the classes of ``sklearn.preprocessing`` without a converter, with
  the reason (``keras_embed_prep.registry.unsupported_estimators()``).
- ``<!-- spark-stages -->`` (on ``spark.md``): the table of Spark ML stages in the same registry, and
  those refused by name (``keras_embed_prep.spark.pipeline.REFUSED``).
- ``<!-- cli-help -->`` and ``<!-- cli-help COMMAND -->``: the ``--help`` text of the
  ``keras-embed-prep`` command line and of its subcommands.

Pictures are added to the site as it is built (:func:`on_files`): ``keras.utils.plot_model`` of the
models the home and doctor pages show, and the latency plot of ``benchmarks/results/``.

In the rendered API reference, Sphinx roles such as ``:func:`` before a code span are removed.

This module imports neither MkDocs nor TensorFlow at import time, so tests can call
:func:`supported_table` directly.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

SUPPORTED_MARKER = "<!-- supported-estimators -->"
TARGETS_MARKER = "<!-- supported-targets -->"
UNSUPPORTED_MARKER = "<!-- unsupported-estimators -->"
SPARK_MARKER = "<!-- spark-stages -->"
_CLI_MARKER = re.compile(r"<!-- cli-help(?: ([a-z]+))? -->")
#: Characters that would be read as Markdown inside a table cell.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|])")
#: Sphinx roles left in numpydoc docstrings (":func:`embed`"); mkdocstrings shows them verbatim.
_SPHINX_ROLE = re.compile(r":(?:func|class|meth|attr|data|mod|obj|exc):(?=<code>)")


def _cell(text: str) -> str:
    """Plain text as one Markdown table cell: nothing in it is read as markup."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def supported_rows() -> list[tuple[str, str, str, bool, str]]:
    """``(name, module, notes, needs_package_to_load, jax_without_x64)`` per supported class."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_embed_prep import supported_estimators

    return [
        (e.name, e.module, e.notes, e.needs_package_to_load, e.jax_without_x64)
        for e in supported_estimators()
        if not e.module.startswith("pyspark.")
    ]


def supported_table() -> str:
    """The Markdown table of every class :func:`keras_embed_prep.supported_estimators` lists.

    Classes of one module that share their notes (the feature selectors) share one row.
    """
    rows = supported_rows()
    groups: dict[tuple[str, str, bool, str], list[str]] = {}
    for name, module, notes, needs_package, no_x64 in rows:
        groups.setdefault((module, notes, needs_package, no_x64), []).append(name)
    lines = [
        f"{len(rows)} classes, generated from `keras_embed_prep.supported_estimators()` when this "
        "site was built.",
        "",
        "| class | module | loading a `.keras` file needs keras_embed_prep "
        "| what converts, what is refused | on JAX without `JAX_ENABLE_X64` ([Backends](backends.md)) |",
        "|---|---|---|---|---|",
    ]
    for (module, notes, needs_package, no_x64), names in groups.items():
        needs = "**yes**: custom layer" if needs_package else "no"
        classes = ", ".join(f"`{name}`" for name in names)
        lines.append(f"| {classes} | `{module}` | {needs} | {_cell(notes) or '-'} | {_cell(no_x64)} |")
    return "\n".join(lines)


def targets_table() -> str:
    """The Markdown table of the target transformers ``embed(..., target=...)`` decodes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_embed_prep.decoders import supported_targets

    lines = ["| target class | what the decoder reproduces |", "|---|---|"]
    for name, notes in supported_targets().items():
        lines.append(f"| `{name}` | {_cell(notes) or '-'} |")
    return "\n".join(lines)


def unsupported_table() -> str:
    """Classes of sklearn.preprocessing without a converter, and why (from the registry)."""
    from keras_embed_prep.registry import unsupported_estimators

    lines = ["| class | why it does not convert |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(reason)} |" for name, reason in unsupported_estimators().items()]
    return "\n".join(lines)


def spark_table() -> str:
    """The Markdown tables of the Spark ML stages that convert and of those refused (from the registry)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_embed_prep import supported_estimators
    from keras_embed_prep.spark.pipeline import REFUSED

    rows = [e for e in supported_estimators() if e.module.startswith("pyspark.")]
    lines = [
        f"{len(rows)} Spark ML classes, generated from `keras_embed_prep.supported_estimators()` when "
        "this site was built.",
        "",
        "| class | module | what converts, what is refused |",
        "|---|---|---|",
    ]
    lines += [f"| `{e.name}` | `{e.module}` | {_cell(e.notes) or '-'} |" for e in rows]
    lines += ["", "Refused by name (any other stage is refused too):", "", "| class | why |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(why)} |" for name, why in sorted(REFUSED.items())]
    return "\n".join(lines)


def cli_help(command: str | None = None) -> str:
    """``keras-embed-prep [COMMAND] --help``, as the command line prints it at 88 columns."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_embed_prep.cli import main

    argv = [command, "--help"] if command else ["--help"]
    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps at the terminal width; make it deterministic
    try:
        with contextlib.redirect_stdout(out):
            code = main(argv)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    if code != 0:
        raise RuntimeError(f"keras-embed-prep {' '.join(argv)} exited with {code}.")
    return f"```text\n{out.getvalue().rstrip()}\n```"


def cli_commands() -> list[str]:
    """The subcommands ``keras-embed-prep --help`` lists."""
    usage = cli_help()
    listed = usage[usage.index("positional arguments:") : usage.index("options:")]
    return re.findall(r"^    ([a-z]+)\b", listed, flags=re.MULTILINE)


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    """Replace the markers of this module's docstring; a page that lost its table fails the build."""
    if page.file.src_uri == "supported.md":
        for marker in (SUPPORTED_MARKER, TARGETS_MARKER, UNSUPPORTED_MARKER):
            if marker not in markdown:
                raise RuntimeError(f"docs/supported.md must contain {marker}: a generated table goes there.")
        markdown = markdown.replace(SUPPORTED_MARKER, supported_table())
        markdown = markdown.replace(TARGETS_MARKER, targets_table())
        markdown = markdown.replace(UNSUPPORTED_MARKER, unsupported_table())
    if page.file.src_uri == "spark.md":
        if SPARK_MARKER not in markdown:
            raise RuntimeError(f"docs/spark.md must contain {SPARK_MARKER}: a generated table goes there.")
        markdown = markdown.replace(SPARK_MARKER, spark_table())
    return _CLI_MARKER.sub(lambda m: cli_help(m.group(1)), markdown)


#: Pictures made at every build (never committed, so never stale): site path -> what draws it.
PICTURES = {
    "images/embedded-model.png": "penguins",
    "images/doctor-fixed-model.png": "doctor",
}
#: The benchmark's latency plot, as benchmarks/run.py last wrote it.
LATENCY_PLOT = ("images/latency.png", os.path.join("benchmarks", "results", "latency.png"))


def example_model(kind: str):
    """The embedded model a docs picture shows: ``"penguins"`` (the home page) or ``"doctor"``.

    "penguins": a ColumnTransformer (num = median imputer + StandardScaler, cat = most-frequent
    imputer + OneHotEncoder) before a small MLP; "doctor": the doctor page's StandardScaler before
    its model, as the fix that ``diagnose`` proposes embeds it. Weights are seeded, not trained: a
    picture shows the structure.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from keras_embed_prep import embed

    rng = np.random.default_rng(0)
    numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    frame = pd.DataFrame(rng.normal(size=(60, 4)) * [5, 2, 14, 800] + [44, 17, 200, 4200], columns=numbers)
    keras.utils.set_random_seed(0)
    if kind == "doctor":
        columns = ["bill length (mm)", "depth", "mass"]
        pre = StandardScaler().fit(frame.iloc[:, [0, 1, 3]].set_axis(columns, axis=1))
        layers = [
            keras.layers.Dense(8, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="score"),
        ]
        return embed(keras.Sequential([keras.Input((3,)), *layers], name="penguins"), pre)
    frame["island"] = rng.choice(["Biscoe", "Dream", "Torgersen"], 60).astype(object)
    frame["sex"] = rng.choice(["male", "female", None], 60).astype(object)
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            (
                "cat",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()),
                ["island", "sex"],
            ),
        ]
    ).fit(frame)
    width = pre.transform(frame).shape[1]
    layers = [keras.layers.Dense(16, activation="relu", name="hidden"), keras.layers.Dense(3, name="species")]
    return embed(keras.Sequential([keras.Input((width,)), *layers], name="penguin_mlp"), pre)


def picture(kind: str) -> bytes:
    """``keras.utils.plot_model`` of :func:`example_model` as PNG bytes (needs pydot and Graphviz)."""
    import tempfile

    from keras_embed_prep.walk import plot

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.png")
        plot(example_model(kind), path)
        with open(path, "rb") as f:
            return f.read()


def on_files(files, config, **kwargs):
    """Add the pictures: drawn from the code now, and the benchmark's latency plot from its results."""
    from mkdocs.structure.files import File

    for uri, kind in PICTURES.items():
        files.append(File.generated(config, uri, content=picture(kind)))
    uri, source = LATENCY_PLOT
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files.append(File.generated(config, uri, abs_src_path=os.path.join(root, source)))
    return files


def on_page_content(html: str, **kwargs) -> str:
    """Drop the Sphinx role prefixes that docstrings carry (``:func:`to_inputs``` -> ``to_inputs``)."""
    return _SPHINX_ROLE.sub("", html)
