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


def _reads(model: Any, sources: list[set]) -> tuple[list[set], list[tuple]]:
    """What each output of ``model`` reads of ``sources`` (one set per input), and its nested models.

    Nested models are followed inside, so a stage whose outputs read different columns (the
    ``columns`` stage) passes each output only its own.
    """
    import keras

    inner = getattr(model, "_functional", None) or model
    reads = {id(t): s for t, s in zip(inner.inputs, sources, strict=True)}
    nested = []
    for node in graph_nodes(inner) or []:
        if node.is_input:
            continue
        given = [reads.get(id(t), set()) for t in node.input_tensors]
        if isinstance(node.operation, keras.Model) and graph_nodes(
            getattr(node.operation, "_functional", None) or node.operation
        ):
            made, _ = _reads(node.operation, given)
            nested.append((node, set().union(*given)))
        else:
            made = [set().union(*given)] * len(node.output_tensors)
        for t, m in zip(node.output_tensors, made, strict=True):
            reads[id(t)] = m
    return [reads.get(id(t), set()) for t in inner.outputs], nested


def _width(tensor) -> int | None:
    if len(tensor.shape) < 2:
        return 1
    return None if tensor.shape[-1] is None else int(tensor.shape[-1])


def stages(model: Any) -> list[dict]:
    """The nested models of ``model`` in graph order: name, the raw inputs each reads, output widths.

    ``[{"name": "num__standardscaler", "inputs": ["age", ...], "widths": [4]}, ...]``: what
    ``keras-embed-prep inspect`` lists (the steps of an embedded model, its fused first layer and
    the user's model). A width is None where it varies with the batch (a bag of terms: each row's
    term ids and weights, as many as the row with the most distinct terms).
    """
    names = [t.name for t in getattr(model, "inputs", None) or []]
    if not graph_nodes(getattr(model, "_functional", None) or model):
        return []
    _, nested = _reads(model, [{n} for n in names])
    return [
        {
            "name": node.operation.name,
            "inputs": [n for n in names if n in read],
            "widths": [_width(t) for t in node.output_tensors],
            "dtypes": [str(t.dtype) for t in node.output_tensors],
        }
        for node, read in nested
    ]


def plot(model: Any, to_file: str) -> None:
    """Draw ``model`` to ``to_file`` with ``keras.utils.plot_model``: one named box per stage, shapes.

    Needs pydot and Graphviz's ``dot`` (``keras.utils.plot_model`` raises ImportError without).
    """
    import keras

    keras.utils.plot_model(model, to_file=to_file, show_shapes=True, show_layer_names=True, dpi=72)
