"""The house rules of the package, checked from its source: no import circle, small rooms, docstrings."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_embed_prep"
MAX_LINES = 400


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name ``from ... import`` in ``module`` refers to."""
    if node.level == 0:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> set[str]:
    """Package modules ``module`` imports, at module level or inside functions alike.

    The package root is left out: every submodule implicitly imports it first, and it
    imports the public names of everything else. Imports under ``if TYPE_CHECKING:`` never run.
    """
    tree = ast.parse(MODULES[module].read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            names = [f"{target}.{a.name}" for a in node.names]
            found.update(n for n in names if n in MODULES)
            if not any(n in MODULES for n in names):
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in MODULES and m != "keras_embed_prep" and m != module}


def _cycle() -> list[str] | None:
    graph = {m: _imports(m) for m in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_import_walk_sees_the_imports():
    # the check below would pass vacuously if the resolver found nothing
    assert "keras_embed_prep.registry" in _imports("keras_embed_prep.converters.scalers")
    assert "keras_embed_prep.blocks.affine" in _imports("keras_embed_prep.converters.scalers")


def test_no_import_circle():
    assert _cycle() is None, " -> ".join(_cycle())


@pytest.mark.parametrize("module", sorted(MODULES), ids=sorted(MODULES))
def test_module_is_one_small_room_with_a_docstring(module):
    path = MODULES[module]
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_LINES, f"{path.name} has {len(source.splitlines())} lines"
    assert ast.get_docstring(ast.parse(source)), f"{module} says nothing of what it owns"
