"""The rows an export is checked on (a sample or probe rows) and its parity check against Keras.

Shared by the ONNX and LiteRT exports; what only onnxruntime needs is in ``onnx/parity.py``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from ..blocks.checks import check_reasons
from ..bounds import Split, network_bound, network_split
from ..columns import MARKERS
from ..errors import ExportError, InputError
from ..inputs import to_inputs
from ..outputs import named_outputs
from ..verify import ParityReport, compare
from ..walk import layers_by_path
from .signatures import call, serving


def keras_rows(model, concrete, sample) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(accepted, rejected)``: the rows to check on, split by whether the Keras model answers them.

    ``sample`` rows when given (plus probe rows that trip the checks, if the model has any),
    else probe rows. Raises ExportError when the model rejects every row.
    """
    rows = _numpy_inputs(model, probe_inputs(model) if sample is None else _sample_inputs(sample, model))
    accepted, rejected = _split_rows(concrete, rows)
    if check_reasons(model) and sample is not None:  # also trip the checks with probe rows
        rejected = _concat_rows([rejected, _split_rows(concrete, probe_inputs(model))[1]])
    if not row_count(accepted):
        raise ExportError(
            f"The Keras model {model.name!r} fails on every {'sample' if sample is not None else 'probe'} "
            "row (its inference-time checks reject them), so the ONNX file cannot be checked. Nothing was "
            "written; pass sample= rows that the model accepts."
        )
    return accepted, rejected


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 400 characters), for an error that wraps it."""
    text = str(exc).strip()
    return (text.splitlines() or [""])[0][:400]


def _sample_inputs(sample, model):
    if isinstance(sample, dict):
        missing = [t.name for t in model.inputs if t.name not in sample]
        if missing:
            raise InputError(
                f"The sample for {model.name!r} lacks inputs {missing}. Pass raw rows (a DataFrame or "
                "array, converted with to_inputs) or the dict that to_inputs returns."
            )
        return {t.name: sample[t.name] for t in model.inputs}
    if isinstance(sample, tf.Tensor):  # a text array as to_inputs returns it
        return {model.inputs[0].name: sample}
    return to_inputs(sample, model)


def _numpy_inputs(model, inputs) -> dict[str, np.ndarray]:
    """Inputs by model input name as numpy: float32 numbers, text as an object array of str."""
    if not isinstance(inputs, dict):
        inputs = {model.inputs[0].name: inputs}
    out = {}
    for tensor in model.inputs:
        value = _as_numpy(inputs[tensor.name])
        out[tensor.name] = value if tensor.dtype == "string" else value.astype(np.float32)
    return out


#: Numeric probe values: edges of float32 and of the preprocessing (NaN, subnormal, -0.0, ...).
_PROBE_NUMBERS = np.array(
    [0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 10.0, -100.0, 1e3, 1e-3, 1e6 + 0.5, -1e6, 1e-40, -0.0, np.nan, 7.0],
    dtype=np.float32,
)


def _vocabulary(model) -> list[str]:
    words = set()
    for layer in layers_by_path(model).values():
        if isinstance(layer, keras.layers.StringLookup) and not layer.invert and layer.num_oov_indices:
            words.update(str(w) for w in layer.get_vocabulary(include_special_tokens=False))
    return sorted(words)


def probe_inputs(model, max_rows: int = 4096) -> dict[str, np.ndarray]:
    """Probe rows for every input, by model input name.

    The first 16 rows hold the edge values (:data:`_PROBE_NUMBERS`; for text the
    missing-value sentinel, an unseen value and ""), shifted from column to column; the
    other rows are ordinary: small integers (integer-coded categories) and normal draws
    of magnitudes 1e-3 to 1e3, and for text every category of the model's
    ``StringLookup`` vocabularies in turn (up to ``max_rows`` rows).
    """
    rng = np.random.default_rng(0)
    words = _vocabulary(model) or ["a"]
    special = [*MARKERS, "__never_seen_at_fit__", ""]
    edge = len(_PROBE_NUMBERS)
    rows = int(min(max(64, edge + len(words)), max_rows))
    feeds = {}
    for position, tensor in enumerate(model.inputs):
        width = int(tensor.shape[-1]) if len(tensor.shape) == 2 else 1
        columns = []
        for j in range(width):
            offset = 7 * position + 3 * j
            if tensor.dtype == "string":
                order = rng.permutation(len(words))
                values = np.array(
                    [words[order[(i + offset) % len(words)]] for i in range(rows)], dtype=object
                )
                for k, text in enumerate(special):
                    values[(offset + 5 * k) % edge] = text
            else:
                values = np.where(
                    rng.random(rows) < 0.5,
                    rng.integers(-3, 10, size=rows),
                    rng.normal(size=rows) * 10.0 ** rng.integers(-3, 4, size=rows),
                )
                values[:edge] = np.roll(_PROBE_NUMBERS, offset)
                values = values.astype(np.float32)
            columns.append(values)
        block = np.stack(columns, axis=1)
        feeds[tensor.name] = block if len(tensor.shape) == 2 else block[:, 0]
    return feeds


def _as_numpy(value) -> np.ndarray:
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    if array.dtype.kind in "OSU":
        flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(array.shape)
    return array


def row_count(rows: dict[str, np.ndarray]) -> int:
    return len(next(iter(rows.values())))


def take_rows(rows: dict[str, np.ndarray], index) -> dict[str, np.ndarray]:
    return {k: v[np.asarray(index, dtype=np.int64)] for k, v in rows.items()}


def _concat_rows(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _keras_outputs(concrete, rows) -> dict[str, np.ndarray]:
    outputs = concrete({k: tf.constant(v) for k, v in rows.items()})
    return {k: _as_numpy(v) for k, v in outputs.items()}


def eager_outputs(model, rows) -> dict[str, np.ndarray]:
    """The Keras model called eagerly: the reference.

    Not the traced function, whose fused kernels can differ on NaN (TensorFlow's fused
    ``MatMul + BiasAdd + Relu`` turns a NaN into 0; eager Keras and onnxruntime keep it).
    """
    outputs = call(model, {k: tf.constant(v) for k, v in rows.items()})
    return {k: _as_numpy(v) for k, v in named_outputs(outputs).items()}


def _split_rows(concrete, rows, budget: int = 256):
    """``(accepted, rejected)``: the rows the Keras model answers and those its checks reject.

    One call for all rows; if a check fails, halves are tried in turn down to single rows
    (at most ``budget`` calls; rows not settled by then are left out of both).
    """
    accepted, rejected, pending, calls = [], [], [np.arange(row_count(rows))], 0
    while pending and calls < budget:
        index = pending.pop()
        calls += 1
        try:
            _keras_outputs(concrete, take_rows(rows, index))
        except tf.errors.InvalidArgumentError:
            if len(index) == 1:
                rejected.extend(index)
            else:
                pending += [index[len(index) // 2 :], index[: len(index) // 2]]
            continue
        accepted.extend(index)
    return take_rows(rows, sorted(accepted)), take_rows(rows, sorted(rejected))


#: Output names of the boundary tensors added to the graph for the check (see :func:`with_boundary`).
BOUNDARY = "kep_boundary_"


def with_boundary(model, split: Split | None):
    """``model`` with its network's boundary tensors as extra outputs (:data:`BOUNDARY` ``0``, ...)."""
    if split is None:
        return model
    outputs = {**split.outputs, **{f"{BOUNDARY}{k}": t for k, t in enumerate(split.boundary)}}
    return keras.Model(model.inputs, outputs, name=model.name)


