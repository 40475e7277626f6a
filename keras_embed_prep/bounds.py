"""How far two float32 runs of a network may differ by rounding alone: a bound per row and output.

A parity check compares the preprocessing boundary (the tensor the user's model receives) at the
project's rule, and the network's outputs at that rule plus the bound computed here. The bound
carries, layer by layer, what two correct implementations (Keras and onnxruntime, TensorFlow and
JAX) may differ by: the difference they received, and the rounding of each one's own arithmetic,
``gamma_n * sum_i |x_i * w_ij|`` for a sum of ``n`` products in any order (docs/contract.md
derives it). Layers it cannot bound make :func:`network_bound` return None, with the layer named.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from .outputs import named_outputs
from .walk import graph_nodes, is_stage

#: Unit roundoff of float32: a correctly rounded operation is off by at most ``EPS32 * |result|``.
EPS32 = 2.0**-24

#: How many ulps a float32 activation function may be off (libraries use different approximations).
FUNCTION_ULPS = 4

#: Lipschitz constants of activations (the most an input difference is magnified).
LIPSCHITZ = {
    "linear": 1.0,
    "relu": 1.0,
    "relu6": 1.0,
    "leaky_relu": 1.0,
    "elu": 1.0,
    "tanh": 1.0,
    "sigmoid": 0.25,
    "hard_sigmoid": 1.0,
    "softplus": 1.0,
    "softsign": 1.0,
    "silu": 1.1,
    "swish": 1.1,
    "gelu": 1.13,
}

#: Layers that pass a tensor through unchanged at inference.
_IDENTITY = (
    keras.layers.InputLayer,
    keras.layers.Dropout,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    keras.layers.Identity,
)


def gamma(n) -> np.ndarray:
    """``gamma_n = n u / (1 - n u)``: the relative bound of a float32 sum of ``n`` terms, any order."""
    nu = np.asarray(n, dtype=np.float64) * EPS32
    return nu / (1.0 - nu)


@dataclass(frozen=True)
class Split:
    """An embedded model cut where its network starts.

    ``boundary``: the tensors the network reads from the preprocessing (the user's model's
    input; for a fused model, the one-hot positions and the numeric columns); ``nodes``: the
    network's graph nodes in order; ``outputs``: the model's outputs by signature name.
    """

    boundary: list
    nodes: list
    outputs: dict


def _starts_network(op) -> bool:
    if isinstance(op, keras.Model):
        return not is_stage(op)
    weighted = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Embedding)
    return isinstance(op, weighted) and op.dtype_policy.compute_dtype != "float64"


def network_split(model: keras.Model) -> Split | None:
    """Where ``model``'s network starts, or None when it has none (a :func:`to_keras` model).

    The network is the first float32 weighted layer or nested model and everything that reads
    its outputs; preprocessing keeps float64 until its final cast, so it never counts.
    """
    model = getattr(model, "_functional", None) or model  # a Sequential keeps its graph there
    nodes = graph_nodes(model)
    if not nodes:
        return None
    inside: set[int] = set()
    boundary, kept = [], []
    for node in nodes:
        if node.is_input or node.operation is None:
            continue
        if not (_starts_network(node.operation) or any(id(t) in inside for t in node.input_tensors)):
            continue
        kept.append(node)
        for tensor in node.input_tensors:
            if id(tensor) not in inside and all(tensor is not b for b in boundary):
                boundary.append(tensor)
        inside.update(id(t) for t in node.outputs)
    outputs = named_outputs(model.output)
    if not kept or any(id(t) not in inside for t in keras.tree.flatten(outputs)):
        return None
    return Split(boundary, kept, outputs)


class _Unbounded(Exception):
    """A layer that :func:`network_bound` has no rounding rule for."""


def network_bound(split: Split, values: list, differences: list) -> tuple[dict | None, str]:
    """``(bounds, note)``: per output name, the most two float32 runs may differ on each value.

    ``values`` are the boundary tensors on the rows (Keras's), ``differences`` how much the
    other run's boundary differs (``|x' - x|``, zero for a check of rounding alone). The bound of
    a value that is not finite is 0 (the strict rule applies there). ``bounds`` is None when a
    layer has no rule; ``note`` then names it.
    """
    tensors = {
        id(t): (np.asarray(v), np.nan_to_num(np.asarray(d, dtype=np.float64), posinf=0.0))
        for t, v, d in zip(split.boundary, values, differences, strict=True)
    }
    try:
        with np.errstate(all="ignore"):
            for node in split.nodes:
                _step(node, tensors)
    except _Unbounded as exc:
        return None, f"no rounding bound for {exc}: the network's outputs are checked at the strict rule"
    except Exception as exc:  # a layer that does not run on these arrays (string outputs, ...)
        return None, (
            f"no rounding bound ({type(exc).__name__}: {str(exc)[:120]}): the network's outputs are "
            "checked at the strict rule"
        )
    bounds = {}
    for name, tensor in split.outputs.items():
        error = tensors[id(tensor)][1]
        bounds[name] = np.where(np.isfinite(error), error, 0.0)
    return bounds, ""


def _step(node, tensors: dict) -> None:
    """Compute one node on the rows and carry the error bound through it (into ``tensors``)."""
    op = node.operation
    filled = {k: v[0] for k, v in tensors.items()}
    args, kwargs = node.arguments.fill_in(filled)
    errors = [tensors[id(t)][1] for t in node.input_tensors]
    inputs = [tensors[id(t)][0] for t in node.input_tensors]
    if isinstance(op, keras.Model):
        outputs, out_errors = _nested(op, inputs, errors)
    else:
        outputs = [np.asarray(keras.ops.convert_to_numpy(y)) for y in keras.tree.flatten(op(*args, **kwargs))]
        out_errors = [_rule(op, node, inputs, errors, outputs[0])]
    for tensor, value, error in zip(node.outputs, outputs, out_errors, strict=True):
        tensors[id(tensor)] = (value, error)


def _nested(model, inputs, errors):
    """A nested (user's) model: its own graph, node by node."""
    inner = getattr(model, "_functional", None) or model
    nodes = graph_nodes(inner)
    if not nodes:
        raise _Unbounded(f"{type(model).__name__} {model.name!r} (no graph)")
    tensors = {id(t): (v, e) for t, v, e in zip(inner.inputs, inputs, errors, strict=True)}
    for node in nodes:
        if not node.is_input and node.operation is not None:
            _step(node, tensors)
    found = [tensors[id(t)] for t in inner.outputs]
    return [v for v, _ in found], [e for _, e in found]


def _rule(op, node, inputs, errors, y) -> np.ndarray:
    """The error bound of ``op``'s output ``y`` from its inputs' values and bounds."""
    rounding = 2 * EPS32 * np.abs(y)  # both runs round the result
    if isinstance(op, _IDENTITY):
        return errors[0]
    if isinstance(op, keras.layers.Dense):
        return _dense(op, inputs[0], errors[0], y)
    if isinstance(op, keras.layers.Embedding):
        return np.zeros(y.shape)  # a row lookup is exact (the positions are checked exactly)
    if isinstance(op, keras.layers.Activation):
        return _activated(op.activation, errors[0], y)
    if isinstance(op, keras.layers.BatchNormalization):
        scale = _numpy(op.gamma) if op.scale else 1.0
        scale = np.abs(scale / np.sqrt(_numpy(op.moving_variance) + op.epsilon))
        return scale * errors[0] + 2 * gamma(4) * (scale * np.abs(inputs[0]) + np.abs(y) + 1e-30)
    kind = type(op).__name__
    if kind == "Sum" and len(inputs) == 1:
        axis = None if op.axis is None else tuple(int(a) for a in np.atleast_1d(op.axis))
        terms = inputs[0].size if axis is None else np.prod([inputs[0].shape[a] for a in axis])
        total = np.sum(errors[0], axis=axis, keepdims=op.keepdims)
        return total + 2 * gamma(terms) * np.sum(np.abs(inputs[0]), axis=axis, keepdims=op.keepdims)
    if kind in ("Add", "Subtract") and len(inputs) <= 2:
        return sum(np.broadcast_to(e, y.shape) for e in errors) + rounding
    if kind == "Multiply" and len(inputs) <= 2:
        pair = list(node.arguments.args)[:2]
        a, b = (_value(x, inputs, node) for x in pair)
        ea, eb = (_error(x, errors, node) for x in pair)
        return np.abs(b) * ea + np.abs(a) * eb + ea * eb + rounding
    if kind == "Cast":
        return errors[0] + rounding
    raise _Unbounded(f"layer {op.name!r} ({kind})")


def _value(arg, inputs, node):
    for tensor, value in zip(node.input_tensors, inputs, strict=True):
        if arg is tensor:
            return value
    return np.asarray(arg, dtype=np.float64)


def _error(arg, errors, node):
    for tensor, error in zip(node.input_tensors, errors, strict=True):
        if arg is tensor:
            return error
    return 0.0


def _numpy(variable) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


def _dense(layer, x, error, y) -> np.ndarray:
    """``y = act(x @ W + b)``: received ``error @ |W|`` plus ``2 gamma_n (|x| @ |W| + |b|)``."""
    if layer.quantization_mode is not None:
        raise _Unbounded(f"layer {layer.name!r} (quantized Dense)")
    kernel = np.abs(_numpy(layer.kernel))
    magnitude = np.abs(x.astype(np.float64)) @ kernel
    terms = kernel.shape[0]
    if layer.use_bias:
        magnitude = magnitude + np.abs(_numpy(layer.bias))
        terms += 1
    return _activated(layer.activation, error @ kernel + 2 * gamma(terms) * magnitude, y)


def _activated(activation, error, y) -> np.ndarray:
    """Through an activation: its Lipschitz constant times the error, plus its own rounding."""
    name = getattr(activation, "__name__", str(activation))
    own = 2 * FUNCTION_ULPS * EPS32 * np.abs(y)
    if name == "linear":
        return error
    if name == "softmax":  # |d y_i| <= y_i (|d z_i| + sum_j y_j |d z_j|) <= 2 max_j |d z_j|
        return 2 * np.max(error, axis=-1, keepdims=True) * np.ones(y.shape) + own
    if name not in LIPSCHITZ:
        raise _Unbounded(f"activation {name!r}")
    return LIPSCHITZ[name] * error + own
