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


def supported_rows() -> list[tuple[str, str, str, bool]]:
    """``(name, module, notes, needs_package_to_load)`` per supported class, from the registry."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_embed_prep import supported_estimators

    return [
        (e.name, e.module, e.notes, e.needs_package_to_load)
        for e in supported_estimators()
        if not e.module.startswith("pyspark.")
    ]


def supported_table() -> str:
    """The Markdown table of every class :func:`keras_embed_prep.supported_estimators` lists."""
    rows = supported_rows()
    lines = [
        f"{len(rows)} classes, generated from `keras_embed_prep.supported_estimators()` when this "
        "site was built.",
        "",
        "| class | module | loading a `.keras` file needs keras_embed_prep "
        "| what converts, what is refused |",
        "|---|---|---|---|",
    ]
    for name, module, notes, needs_package in rows:
        needs = "**yes**: custom layer" if needs_package else "no"
        lines.append(f"| `{name}` | `{module}` | {needs} | {_cell(notes) or '-'} |")
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


def on_page_content(html: str, **kwargs) -> str:
    """Drop the Sphinx role prefixes that docstrings carry (``:func:`to_inputs``` -> ``to_inputs``)."""
    return _SPHINX_ROLE.sub("", html)
