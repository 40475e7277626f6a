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


def all_nodes(model: Any) -> list:
    """:func:`graph_nodes` of ``model`` with each nested model's own nodes in its place."""
    import keras

    found = []
    for node in graph_nodes(getattr(model, "_functional", None) or model) or []:
        found.append(node)
        if isinstance(node.operation, keras.Model):
            found.extend(all_nodes(node.operation))
    return found


def is_stage(layer: Any) -> bool:
    """Whether ``layer`` is a nested preprocessing model (:mod:`keras_embed_prep.stages`).

    Preprocessing keeps float64 until its final cast: a stage outputs float64, text or integer
    positions, while a network (the user's model, a fused first layer) outputs float32.
    """
    import keras

    return isinstance(layer, keras.Model) and not any(
        "float" in str(t.dtype) and str(t.dtype) != "float64" for t in keras.tree.flatten(layer.outputs)
    )