def compare_outputs(
    model, got, expected, *, split, rtol: float, atol: float, artifact: str = "ONNX export"
) -> ParityReport:
    """An exported artifact's outputs ``got`` against the Keras model's ``expected`` (:func:`onnx_parity`).

    ``artifact`` names the export in the errors ("ONNX export", "LiteRT export").
    """
    if sorted(got) != sorted(expected):
        raise ExportError(
            f"The {artifact} of {model.name!r} has outputs {sorted(got)}, the model {sorted(expected)}. "
            "Nothing was written."
        )
    got = {k: _as_numpy(v).reshape(expected[k].shape) for k, v in got.items()}
    keys = [k for k in expected if k.startswith(BOUNDARY)]
    pre, bounds, note = None, None, "" if split is None else "no boundary"
    if keys:
        pre = _joined([_flat_compare(k, got[k], expected[k], rtol=rtol, atol=atol) for k in keys])
        with np.errstate(invalid="ignore"):
            gaps = [np.abs(got[k].astype(np.float64) - expected[k].astype(np.float64)) for k in keys]
        bounds, note = network_bound(split, [expected[k] for k in keys], gaps)
    reports = []
    for key, ref in expected.items():
        if key in keys:
            continue
        if ref.dtype == object:
            differ = int((got[key].astype(str) != ref.astype(str)).sum())
            if differ:
                raise ExportError(
                    f"The {artifact} of {model.name!r} differs from the Keras model in output {key!r}: "
                    f"{differ} of {ref.size} labels differ. Nothing was written."
                )
            continue
        bound = None if bounds is None else bounds.get(key)
        reports.append(_flat_compare(key, got[key], ref, rtol=rtol, atol=atol, bound=bound))
    report = (
        _joined(reports) if reports else compare(np.zeros((0, 1)), np.zeros((0, 1)), rtol=rtol, atol=atol)
    )
    report.preprocessing, report.note = pre, note
    if pre is not None and not pre.passed:
        raise ExportError(
            _failure(model, pre, "in its preprocessing (the tensor its network receives)", artifact)
        )
    if not report.passed:
        raise ExportError(_failure(model, report, "in its network's outputs" if keys else "", artifact))
    return report


