"""The documentation site and the notebooks: generated tables match the code, notebooks carry no outputs.

``make test`` also builds the site (``mkdocs build --strict``) and executes the notebooks (nbmake);
these checks need neither MkDocs nor Jupyter.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re

import pytest

from keras_embed_prep import supported_estimators

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _hooks():
    """docs/hooks.py, the MkDocs hook that generates the tables, imported as a module."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_supported_table_lists_exactly_the_registry():
    table = _hooks().supported_table()
    rows = re.findall(r"^\| (`[^|]+`) \| `([^`]+)` \| (no|\*\*yes\*\*[^|]*) \|", table, flags=re.MULTILINE)
    listed = [
        (name, module, needs.startswith("**yes"))
        for names, module, needs in rows
        for name in re.findall(r"`([^`]+)`", names)
    ]
    expected = [
        (e.name, e.module, e.needs_package_to_load)
        for e in supported_estimators()
        if not e.module.startswith("pyspark.")
    ]
    assert listed == expected
    assert f"{len(expected)} classes" in table


def test_supported_table_cells_are_plain_text():
    """Notes hold '*', '_', '|' and '<': escaped, they cannot break the table or turn into markup."""
    table = _hooks().supported_table()
    body = [line for line in table.splitlines() if line.startswith("| `")]
    cells_per_row = {len(re.split(r"(?<!\\)\|", line)) for line in body}
    assert cells_per_row == {7}  # 5 cells between 6 unescaped pipes


def test_supported_page_has_the_markers():
    page = (ROOT / "docs" / "supported.md").read_text(encoding="utf-8")
    hooks = _hooks()
    assert hooks.SUPPORTED_MARKER in page
    assert hooks.TARGETS_MARKER in page


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{notebook.name} has no code cells"
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, (
        f"{notebook.name}: code cells {dirty} have outputs or execution counts. "
        "Clear all outputs before committing (Jupyter: Edit > Clear Outputs of All Cells)."
    )


def test_notebooks_exist_without_script_copies():
    assert len(NOTEBOOKS) >= 3
    copies = [p.name for p in NOTEBOOKS if p.with_suffix(".py").exists()]
    assert not copies, f"keep only the .ipynb of {copies}"


def test_every_cli_command_has_its_help_in_the_docs():
    hooks = _hooks()
    commands = hooks.cli_commands()
    assert {"embed", "verify", "inspect", "demo"} <= set(commands)
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    undocumented = [c for c in commands if f"<!-- cli-help {c} -->" not in page]
    assert not undocumented, f"docs/cli.md lacks a section with <!-- cli-help NAME --> for {undocumented}"


def test_architecture_page_worked_example_converts_with_parity():
    """The converter a newcomer copies from docs/architecture.md works as written."""
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin

    from keras_embed_prep import registry, to_keras

    class Shift(TransformerMixin, BaseEstimator):
        def __init__(self, sign=1):
            self.sign = sign

        def fit(self, X, y=None):
            self.offset_ = np.asarray(X, dtype=np.float64).mean(axis=0)
            self.n_features_in_ = np.asarray(X).shape[1]
            return self

        def transform(self, X):
            return self.sign * (np.asarray(X, dtype=np.float64) - self.offset_)

    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    code = next(
        block
        for block in re.findall(r"```python\n(.*?)```", page, flags=re.S)
        if "def convert_shift" in block
    )
    namespace = {"Shift": Shift}
    exec(code, namespace)
    try:
        X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, -1.0]])
        for sign in (1, -1):
            est = Shift(sign=sign).fit(X)
            ours = np.asarray(to_keras(est)(X.astype(np.float32)))
            np.testing.assert_array_equal(ours, est.transform(X).astype(np.float32))
        with pytest.raises(ValueError, match=r"Shift\(sign=2\) is not supported"):
            to_keras(Shift(sign=2).fit(X))
    finally:
        registry.unregister_converter(Shift)
