"""Running the model on the rows: all at once, and layer by layer (nested models expanded), keeping
every layer's input and output values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from ..blocks.checks import refusal_reason
from ..io import quote_error
from ..outputs import output_matrix
from ..walk import graph_nodes, is_stage


@dataclass
class Step:
    """One layer or keras.ops call, run on the rows: its input and output values."""

    path: str
    op: Any
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    node: Any = None
    in_ids: list[int] = field(default_factory=list)
    out_ids: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return type(self.op).__name__

    @property
    def is_layer(self) -> bool:
        return isinstance(self.op, keras.layers.Layer)

    @property
    def custom(self) -> bool:
        return not type(self.op).__module__.startswith("keras")


@dataclass
class Run:
    """The model run on the rows: every step, the outputs as one matrix, or why it refused them."""

    steps: list[Step]
    outputs: np.ndarray | None
    refused: str | None


def run_model(model: keras.Model, feeds: Any, n: int) -> Run:
    """Run ``model`` layer by layer and as a whole; a model that raises has refused the rows."""
    steps = []
    try:
        steps = trace(model, feeds, n)
        return Run(steps, predict(model, feeds, n), None)
    except Exception as exc:  # noqa: BLE001 - in-graph checks raise InvalidArgumentError and the like
        return Run(steps, None, refusal(exc))


def predict(model: keras.Model, feeds: Any, n: int) -> np.ndarray:
    """The model's outputs on all rows at once, as one float64 ``(rows, k)`` matrix."""
    return output_matrix(model.predict(feeds, batch_size=max(n, 1), verbose=0))


def refusal(exc: BaseException) -> str:
    """Why a model refused its input: the reason an in-graph check carries, else the error."""
    return refusal_reason(exc) or quote_error(exc)


def trace(
    model: keras.Model, feeds: Any, n: int, prefix: str = "", only: Callable[[Any], bool] | None = None
) -> list[Step]:
    """Run ``model`` on ``feeds`` layer by layer; nested models are expanded.

    ``only`` keeps the graph nodes it accepts (their inputs too), and expands only the nested
    preprocessing stages (not the user's model): the few steps a reader needs, without
    running every layer.
    """
    if isinstance(model, keras.Sequential):
        return _trace_sequential(model, feeds, n, prefix)
    nodes = graph_nodes(model)
    if nodes is None:  # a subclassed model: one step
        return [Step(f"{prefix}{model.name}", model, _numpy(_single(feeds)), _numpy(model(feeds)))]
    if only is not None:
        nodes = [node for node in nodes if is_stage(node.operation) or only(node)]
    values = _node_values(model, nodes, feeds, n, with_inputs=only is not None)
    steps = []
    for node in nodes:
        op = node.operation
        if isinstance(op, keras.layers.InputLayer):
            continue
        ins = [values[id(t)] for t in node.input_tensors]
        outs = [values[id(t)] for t in node.output_tensors]
        if isinstance(op, keras.Model) and (only is None or is_stage(op)):
            steps += trace(op, ins[0] if len(ins) == 1 else ins, n, f"{prefix}{op.name}/", only)
            continue
        in_ids = [id(t) for t in node.input_tensors]
        out_ids = [id(t) for t in node.output_tensors]
        steps.append(Step(f"{prefix}{op.name}", op, ins, outs, node, in_ids, out_ids))
    return steps


def _trace_sequential(model: keras.Sequential, feeds: Any, n: int, prefix: str) -> list[Step]:
    """A ``Sequential`` model, one layer at a time."""
    steps, x = [], _single(feeds)
    for layer in model.layers:
        y = _numpy(layer(x))
        if isinstance(layer, keras.Model):
            steps += trace(layer, x, n, f"{prefix}{layer.name}/")
        else:
            steps.append(Step(f"{prefix}{layer.name}", layer, _numpy(x), y))
        x = y[0] if len(y) == 1 else y
    return steps


def _node_values(
    model: keras.Model, nodes: list, feeds: Any, n: int, with_inputs: bool
) -> dict[int, np.ndarray]:
    """The value of every tensor the nodes output (and, ``with_inputs``, take), by tensor id.

    One probe model exposes them all as outputs, so one ``predict`` computes them.
    """
    model_inputs = {id(t) for t in model.inputs}
    tensors, seen = [], set(model_inputs)
    for node in nodes:
        for t in [*node.output_tensors, *(node.input_tensors if with_inputs else [])]:
            if id(t) not in seen:
                seen.add(id(t))
                tensors.append(t)
    values: dict[int, np.ndarray] = {}
    if isinstance(feeds, dict):
        values.update({id(t): np.asarray(feeds[t.name]) for t in model.inputs})
    elif isinstance(feeds, (list, tuple)):
        values.update({id(t): np.asarray(v) for t, v in zip(model.inputs, feeds, strict=True)})
    else:
        values[id(model.inputs[0])] = np.asarray(feeds)
    if tensors:
        probe = keras.Model(model.inputs, tensors)
        outputs = probe.predict(_predictable(feeds), batch_size=max(n, 1), verbose=0)
        outputs = outputs if len(tensors) > 1 else [outputs]
        values.update({id(t): np.asarray(v) for t, v in zip(tensors, outputs, strict=True)})
    return values


def _predictable(feeds: Any) -> Any:
    """``feeds`` as ``predict`` takes them: text values (object arrays, as a nested stage's inputs
    come back from the stage before it) as string tensors, which ``predict`` accepts and numpy
    object arrays it rejects ("Invalid dtype: object")."""

    def one(value):
        if isinstance(value, np.ndarray) and value.dtype == object:
            import tensorflow as tf  # the doctor runs on TensorFlow: StringLookup needs it

            return tf.constant(value, dtype=tf.string)
        return value

    if isinstance(feeds, dict):
        return {k: one(v) for k, v in feeds.items()}
    if isinstance(feeds, (list, tuple)):
        return [one(v) for v in feeds]
    return one(feeds)


def _numpy(value: Any) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in keras.tree.flatten(value)]


def _single(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value