def _flat_compare(key, ours, ref, *, rtol, atol, bound=None) -> ParityReport:
    """``compare`` of one output, its columns named ``key[j]``."""
    width = 1 if ref.ndim == 1 else int(np.prod(ref.shape[1:]))
    flat = (ours.reshape(len(ours), -1), ref.reshape(len(ref), -1)) if ref.ndim > 1 else (ours, ref)
    if bound is not None:
        bound = np.asarray(bound).reshape(flat[1].shape)
    columns = [f"{key}[{j}]" for j in range(width)]
    return compare(flat[0], flat[1], rtol=rtol, atol=atol, columns=columns, bound=bound)


def _failure(model, report: ParityReport, part: str, artifact: str = "ONNX export") -> str:
    """The ExportError text of a failed part: where, by how much, against which tolerance."""
    k = report.worst()
    tolerance = f"|d| <= {report.atol:g} + {report.rtol:g}*|ref|"
    if report.bounded:
        tolerance += " + the network's float32 rounding bound"
    elif report.note:
        tolerance += f" ({report.note})"
    ratio = "" if report.worst_ratio is None else f" (worst {report.worst_ratio[k]:.3g}x its tolerance)"
    table = "" if len(report.columns) > 40 else f"\n{report}"
    return (
        f"The {artifact} of {model.name!r} differs from the Keras model {part + ' ' if part else ''}on "
        f"{report.rows} probe rows: worst column {report.columns[k]}, max abs error "
        f"{report.max_abs_error[k]:.3g}, max rel error {report.max_rel_error[k]:.3g}, "
        f"{int(report.violations[k])} value(s) over {tolerance}{ratio} and "
        f"{int(report.nan_mismatches[k])} NaN mismatch(es). Nothing was written.{table}"
    )


def _joined(reports: list[ParityReport]) -> ParityReport:
    """One report over the columns of several outputs (same rows)."""
    return ParityReport(
        rows=reports[0].rows,
        max_abs_error=np.concatenate([r.max_abs_error for r in reports]),
        max_rel_error=np.concatenate([r.max_rel_error for r in reports]),
        nan_mismatches=np.concatenate([r.nan_mismatches for r in reports]),
        violations=np.concatenate([r.violations for r in reports]),
        rtol=reports[0].rtol,
        atol=reports[0].atol,
        columns=[c for r in reports for c in r.columns],
        worst_ratio=np.concatenate([r.worst_ratio for r in reports]),
        bounded=any(r.bounded for r in reports),
    )


class KerasSide(NamedTuple):
    """What an export is checked against, computed before the conversion touches the traced graph."""

    split: Split | None
    #: The model with its network's boundary tensors as extra outputs (:func:`with_boundary`).
    checked: Any
    specs: dict
    #: ``serving_default`` of ``checked``, traced.
    concrete: Any
    accepted: dict[str, np.ndarray]
    rejected: dict[str, np.ndarray]
    #: The Keras model's outputs on ``accepted``.
    expected: dict[str, np.ndarray]


def keras_side(model, sample) -> KerasSide:
    """The Keras side of an export's parity check, on ``sample`` (or probe rows when it is None)."""
    split = network_split(model)
    checked = with_boundary(model, split)
    specs, serve = serving(checked)
    concrete = tf.function(serve, input_signature=[specs]).get_concrete_function()
    accepted, rejected = keras_rows(checked, concrete, sample)
    return KerasSide(split, checked, specs, concrete, accepted, rejected, eager_outputs(checked, accepted))
