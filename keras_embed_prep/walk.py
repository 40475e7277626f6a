"""Walking a built Keras model: its layers (nested models included) and its graph's nodes."""

from __future__ import annotations

from typing import Any


def layers_by_path(model: Any, prefix: str = "") -> dict[str, Any]:
    """Every layer of ``model`` by path (``outer/inner``), nested models included, in order."""
    import keras

    found = {}
    for layer in getattr(model, "layers", []):
        path = f"{prefix}{layer.name}"
        found[path] = layer
        if isinstance(layer, keras.Model):
            found.update(layers_by_path(layer, f"{path}/"))
    return found


def graph_nodes(model: Any) -> list | None:
    """The nodes of a functional model's graph in topological order (as ``model.summary()`` walks them).

    Keras keeps them in the private ``_nodes_by_depth``, the only place they are ordered; None
    for a model without a graph (a subclassed model).
    """
    by_depth = getattr(model, "_nodes_by_depth", None)
    if not by_depth:
        return None
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]
