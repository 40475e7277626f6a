"""Fitted statistics read back from a Keras graph (scaling steps, min-max steps, ``Normalization``,
``StringLookup`` vocabularies), and whether a model embeds any."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from ..walk import all_nodes, layers_by_path
from .trace import Step, trace

#: keras.ops calls whose constants hold fitted statistics.
_SITE_OPS = ("Subtract", "Divide", "Multiply", "Add")
#: Layers that hold fitted statistics: a model with one embeds its preprocessing.
_PREPROCESSING_LAYERS = (
    keras.layers.Normalization,
    keras.layers.StringLookup,
    keras.layers.IntegerLookup,
    keras.layers.Discretization,
)


@dataclass
class Site:
    """A step that holds fitted statistics, with the values before (``x``) and after (``z``) it."""

    step: Step
    kind: str  # "scale", "min_max", "normalization", "lookup"
    x: np.ndarray
    z: np.ndarray | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    vocabulary: set[str] | None = None


def embeds(model: keras.Model) -> bool:
    """Whether the model holds preprocessing: raw column inputs, or statistics ahead of its layers."""
    if any(len(t.shape) != 2 or t.dtype == "string" for t in model.inputs) or len(model.inputs) > 1:
        return True
    if any(isinstance(layer, _PREPROCESSING_LAYERS) for layer in layers_by_path(model).values()):
        return True
    return any(
        type(node.operation).__name__ in ("Subtract", "Divide") and node_constant(node) is not None
        for node in all_nodes(model)
    )


def node_constant(node: Any) -> np.ndarray | None:
    """The float vector constant a keras.ops call was given (a fitted statistic), if any."""
    arguments = getattr(node, "arguments", None)
    for value in getattr(arguments, "args", ()):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 1:
            return value
    return None


def may_hold_statistics(node: Any) -> bool:
    """Steps :func:`sites` reads. Lookups without an OOV slot are in-graph checks that raise: skipped."""
    op = node.operation
    if isinstance(op, keras.layers.Normalization):
        return True
    if isinstance(op, keras.layers.StringLookup):
        return not op.invert and op.num_oov_indices != 0
    return type(op).__name__ in _SITE_OPS and node_constant(node) is not None


def trace_sites(model: keras.Model, feeds: Any, n: int) -> list[Step]:
    """Only the steps of ``model`` that may hold statistics, run on the rows."""
    return trace(model, feeds, n, only=may_hold_statistics)


def sites(steps: list[Step]) -> list[Site]:
    """The steps that hold fitted statistics, each with its statistics and values."""
    producer = {i: s for s in steps for i in s.out_ids}
    found = []
    for step in steps:
        if not step.inputs or not step.outputs:
            continue
        if isinstance(step.op, keras.layers.Normalization):
            mean = np.asarray(keras.ops.convert_to_numpy(step.op.mean), dtype=np.float64).ravel()
            var = np.asarray(keras.ops.convert_to_numpy(step.op.variance), dtype=np.float64).ravel()
            found.append(Site(step, "normalization", step.inputs[0], step.outputs[0], mean, np.sqrt(var)))
        elif isinstance(step.op, keras.layers.StringLookup) and not step.op.invert:
            vocabulary = {str(v) for v in step.op.get_vocabulary(include_special_tokens=False)}
            found.append(Site(step, "lookup", step.inputs[0], vocabulary=vocabulary))
        elif step.kind == "Divide" and (scale := node_constant(step.node)) is not None:
            before = producer.get(step.in_ids[0]) if step.in_ids else None
            center, x = None, step.inputs[0]
            if before is not None and before.kind == "Subtract":
                center = node_constant(before.node)
                if center is not None:
                    x = before.inputs[0]
            found.append(Site(step, "scale", x, step.outputs[0], center, scale))
        elif step.kind == "Add" and (shift := node_constant(step.node)) is not None:
            before = producer.get(step.in_ids[0]) if step.in_ids else None
            if before is not None and before.kind == "Multiply":
                scale = node_constant(before.node)
                if scale is not None:
                    found.append(Site(step, "min_max", before.inputs[0], step.outputs[0], shift, scale))
    return found
