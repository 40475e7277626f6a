"""``diagnose``: why a Keras model predicts NaN or nonsense on some rows, and the fix.

>>> report = diagnose(model, X, preprocessor=scaler)    # doctest: +SKIP
>>> print(report)                                       # doctest: +SKIP
>>> report.healthy, report.to_dict()                    # doctest: +SKIP

The report answers four questions on the rows given:

1. **Where it breaks.** The model runs layer by layer (a ``Sequential`` one layer at a time,
   a functional model through a probe model that exposes every intermediate output, nested
   models recursively). The first layer whose output holds NaN or Inf is named, with the rows
   affected and the input rows and columns that lead there (NaN inputs, zeros in the input of
   a layer that divides, huge magnitudes). Without NaN, the first layer whose activations are
   more than 10 times larger than on correctly preprocessed rows (or, without a preprocessor,
   the first ``Dense`` layer that unscaled columns dominate) is named instead.
2. **Inputs that look unprepared.** Statistics come from the preprocessor (converted with
   :func:`~keras_embed_prep.to_keras`) or, for a model that embeds its preprocessing, are read
   back from its graph: the center and scale of the first ``subtract``/``divide`` operations,
   ``MinMaxScaler``'s ``multiply``/``add``, ``Normalization`` layers, ``StringLookup``
   vocabularies. Flagged: values more than 10 fitted scales (for min-max steps, 10 fitted
   ranges) from what was seen at fit; NaN that nothing imputes; unseen categories; columns fed
   to a model that does not embed its preprocessor, at magnitudes far from the preprocessor's
   output or from what the first ``Dense`` layer's weights suggest ("probably unscaled").
3. **Save/load drift.** The model is saved to a temporary ``.keras`` file and reloaded
   (``safe_mode=True`` first, then ``safe_mode=False``); the report lists the custom objects
   the file needs (and those not registered here), ``Lambda`` layers, layers whose weights or
   config did not come back, dtype changes, and compares the outputs before and after.
4. **The fix.** With a preprocessor the model does not embed: the exact ``embed(...)`` call
   and ``keras-embed-prep embed`` command, and the parity the self-contained model reaches on
   the rows (embedded, saved, reloaded with ``safe_mode=True``, checked with
   :func:`~keras_embed_prep.verify`). Plus advice for each cause found (impute, guard a
   division, register a custom class, ...).

A column's name is the DataFrame column (or its position, ``"0"``, ``"1"``, ... for arrays).
Rows are 0-based positions in ``X``.

JSON schema (``report.to_dict()``, ``keras-embed-prep doctor --json``)
----------------------------------------------------------------------
::

    {
      "healthy": bool,                 # no problems found
      "model": str,                    # the model's name
      "rows": int,                     # rows diagnosed
      "columns": [str],                # input columns, in order
      "preprocessor": str | null,      # class name of the preprocessor given
      "embedded": bool,                # the model embeds preprocessing (statistics in its graph)
      "problems": [{"code": str, "message": str}],   # causes first, then symptoms
      "breakdown": null | {            # 1. where it breaks
        "layer": str,                  # path, nested models joined by "/": "penguins/dense"
        "layer_type": str,             # class name: "Dense", "RelativeTo", "Divide" (a keras.ops call)
        "kind": "non_finite" | "blow_up" | "unscaled",
        "cause": "nan_in_inputs" | "division_by_zero" | "overflow" | "created" | "unscaled_inputs",
        "rows": int,                   # rows affected at that layer
        "row_indices": [int],          # the first 10 of them
        "detail": str,
        "input_columns": [{"column": str, "rows": int, "why": str}],
        "max_abs_output": float | null,           # blow_up / unscaled: largest |activation| here
        "reference_max_abs_output": float | null, # blow_up: the same on the preprocessed rows
        "output_rows": int | null      # non_finite: of those rows, how many the model's outputs
      },                               # hold NaN/Inf in (fewer: a later layer hides the NaN)
      "refused": str | null,           # the model raised on the rows (e.g. an unknown category)
      "unprepared": [{                 # 2. inputs that look unprepared
        "column": str,
        "issue": "far_outside_fit" | "unscaled" | "nan_without_imputer" | "unseen_category",
        "rows": int,                   # rows concerned
        "source": "preprocessor" | "embedded graph" | "first Dense layer" | "model",
        "detail": str,
        "examples": [number | str]     # up to 5 offending raw values
      }],
      "roundtrip": {                   # 3. save/load drift
        "saved": bool, "safe_mode": bool | null, "needs_unsafe_mode": bool,
        "error": str | null,
        "custom_objects": [str], "missing_custom_objects": [str], "lambda_layers": [str],
        "failed_layers": [str], "dtype_changes": [str], "load_warnings": [str],
        "outputs_match": bool | null, "max_abs_diff": float | null, "nan_mismatches": int | null,
        "drift_layer": str | null      # first layer whose outputs differ after the reload
      },
      "reference": null | {            # reference_model given
        "compared_to": str, "passed": bool, "max_abs_error": float, "nan_mismatches": int
      },
      "fix": {                         # 4. the fix
        "python": str | null,          # the embed(...) call
        "cli": str | null,             # the keras-embed-prep embed command
        "parity": null | {"passed": bool, "rows": int, "max_abs_error": float,
                          "max_rel_error": float, "nan_mismatches": int, "violations": int},
        "nonfinite_rows": int | null,  # rows the self-contained model still maps to NaN/Inf
        "error": str | null,           # why embed (or its check) failed
        "advice": [str]
      },
      "notes": [str]                   # what could not be checked, and why
    }

Non-finite numbers are written as ``null``. Problem codes, in the order they are listed:
``cannot_take_raw_rows`` (a model that does not embed its preprocessor gets raw rows of another
width), ``model_refused_rows`` (it raised), ``preprocessor_not_applied`` (fed the raw rows, the
outputs differ from ``model(preprocessor.transform(X))``), one per column issue
(``unseen_category``, ``far_outside_fit``, ``unscaled``, ``nan_without_imputer``), then
``non_finite_outputs`` or ``activations_blow_up`` (the breakdown), then the save/load ones:
``save_failed``, ``missing_custom_objects``, ``needs_unsafe_mode``, ``load_failed``,
``layers_not_restored``, ``dtype_changed``, ``roundtrip_drift``, and ``reference_mismatch``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import tempfile
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd

from .columns import MISSING, category_text
from .convert import to_keras
from .embed import embed
from .errors import (
    InputError,
    KerasEmbedPrepError,
    NotFittedError,
    ShapeMismatchError,
    UnsupportedEstimatorError,
)
from .inputs import defined_inputs, to_inputs
from .io import quote_error
from .verify import as_served, compare, verify

#: A raw value this many fitted scales (or, for min-max steps, fitted ranges) away is "far outside".
FAR = 10.0
#: Activations this many times larger than on preprocessed rows "blow up".
BLOW_UP = 10.0
#: Rows / values listed at most in a report.
_LISTED = 10
#: keras.ops calls whose constants hold fitted statistics.
_SITE_OPS = ("Subtract", "Divide", "Multiply", "Add")
#: How a group of column findings reads.
_ISSUES = {
    "far_outside_fit": f"lie more than {FAR:g} fitted scales from the data the preprocessor was fitted on",
    "unscaled": "look unscaled",
    "nan_without_imputer": "hold NaN that nothing imputes",
    "unseen_category": "hold categories not seen at fit",
}
#: The file name the fix writes.
FIXED_NAME = "model_with_preprocessing.keras"


# --------------------------------------------------------------------------- report


@dataclass
class Breakdown:
    """Where the model breaks: the first failing layer (see the module docstring)."""

    layer: str
    layer_type: str
    kind: str
    cause: str
    rows: int
    row_indices: list[int]
    detail: str
    input_columns: list[dict[str, Any]] = field(default_factory=list)
    max_abs_output: float | None = None
    reference_max_abs_output: float | None = None
    output_rows: int | None = None


@dataclass
class ColumnFinding:
    """An input column that looks unprepared."""

    column: str
    issue: str
    rows: int
    source: str
    detail: str
    examples: list[Any] = field(default_factory=list)


@dataclass
class RoundTrip:
    """What a ``.keras`` save and reload changed."""

    saved: bool = False
    safe_mode: bool | None = None
    needs_unsafe_mode: bool = False
    error: str | None = None
    custom_objects: list[str] = field(default_factory=list)
    missing_custom_objects: list[str] = field(default_factory=list)
    lambda_layers: list[str] = field(default_factory=list)
    failed_layers: list[str] = field(default_factory=list)
    dtype_changes: list[str] = field(default_factory=list)
    load_warnings: list[str] = field(default_factory=list)
    outputs_match: bool | None = None
    max_abs_diff: float | None = None
    nan_mismatches: int | None = None
    drift_layer: str | None = None


@dataclass
class Fix:
    """The fix: the embed call and command, the parity they reach, and advice per cause."""

    python: str | None = None
    cli: str | None = None
    parity: dict[str, Any] | None = None
    nonfinite_rows: int | None = None
    error: str | None = None
    advice: list[str] = field(default_factory=list)


@dataclass
class Problem:
    """One thing wrong: a stable ``code`` and a message in plain words with numbers."""

    code: str
    message: str


@dataclass
class DoctorReport:
    """The diagnosis of a model on some rows. ``str(report)`` reads it; ``to_dict()`` is JSON."""

    model: str
    rows: int
    columns: list[str]
    preprocessor: str | None
    embedded: bool
    problems: list[Problem] = field(default_factory=list)
    breakdown: Breakdown | None = None
    refused: str | None = None
    unprepared: list[ColumnFinding] = field(default_factory=list)
    roundtrip: RoundTrip = field(default_factory=RoundTrip)
    reference: dict[str, Any] | None = None
    fix: Fix = field(default_factory=Fix)
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No problems found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready Python objects (schema: the module docstring)."""
        return _jsonable({"healthy": self.healthy, **asdict(self)})

    def __str__(self) -> str:
        return _render(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def _rows(n: int, total: int) -> str:
    return f"{n} of {total} row{'s' if total != 1 else ''}"


def _names(columns: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


# --------------------------------------------------------------------------- data


@dataclass
class _Column:
    name: str
    values: np.ndarray  # float64 (float32-rounded) or object (str)

    @property
    def text(self) -> bool:
        return self.values.dtype == object


def _table(X: Any) -> list[_Column]:
    """The raw columns of ``X``, numbers as the float32 values a model receives."""
    if isinstance(X, pd.DataFrame):
        columns = []
        for name in X.columns:
            series = X[name]
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
                columns.append(_Column(str(name), values.astype(np.float32).astype(np.float64)))
            else:
                text = [category_text(v) for v in series.tolist()]
                columns.append(_Column(str(name), np.array(text, dtype=object)))
        return columns
    array = np.asarray(X)
    if array.dtype.kind in "fiub":
        array = array.astype(np.float32).astype(np.float64)
        return [_Column(str(j), array[:, j]) for j in range(array.shape[1])]
    return [
        _Column(str(j), np.array([category_text(v) for v in array[:, j].tolist()], dtype=object))
        for j in range(array.shape[1])
    ]


def _text(values: np.ndarray) -> np.ndarray:
    flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values.ravel()]
    return np.array(flat, dtype=object).reshape(values.shape)


def _match(values: np.ndarray, table: list[_Column]) -> list[_Column | None]:
    """For each column of ``values`` (rows, k), the raw column it equals (where the raw value is finite)."""
    values = values.reshape(values.shape[0], -1)
    text = values.dtype.kind in "OSU"
    if text:
        values = _text(values)
    found: list[_Column | None] = []
    for j in range(values.shape[1]):
        col, hit = values[:, j], None
        for raw in table:
            if raw.text != text:
                continue
            if text:
                if np.array_equal(col, raw.values):
                    hit = raw
                    break
                continue
            if col.dtype.kind not in "fc":
                continue
            finite = np.isfinite(raw.values)
            if not finite.any():
                continue
            head = np.flatnonzero(finite)[:32]
            if np.array_equal(col[head], raw.values[head]) and np.array_equal(
                col[finite], raw.values[finite]
            ):
                hit = raw
                break
        found.append(hit)
    return found


def _bad_rows(array: np.ndarray, n: int) -> np.ndarray:
    """Rows of ``array`` holding NaN or Inf (float arrays with a batch axis only)."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or array.ndim == 0 or array.shape[0] != n:
        return np.zeros(n, dtype=bool)
    return ~np.isfinite(array.reshape(n, -1)).all(axis=1)


def _row_max_abs(array: np.ndarray, n: int) -> np.ndarray | None:
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or array.ndim == 0 or array.shape[0] != n or array.size == 0:
        return None
    flat = np.abs(array.reshape(n, -1).astype(np.float64))
    return np.where(np.isfinite(flat), flat, 0.0).max(axis=1)


def _matrix(outputs: Any) -> np.ndarray:
    """Model outputs (an array, a list or a dict) as one float64 (rows, k) matrix."""
    if isinstance(outputs, dict):
        outputs = [outputs[key] for key in sorted(outputs)]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    parts = [np.asarray(out, dtype=np.float64) for out in outputs]
    parts = [part.reshape(part.shape[0], -1) for part in parts]
    return parts[0] if len(parts) == 1 else np.hstack(parts)


def _predict(model: keras.Model, feeds: Any, n: int) -> np.ndarray:
    return _matrix(model.predict(feeds, batch_size=max(n, 1), verbose=0))


def _refusal(exc: BaseException) -> str:
    """Why a model refused its input: the reason an in-graph check carries, if any."""
    match = re.search(r'found OOV values \[\\*"([^"\\]+)', str(exc))
    return match.group(1) if match else quote_error(exc)


# --------------------------------------------------------------------------- tracing


@dataclass
class _Step:
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


def _numpy(value: Any) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in keras.tree.flatten(value)]


def _graph_nodes(model: keras.Model) -> list | None:
    """The nodes of a functional model's graph in topological order (as ``model.summary()`` walks them)."""
    by_depth = getattr(model, "_nodes_by_depth", None)
    if not by_depth:
        return None
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _single(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


def _trace(model: keras.Model, feeds: Any, n: int, prefix: str = "", sites_only: bool = False) -> list[_Step]:
    """Run ``model`` on ``feeds`` layer by layer; nested models are expanded."""
    if isinstance(model, keras.Sequential):
        steps, x = [], _single(feeds)
        for layer in model.layers:
            y = _numpy(layer(x))
            if isinstance(layer, keras.Model):
                steps += _trace(layer, x, n, f"{prefix}{layer.name}/")
            else:
                steps.append(_Step(f"{prefix}{layer.name}", layer, _numpy(x), y))
            x = y[0] if len(y) == 1 else y
        return steps
    nodes = _graph_nodes(model)
    if nodes is None:  # a subclassed model: one step
        return [_Step(f"{prefix}{model.name}", model, _numpy(_single(feeds)), _numpy(model(feeds)))]
    if sites_only:
        nodes = [node for node in nodes if _may_hold_statistics(node)]
    model_inputs = {id(t) for t in model.inputs}
    tensors, seen = [], set(model_inputs)
    for node in nodes:
        for t in node.output_tensors:
            if id(t) not in seen:
                seen.add(id(t))
                tensors.append(t)
        if sites_only:
            for t in node.input_tensors:
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
        outputs = probe.predict(feeds, batch_size=max(n, 1), verbose=0)
        outputs = outputs if len(tensors) > 1 else [outputs]
        values.update({id(t): np.asarray(v) for t, v in zip(tensors, outputs, strict=True)})
    steps = []
    for node in nodes:
        op = node.operation
        if isinstance(op, keras.layers.InputLayer):
            continue
        ins = [values[id(t)] for t in node.input_tensors]
        outs = [values[id(t)] for t in node.output_tensors]
        if isinstance(op, keras.Model) and not sites_only:
            steps += _trace(op, ins[0] if len(ins) == 1 else ins, n, f"{prefix}{op.name}/")
            continue
        steps.append(
            _Step(
                f"{prefix}{op.name}",
                op,
                ins,
                outs,
                node,
                [id(t) for t in node.input_tensors],
                [id(t) for t in node.output_tensors],
            )
        )
    return steps


# --------------------------------------------------------------------------- statistics in a graph


@dataclass
class _Site:
    """A step that holds fitted statistics, with the values before (``x``) and after (``z``) it."""

    step: _Step
    kind: str  # "scale", "min_max", "normalization", "lookup"
    x: np.ndarray
    z: np.ndarray | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    vocabulary: set[str] | None = None


def _node_constant(node: Any) -> np.ndarray | None:
    """The float vector constant a keras.ops call was given (a fitted statistic), if any."""
    arguments = getattr(node, "arguments", None)
    for value in getattr(arguments, "args", ()):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 1:
            return value
    return None


def _vector_constant(step: _Step) -> np.ndarray | None:
    return _node_constant(step.node)


def _may_hold_statistics(node: Any) -> bool:
    """Steps :func:`_sites` reads. Lookups without an OOV slot are in-graph checks that raise: skipped."""
    op = node.operation
    if isinstance(op, keras.layers.Normalization):
        return True
    if isinstance(op, keras.layers.StringLookup):
        return not op.invert and op.num_oov_indices != 0
    return type(op).__name__ in _SITE_OPS and _node_constant(node) is not None


def _sites(steps: list[_Step]) -> list[_Site]:
    producer = {i: s for s in steps for i in s.out_ids}
    sites = []
    for step in steps:
        if not step.inputs or not step.outputs:
            continue
        if isinstance(step.op, keras.layers.Normalization):
            mean = np.asarray(keras.ops.convert_to_numpy(step.op.mean), dtype=np.float64).ravel()
            var = np.asarray(keras.ops.convert_to_numpy(step.op.variance), dtype=np.float64).ravel()
            sites.append(_Site(step, "normalization", step.inputs[0], step.outputs[0], mean, np.sqrt(var)))
        elif isinstance(step.op, keras.layers.StringLookup) and not step.op.invert:
            vocabulary = {str(v) for v in step.op.get_vocabulary(include_special_tokens=False)}
            sites.append(_Site(step, "lookup", step.inputs[0], vocabulary=vocabulary))
        elif step.kind == "Divide" and (scale := _vector_constant(step)) is not None:
            before = producer.get(step.in_ids[0]) if step.in_ids else None
            center, x = None, step.inputs[0]
            if before is not None and before.kind == "Subtract":
                center = _vector_constant(before)
                if center is not None:
                    x = before.inputs[0]
            sites.append(_Site(step, "scale", x, step.outputs[0], center, scale))
        elif step.kind == "Add" and (shift := _vector_constant(step)) is not None:
            before = producer.get(step.in_ids[0]) if step.in_ids else None
            if before is not None and before.kind == "Multiply":
                scale = _vector_constant(before)
                if scale is not None:
                    sites.append(_Site(step, "min_max", before.inputs[0], step.outputs[0], shift, scale))
    return sites


def _site_findings(sites: list[_Site], table: list[_Column], source: str) -> list[ColumnFinding]:
    """Raw columns far outside the fitted statistics, and unseen categories."""
    findings, done = [], set()
    for site in sites:
        if site.x.ndim == 0 or site.x.shape[0] == 0:
            continue
        x = site.x.reshape(site.x.shape[0], -1)
        matches = _match(x, table)
        for j, raw in enumerate(matches):
            if raw is None or (raw.name, site.kind == "lookup") in done:
                continue
            done.add((raw.name, site.kind == "lookup"))
            if site.kind == "lookup":
                finding = _unseen(raw, _text(x[:, j]), site, source)
            else:
                finding = _far(raw, site, j, source)
            if finding is not None:
                findings.append(finding)
    return findings


def _far(raw: _Column, site: _Site, j: int, source: str) -> ColumnFinding | None:
    z = site.z.reshape(site.z.shape[0], -1)[:, j].astype(np.float64)
    with np.errstate(invalid="ignore"):
        if site.kind == "min_max":
            distance = np.abs(z - 0.5) - 0.5  # in fitted ranges, for feature_range=(0, 1)
        else:
            distance = np.abs(z)
    far = np.isfinite(distance) & (distance > FAR)
    if not far.any():
        return None
    worst = np.argsort(-np.where(far, distance, -np.inf))[: min(5, int(far.sum()))]
    examples = [float(v) for v in raw.values[worst]]
    step = f"'{site.step.path}'"
    if site.kind == "min_max":
        lo = -site.center[j] / site.scale[j] if site.scale[j] else np.nan
        hi = (1.0 - site.center[j]) / site.scale[j] if site.scale[j] else np.nan
        stats = f"the min-max step {step} was fitted on [{_g(lo)}, {_g(hi)}]"
        unit = "fitted ranges"
    else:
        center = 0.0 if site.center is None else float(site.center[j])
        scale = float(site.scale[j]) if site.scale is not None else 1.0
        what = "Normalization layer" if site.kind == "normalization" else "scaling step"
        stats = f"the {what} {step} has fitted center {_g(center)} and scale {_g(scale)}"
        unit = "fitted scales"
    detail = (
        f"'{raw.name}': {_rows(int(far.sum()), len(z))} lie more than {FAR:g} {unit} from what the "
        f"preprocessor saw at fit ({stats}; values such as {', '.join(_g(v) for v in examples[:3])} "
        f"are up to {_g(float(np.nanmax(np.where(far, distance, np.nan))))} {unit} away)"
    )
    return ColumnFinding(raw.name, "far_outside_fit", int(far.sum()), source, detail, examples)


def _unseen(raw: _Column, values: np.ndarray, site: _Site, source: str) -> ColumnFinding | None:
    unseen = np.array([v not in site.vocabulary for v in values], dtype=bool)
    if not unseen.any():
        return None
    counts = pd.Series(values[unseen]).value_counts()
    shown = ", ".join(
        f"{'missing' if k == MISSING else repr(k)} ({v})" for k, v in counts.head(5).items()
    )
    detail = f"'{raw.name}': {_rows(int(unseen.sum()), len(values))} hold categories not seen at fit: {shown}"
    return ColumnFinding(
        raw.name, "unseen_category", int(unseen.sum()), source, detail, counts.index[:5].tolist()
    )


# --------------------------------------------------------------------------- checks without statistics


def _unscaled_vs_preprocessor(
    fed: np.ndarray, prepared: np.ndarray, names: list[str], table: list[_Column]
) -> list[ColumnFinding]:
    """Columns fed as is, far from the preprocessor's output the model was trained on."""
    findings = []
    for j in range(fed.shape[1]):
        a, b = fed[:, j], prepared[:, j]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if not (a.size and b.size):
            continue
        spread = float(np.std(b)) or 1.0
        gap = abs(float(np.median(a)) - float(np.median(b))) / spread
        if gap <= FAR:
            continue
        raw = table[j] if j < len(table) else None
        name = names[j] if j < len(names) else (raw.name if raw else str(j))
        detail = (
            f"'{name}' is fed to the model as is (median {_g(float(np.median(a)))}), but the model was "
            f"trained on the preprocessor's output for it (median {_g(float(np.median(b)))}, spread "
            f"{_g(spread)}): {_g(gap)} spreads away, probably unscaled"
        )
        findings.append(
            ColumnFinding(name, "unscaled", int(a.size), "preprocessor", detail, [float(v) for v in a[:5]])
        )
    return findings


def _first_dense_on(steps: list[_Step], fed: np.ndarray) -> _Step | None:
    for step in steps:
        if isinstance(step.op, keras.layers.Dense):
            x = step.inputs[0] if step.inputs else None
            if x is not None and x.shape == fed.shape and np.array_equal(x, fed, equal_nan=True):
                return step
            return None
    return None


def _unscaled_vs_dense(step: _Step, fed: np.ndarray, table: list[_Column]) -> list[ColumnFinding]:
    """Columns whose magnitudes dwarf what the first Dense layer's weights were trained on."""
    kernel = np.asarray(keras.ops.convert_to_numpy(step.op.kernel), dtype=np.float64)
    bias = (
        np.asarray(keras.ops.convert_to_numpy(step.op.bias), dtype=np.float64)
        if step.op.bias is not None
        else np.zeros(kernel.shape[1])
    )
    unit = float(np.median(np.sqrt((kernel**2).sum(axis=0))) + np.median(np.abs(bias)))
    findings = []
    for j in range(min(fed.shape[1], kernel.shape[0])):
        column = fed[:, j][np.isfinite(fed[:, j])]
        if not column.size:
            continue
        typical = float(np.median(np.abs(column)))
        weight = float(np.abs(kernel[j]).max())
        contribution = typical * weight
        if typical <= FAR or contribution <= FAR * unit:
            continue
        name = table[j].name if j < len(table) else str(j)
        detail = (
            f"'{name}': median |x| is {_g(typical)}; the first Dense layer '{step.path}' gives it weights "
            f"up to {_g(weight)}, so it adds about {_g(contribution)} to a unit's pre-activation, where "
            f"unit-scale inputs give about {_g(unit)} (|bias| up to {_g(float(np.abs(bias).max(initial=0)))})"
            ": probably unscaled"
        )
        findings.append(
            ColumnFinding(
                name, "unscaled", int(column.size), "first Dense layer", detail, column[:5].tolist()
            )
        )
    return findings


def _nan_findings(
    table: list[_Column], reached: np.ndarray | None, where: str, refused: str | None = None
) -> list[ColumnFinding]:
    """Raw numeric columns whose NaN goes where it should not.

    ``reached`` is the preprocessor's output (rows with NaN there) or a boolean row mask
    (rows where NaN reached a layer or the outputs); ``refused`` the preprocessor's error.
    """
    findings = []
    source = "preprocessor" if where == "preprocessor output" else "model"
    if reached is not None and reached.dtype != bool:
        reached = _bad_rows(reached, len(reached))
    for raw in table:
        if raw.text:
            continue
        nan = np.isnan(raw.values)
        if not nan.any():
            continue
        if refused is not None:
            rows = int(nan.sum())
            detail = (
                f"'{raw.name}': NaN in {_rows(rows, len(nan))}, which the preprocessor refuses ({refused})"
            )
        else:
            hit = nan & reached if reached is not None else np.zeros_like(nan)
            if not hit.any():
                continue
            rows = int(hit.sum())
            detail = (
                f"'{raw.name}': NaN in {_rows(int(nan.sum()), len(nan))} and nothing imputes it: "
                f"it reaches the {where} in {rows} of them"
            )
        findings.append(ColumnFinding(raw.name, "nan_without_imputer", rows, source, detail, []))
    return findings


# --------------------------------------------------------------------------- where it breaks


def _columns_of(step_input: np.ndarray, table: list[_Column]) -> list[str]:
    """Names for the columns of a layer input: raw column names where the input is the raw data."""
    x = step_input.reshape(step_input.shape[0], -1)
    if x.shape[1] > 64:
        return [str(j) for j in range(x.shape[1])]
    return [(raw.name if raw is not None else f"input column {j}") for j, raw in enumerate(_match(x, table))]


def _input_columns(bad: np.ndarray, table: list[_Column], flagged: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for raw in table:
        if raw.text:
            continue
        nan = int((np.isnan(raw.values) & bad).sum())
        inf = int((np.isinf(raw.values) & bad).sum())
        if nan:
            out.append({"column": raw.name, "rows": nan, "why": "NaN"})
        if inf:
            out.append({"column": raw.name, "rows": inf, "why": "Inf"})
        if raw.name in flagged and not (nan or inf):
            out.append({"column": raw.name, "rows": int(bad.sum()), "why": flagged[raw.name]})
    return out


def _non_finite(
    steps: list[_Step], n: int, table: list[_Column], flagged: dict[str, str], outputs: np.ndarray | None
) -> Breakdown | None:
    """The first step that creates NaN/Inf, or the first layer whose output holds some."""
    for step in steps:
        bad = np.zeros(n, dtype=bool)
        for out in step.outputs:
            bad |= _bad_rows(out, n)
        if not bad.any():
            continue
        bad_in = np.zeros(n, dtype=bool)
        for value in step.inputs:
            bad_in |= _bad_rows(value, n)
        created = bad & ~bad_in
        if not (created.any() or step.is_layer):
            continue  # a keras.ops call passing on NaN it received: keep looking for the layer
        where = f"layer '{step.path}' ({step.kind}{', a custom layer' if step.custom else ''})"
        breakdown = Breakdown(
            layer=step.path,
            layer_type=step.kind,
            kind="non_finite",
            cause="nan_in_inputs",
            rows=int(bad.sum()),
            row_indices=np.flatnonzero(bad)[:_LISTED].tolist(),
            detail="",
            input_columns=_input_columns(bad, table, flagged),
        )
        breakdown.mask = bad  # not part of the report: the rows, for the NaN findings
        if created.any():
            breakdown.cause, breakdown.detail = _creation(step, created, n, table, where)
            breakdown.input_columns = [c for c in breakdown.input_columns if c["why"] not in ("NaN", "Inf")]
            breakdown.input_columns += _zero_columns(step, created, table)
        else:
            from_raw = [c for c in breakdown.input_columns if c["why"] in ("NaN", "Inf")]
            shown = ", ".join(f"'{c['column']}' is {c['why']} in {c['rows']}" for c in from_raw[:5])
            breakdown.detail = (
                f"{where} is the first to output NaN or Inf, in {_rows(int(bad.sum()), n)}; "
                + (
                    f"the NaN comes from the inputs: {shown} of those rows"
                    if shown
                    else "its inputs already hold NaN or Inf in those rows"
                )
            )
        if outputs is not None:
            out_bad = int((_bad_rows(outputs, n) & bad).sum())
            breakdown.output_rows = out_bad
            if out_bad < breakdown.rows:
                breakdown.detail += (
                    f". The model's outputs are NaN or Inf in only {out_bad} of these rows: a later layer "
                    "turns NaN into numbers (ReLU, max, ...), so the other predictions are silently wrong"
                )
        return breakdown
    return None


def _zero_columns(step: _Step, created: np.ndarray, table: list[_Column]) -> list[dict[str, Any]]:
    out = []
    for value in step.inputs:
        if value.dtype.kind not in "fc" or value.ndim == 0 or value.shape[0] != len(created):
            continue
        x = value.reshape(len(created), -1)
        zeros = (x[created] == 0).sum(axis=0)
        names = _columns_of(value, table)
        for j in np.flatnonzero(zeros):
            out.append({"column": names[j], "rows": int(zeros[j]), "why": "0 in the layer's input"})
    return sorted(out, key=lambda c: -c["rows"])


def _creation(step: _Step, created: np.ndarray, n: int, table: list[_Column], where: str) -> tuple[str, str]:
    zeros = _zero_columns(step, created, table)
    count = int(created.sum())
    if zeros:
        always = [c["column"] for c in zeros if c["rows"] == count]
        if always:
            shown = f"{_names(always)} {'is' if len(always) == 1 else 'are'} 0 in all of them"
        else:
            shown = ", ".join(f"'{c['column']}' is 0 in {c['rows']}" for c in zeros[:3]) + " of them"
        others = [c for c in zeros if c["column"] not in always]
        if always and others:
            shown += " (also " + ", ".join(f"'{c['column']}' in {c['rows']}" for c in others[:3]) + ")"
        return "division_by_zero", (
            f"{where} turns finite inputs into NaN or Inf in {_rows(count, n)}: in those rows its input "
            f"{shown}, so it probably divides by zero"
        )
    biggest = max(
        (
            float(np.abs(v[created]).max())
            for v in step.inputs
            if v.dtype.kind in "fc" and v.shape[:1] == (n,)
        ),
        default=0.0,
    )
    if biggest > 1e18:
        return "overflow", (
            f"{where} overflows float32 in {_rows(count, n)}: its inputs reach {_g(biggest)} in those rows"
        )
    return "created", f"{where} turns finite inputs into NaN or Inf in {_rows(count, n)}"


def _dominated(
    steps: list[_Step], fed: np.ndarray, n: int, findings: list[ColumnFinding]
) -> Breakdown | None:
    """The first Dense layer, when columns that look unscaled dominate it."""
    dense = _first_dense_on(steps, fed)
    unscaled = [f for f in findings if f.issue == "unscaled"]
    if dense is None or not unscaled:
        return None
    peak, what = _activity(dense, n)
    return Breakdown(
        layer=dense.path,
        layer_type=dense.kind,
        kind="unscaled",
        cause="unscaled_inputs",
        rows=n,
        row_indices=list(range(min(n, _LISTED))),
        detail=(
            f"layer '{dense.path}' (Dense), the first to weigh the inputs, is dominated by {len(unscaled)} "
            f"column(s) that look unscaled: {_names([f.column for f in unscaled])}"
            + (f"; its {what} reach {_g(float(peak.max()))}" if peak is not None else "")
        ),
        input_columns=[{"column": f.column, "rows": f.rows, "why": "unscaled"} for f in unscaled],
        max_abs_output=float(peak.max()) if peak is not None else None,
    )


def _activity(step: _Step, n: int) -> tuple[np.ndarray | None, str]:
    """Per row, the largest |activation| of a step: a Dense layer's pre-activation (before tanh
    or sigmoid squash it), any other layer's output."""
    if isinstance(step.op, keras.layers.Dense) and step.inputs and step.inputs[0].dtype.kind in "fc":
        kernel = np.asarray(keras.ops.convert_to_numpy(step.op.kernel), dtype=np.float64)
        with np.errstate(all="ignore"):
            pre = step.inputs[0].astype(np.float64) @ kernel
            if step.op.bias is not None:
                pre = pre + np.asarray(keras.ops.convert_to_numpy(step.op.bias), dtype=np.float64)
        return _row_max_abs(pre, n), "pre-activations"
    return (_row_max_abs(step.outputs[0], n) if step.outputs else None), "outputs"


def _blow_up(steps: list[_Step], reference: list[_Step], n: int, table, flagged) -> Breakdown | None:
    """The first layer whose activations are far larger than on preprocessed rows."""
    by_path = {s.path: s for s in reference}
    for step in steps:
        ref = by_path.get(step.path)
        if ref is None or not step.is_layer:
            continue
        (ours, what), (theirs, _) = _activity(step, n), _activity(ref, n)
        if ours is None or theirs is None:
            continue
        blown = ours > max(BLOW_UP * float(theirs.max()), 1.0)
        if not blown.any():
            continue
        mine, usual = float(ours.max()), float(theirs.max())
        return Breakdown(
            layer=step.path,
            layer_type=step.kind,
            kind="blow_up",
            cause="unscaled_inputs",
            rows=int(blown.sum()),
            row_indices=np.flatnonzero(blown)[:_LISTED].tolist(),
            detail=(
                f"layer '{step.path}' ({step.kind}) has {what} up to {_g(mine)} on these rows, but at most "
                f"{_g(usual)} on the same rows preprocessed ({_g(mine / max(usual, 1e-12))} times larger), "
                f"in {_rows(int(blown.sum()), n)}"
            ),
            input_columns=_input_columns(blown, table, flagged),
            max_abs_output=mine,
            reference_max_abs_output=usual,
        )
    return None


# --------------------------------------------------------------------------- save/load


def _custom_objects(config: Any) -> tuple[list[str], list[str]]:
    """Registered names of non-Keras classes, and the paths of Lambda layers, in a saved config."""
    customs, lambdas = [], []
    if isinstance(config, dict):
        if "class_name" in config and "config" in config:
            module = config.get("module")
            name = config.get("registered_name") or config["class_name"]
            inner = config.get("config")
            layer_name = inner.get("name") if isinstance(inner, dict) else None
            keras_class = isinstance(module, str) and module.split(".")[0] in ("keras", "builtins")
            marker = str(config["class_name"]).startswith("__")  # __numpy__, __keras_tensor__, ...
            if not (keras_class or marker):
                customs.append(str(name))
            if config["class_name"] == "Lambda":
                lambdas.append(str(layer_name))
        for value in config.values():
            c, lam = _custom_objects(value)
            customs += c
            lambdas += lam
    elif isinstance(config, list):
        for value in config:
            c, lam = _custom_objects(value)
            customs += c
            lambdas += lam
    return customs, lambdas


def _layers(model: keras.Model, prefix: str = "") -> dict[str, Any]:
    found = {}
    for layer in getattr(model, "layers", []):
        path = f"{prefix}{layer.name}"
        found[path] = layer
        if isinstance(layer, keras.Model):
            found.update(_layers(layer, f"{path}/"))
    return found


def _layer_changes(before: keras.Model, after: keras.Model) -> tuple[list[str], list[str]]:
    failed, dtypes = [], []
    old, new = _layers(before), _layers(after)
    for path, layer in old.items():
        if path not in new:
            failed.append(f"{path} ({type(layer).__name__}): missing after the reload")
            continue
        other = new[path]
        if type(other).__name__ != type(layer).__name__:
            failed.append(f"{path}: {type(layer).__name__} came back as {type(other).__name__}")
        a, b = getattr(layer, "dtype_policy", None), getattr(other, "dtype_policy", None)
        if a is not None and b is not None and a.name != b.name:
            dtypes.append(f"{path}: {a.name} -> {b.name}")
        w0, w1 = layer.get_weights(), other.get_weights()
        if len(w0) != len(w1) or any(x.shape != y.shape for x, y in zip(w0, w1, strict=False)):
            failed.append(f"{path} ({type(layer).__name__}): {len(w0)} weights before, {len(w1)} after")
        else:
            diff = max(
                (float(np.max(np.abs(x - y), initial=0.0)) for x, y in zip(w0, w1, strict=True)), default=0.0
            )
            if diff > 0:
                failed.append(f"{path} ({type(layer).__name__}): weights changed (max |diff| {_g(diff)})")
        if not type(layer).__module__.startswith("keras"):
            lost = _attribute_changes(layer, other)
            if lost:
                failed.append(f"{path} ({type(layer).__name__}): {lost}")
        if isinstance(layer, keras.layers.Lambda):
            continue  # its config holds the function's bytecode, never equal after a reload
        try:
            c0, c1 = layer.get_config(), other.get_config()
        except Exception:  # noqa: BLE001 - a custom get_config may raise anything; configs are evidence only
            continue
        changed = sorted(
            k for k in set(c0) | set(c1) if k != "name" and _config_text(c0.get(k)) != _config_text(c1.get(k))
        )
        if changed:
            failed.append(f"{path} ({type(layer).__name__}): config changed in {changed}")
    for kind, x, y in (("input", before.inputs, after.inputs), ("output", before.outputs, after.outputs)):
        for i, (t0, t1) in enumerate(zip(x, y, strict=False)):
            if str(t0.dtype) != str(t1.dtype):
                dtypes.append(f"model {kind} {i}: {t0.dtype} -> {t1.dtype}")
    return failed, dtypes


def _attribute_changes(layer: Any, other: Any) -> str:
    """Plain attributes (numbers, text) of a custom layer that the reload did not restore.

    The classic bug: ``__init__`` stores an argument that ``get_config`` leaves out, so
    the reloaded layer silently falls back to the default.
    """
    plain = (bool, int, float, str, type(None))
    changed = []
    for key, value in vars(layer).items():
        if key.startswith("_") or not isinstance(value, plain):
            continue
        new = vars(other).get(key)
        if isinstance(new, plain) and new != value:
            changed.append(f"{key}={value!r} came back as {new!r}")
    return (
        ("attributes not restored: " + ", ".join(changed[:5]) + " (return them from get_config)")
        if changed
        else ""
    )


def _config_text(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _round_trip(model: keras.Model, feeds: Any, before: np.ndarray | None, n: int) -> RoundTrip:
    trip = RoundTrip()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        try:
            model.save(path)
        except Exception as exc:  # noqa: BLE001 - get_config of custom layers raises anything
            trip.error = f"model.save failed ({quote_error(exc)})"
            return trip
        trip.saved = True
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        customs, lambdas = _custom_objects(config)
        trip.custom_objects = sorted(set(customs))
        trip.lambda_layers = sorted(set(lambdas))
        trip.missing_custom_objects = [
            name for name in trip.custom_objects if keras.saving.get_registered_object(name) is None
        ]
        loaded = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                loaded = keras.saving.load_model(path, safe_mode=True)
                trip.safe_mode = True
            except Exception as exc:  # noqa: BLE001 - Keras raises ValueError, TypeError, ... here
                trip.safe_mode = False
                trip.error = f"safe_mode=True: {quote_error(exc)}"
                try:
                    loaded = keras.saving.load_model(path, safe_mode=False)
                    trip.needs_unsafe_mode = True
                except Exception as exc2:  # noqa: BLE001
                    trip.error += f"; safe_mode=False: {quote_error(exc2)}"
        trip.load_warnings = sorted(
            {" ".join(str(w.message).split())[:300] for w in caught if "optimizer" not in str(w.message)}
        )
    if loaded is None:
        return trip
    trip.failed_layers, trip.dtype_changes = _layer_changes(model, loaded)
    if before is None:
        return trip
    try:
        after = _predict(loaded, feeds, n)
    except Exception as exc:  # noqa: BLE001 - a reloaded model may fail in any way
        trip.error = f"the reloaded model fails on the rows ({quote_error(exc)})"
        trip.outputs_match = False
        return trip
    if after.shape != before.shape:
        trip.outputs_match = False
        trip.error = f"outputs of shape {before.shape} before, {after.shape} after"
        return trip
    report = compare(after, before)
    trip.outputs_match = report.passed
    trip.max_abs_diff = float(report.max_abs_error.max(initial=0.0))
    trip.nan_mismatches = int(report.nan_mismatches.sum())
    if not report.passed:
        trip.drift_layer = _first_difference(model, loaded, feeds, n)
    return trip


def _first_difference(model: keras.Model, loaded: keras.Model, feeds: Any, n: int) -> str | None:
    try:
        old, new = _trace(model, feeds, n), {s.path: s for s in _trace(loaded, feeds, n)}
    except Exception:  # noqa: BLE001 - the drift itself is already reported
        return None
    for step in old:
        other = new.get(step.path)
        if other is None:
            return step.path
        for a, b in zip(step.outputs, other.outputs, strict=False):
            if (
                a.dtype.kind in "fc"
                and a.shape == b.shape
                and not compare(b.reshape(n, -1), a.reshape(n, -1)).passed
            ):
                return step.path
    return None


# --------------------------------------------------------------------------- the model and its inputs


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise UnsupportedEstimatorError(
            f"diagnose expects a keras.Model as its first argument. Received {type(model).__name__}."
        )
    defined_inputs(model)


def _embeds(model: keras.Model) -> bool:
    """Whether the model holds preprocessing: raw column inputs, or statistics ahead of its layers."""
    if any(len(t.shape) != 2 or t.dtype == "string" for t in model.inputs) or len(model.inputs) > 1:
        return True
    for layer in _layers(model).values():
        if isinstance(
            layer,
            (
                keras.layers.Normalization,
                keras.layers.StringLookup,
                keras.layers.IntegerLookup,
                keras.layers.Discretization,
            ),
        ):
            return True
    for node in _graph_nodes(model) or []:
        if type(node.operation).__name__ in ("Subtract", "Divide"):
            args = getattr(getattr(node, "arguments", None), "args", ())
            if any(isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.ndim == 1 for a in args):
                return True
    return False


def _select(X: Any, preprocessor: Any) -> Any:
    """The columns the preprocessor takes (by name for DataFrames)."""
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is not None:
        if not isinstance(X, pd.DataFrame):
            raise InputError(
                f"{type(preprocessor).__name__} was fitted on a DataFrame with columns "
                f"{[str(c) for c in names][:10]}. Received {type(X).__name__}. Pass a DataFrame."
            )
        missing = [str(c) for c in names if c not in X.columns]
        if missing:
            raise InputError(
                f"The data lacks columns {missing} that {type(preprocessor).__name__} was fitted on. "
                f"Received columns {[str(c) for c in X.columns][:10]}. Add them (columns are matched by "
                "name)."
            )
        return X[list(names)]
    n = getattr(preprocessor, "n_features_in_", None)
    width = X.shape[1] if np.ndim(X) == 2 else None
    if n is not None and width != int(n):
        raise InputError(
            f"The data has {width} columns, but {type(preprocessor).__name__} was fitted on {int(n)} "
            f"columns. Pass exactly these {int(n)} columns, in the order used for fitting."
        )
    return X


def _feeds(model: keras.Model, X: Any) -> Any:
    """What ``model`` takes for the raw rows ``X`` (InputError if it cannot take them)."""
    inputs = model.inputs
    if len(inputs) == 1 and len(inputs[0].shape) == 2:
        width = int(inputs[0].shape[-1])
        array = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        if array.shape[1] != width:
            raise InputError(
                f"Model {model.name!r} takes {width} columns; the data has {array.shape[1]}. Pass data "
                "with exactly the model's columns (or the preprocessor whose output the model takes)."
            )
    return to_inputs(X, model)


def _transform(preprocessor: Any, X: Any) -> np.ndarray:
    out = preprocessor.transform(as_served(X))
    if hasattr(out, "toarray"):
        out = out.toarray()
    return np.asarray(out, dtype=np.float32)


def _check_fitted(preprocessor: Any) -> None:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not callable(getattr(preprocessor, "transform", None)):
        raise UnsupportedEstimatorError(
            f"preprocessor must be a fitted scikit-learn transformer. Received {type(preprocessor).__name__}."
        )
    try:
        check_is_fitted(preprocessor)
    except SklearnNotFittedError as exc:
        raise NotFittedError(
            f"{type(preprocessor).__name__} is not fitted. Pass the preprocessor fitted on the training data."
        ) from exc


# --------------------------------------------------------------------------- diagnose


def diagnose(
    model: keras.Model,
    X: Any,
    *,
    preprocessor: Any = None,
    reference_model: keras.Model | None = None,
) -> DoctorReport:
    """Explain why ``model`` predicts NaN or nonsense on ``X``, and how to fix it.

    Parameters
    ----------
    model : keras.Model
        The model as served: a plain model (trained on ``preprocessor.transform(X)``), or
        one that embeds its preprocessing (e.g. from :func:`embed`), typically just loaded.
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        Raw rows, as the model (or the preprocessor) receives them. A sample of a few
        thousand rows is enough; every layer's output is kept in memory.
    preprocessor : fitted scikit-learn transformer, optional
        The preprocessing the model was trained behind. Its statistics decide which raw
        values lie far outside the fitted data; when ``model`` does not embed it, the
        report proposes :func:`embed` and measures the parity it reaches on ``X``.
    reference_model : keras.Model, optional
        Outputs ``model`` should reproduce: the same model before it was saved (same
        inputs), or, for a ``model`` that embeds ``preprocessor``, the original model that
        takes ``preprocessor.transform(X)``.

    Returns
    -------
    DoctorReport
        ``report.healthy``; ``print(report)`` explains; ``report.to_dict()`` is JSON (the
        schema is in this module's docstring).

    Raises
    ------
    UnsupportedEstimatorError
        ``model`` is not a ``keras.Model``, or ``preprocessor`` is not a transformer.
    NotFittedError
        ``preprocessor`` is not fitted.
    InputError
        ``X`` lacks columns the preprocessor or the model takes, has the wrong width, or
        has no rows.
    ShapeMismatchError
        The preprocessor's output width differs from the model's input width, or
        ``reference_model`` takes neither the model's inputs nor the preprocessor's outputs.

    Examples
    --------
    >>> model = keras.saving.load_model("model.keras")            # doctest: +SKIP
    >>> print(diagnose(model, X_raw, preprocessor=scaler))        # doctest: +SKIP
    """
    return diagnose_with_paths(model, X, preprocessor, reference_model)


def diagnose_with_paths(
    model: keras.Model,
    X: Any,
    preprocessor: Any,
    reference_model: keras.Model | None,
    *,
    model_path: str | None = None,
    preprocessor_path: str | None = None,
    load_options: str = "",
) -> DoctorReport:
    """:func:`diagnose`, with the file names (and loading flags) the fix's call and command show.

    The command line's ``doctor`` calls this; ``load_options`` are its ``--trust``/``--allow-pickle``
    flags as written on the command line (e.g. ``" --allow-pickle"``).
    """
    with _quiet():
        return _run(model, X, preprocessor, reference_model, model_path, preprocessor_path, load_options)


@contextlib.contextmanager
def _quiet():
    """Silence TensorFlow's retracing warnings: every probe model is a new function, on purpose."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _run(
    model, X, preprocessor, reference_model, model_path, preprocessor_path, load_options
) -> DoctorReport:
    _check_model(model)
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.ndim != 2:
            raise InputError(f"X must be 2-D (rows, columns). Received shape {X.shape}.")
    if len(X) == 0:
        raise InputError("X has no rows. Pass the rows to diagnose.")
    if preprocessor is not None:
        _check_fitted(preprocessor)
        X = _select(X, preprocessor)
    n = len(X)
    embedded = _embeds(model)
    table = _table(X)
    report = DoctorReport(
        model=model.name,
        rows=n,
        columns=[c.name for c in table],
        preprocessor=type(preprocessor).__name__ if preprocessor is not None else None,
        embedded=embedded,
    )

    # What the model receives: the raw rows, or (when it cannot take them) the preprocessed rows.
    prepared, transform_error = None, None
    if preprocessor is not None:
        try:
            prepared = _transform(preprocessor, X)
        except (ValueError, TypeError) as exc:
            transform_error = quote_error(exc)
            report.notes.append(
                f"{type(preprocessor).__name__}.transform failed on the rows ({transform_error})"
            )
    cannot_take = None
    try:
        feeds = _feeds(model, X)
    except InputError as exc:
        if preprocessor is None or embedded:
            raise
        cannot_take = str(exc)
        feeds = None
    plain = preprocessor is not None and not embedded
    if plain and prepared is not None:
        width = int(model.inputs[0].shape[-1])
        if prepared.shape[1] != width:
            raise ShapeMismatchError(
                f"{type(preprocessor).__name__} outputs {prepared.shape[1]} columns but model {model.name!r} "
                f"takes {width}. Pass the preprocessor the model was trained behind."
            )
    if feeds is None:
        if prepared is None:
            raise InputError(
                f"{cannot_take} {type(preprocessor).__name__}.transform failed too ({transform_error})."
            )
        feeds = prepared
        report.problems.append(
            Problem(
                "cannot_take_raw_rows",
                f"the model cannot take the raw rows: {cannot_take} It takes "
                f"{type(preprocessor).__name__}.transform(X); the rest of this report runs it on that.",
            )
        )

    # Run the model layer by layer.
    steps, outputs = [], None
    try:
        steps = _trace(model, feeds, n)
        outputs = _predict(model, feeds, n)
    except Exception as exc:  # noqa: BLE001 - in-graph checks raise InvalidArgumentError and the like
        report.refused = _refusal(exc)
        report.problems.append(Problem("model_refused_rows", f"the model refuses the rows: {report.refused}"))

    # 2. Inputs that look unprepared (all but NaN, which needs to know where it goes).
    findings: list[ColumnFinding] = []
    served_raw = feeds is not prepared
    if embedded:
        site_steps = steps
        if report.refused is not None:
            try:
                site_steps = _trace(model, feeds, n, sites_only=True)
            except Exception:  # noqa: BLE001 - the refusal is already reported
                site_steps = []
        findings += _site_findings(_sites(site_steps), table, "embedded graph")
    elif preprocessor is not None:
        try:
            pre_model = to_keras(preprocessor)
            pre_steps = _trace(pre_model, to_inputs(X, pre_model), n, sites_only=True)
            findings += _site_findings(_sites(pre_steps), table, "preprocessor")
        except KerasEmbedPrepError as exc:
            report.notes.append(f"fitted statistics not read: {' '.join(str(exc).split())}")
        except Exception as exc:  # noqa: BLE001 - e.g. the converted preprocessor refuses a row
            report.notes.append(f"fitted statistics not read ({_refusal(exc)})")
        if served_raw and prepared is not None:
            fed = np.asarray(feeds, dtype=np.float64)
            names = _feature_names(preprocessor, fed.shape[1], table)
            findings += _unscaled_vs_preprocessor(fed, prepared.astype(np.float64), names, table)
    elif not isinstance(feeds, dict):
        dense = _first_dense_on(steps, np.asarray(feeds))
        if dense is not None:
            findings += _unscaled_vs_dense(dense, np.asarray(feeds, dtype=np.float64), table)
    flagged = {f.column: f.issue.replace("_", " ") for f in findings}

    # 1. Where it breaks.
    report.breakdown = _non_finite(steps, n, table, flagged, outputs)
    if report.breakdown is None and steps:
        if plain and served_raw and prepared is not None:
            try:
                reference_steps = _trace(model, prepared, n)
                report.breakdown = _blow_up(steps, reference_steps, n, table, flagged)
            except Exception:  # noqa: BLE001 - the preprocessed run is evidence only
                report.breakdown = None
        elif preprocessor is None and not embedded and not isinstance(feeds, dict):
            report.breakdown = _dominated(steps, np.asarray(feeds), n, findings)

    # 2. (continued) NaN that nothing imputes: it reaches the preprocessor's output, or a layer.
    if preprocessor is not None and not embedded:
        nan_refused = transform_error if transform_error and "NaN" in transform_error else None
        findings += _nan_findings(table, prepared, "preprocessor output", refused=nan_refused)
    elif outputs is not None:
        reached = _bad_rows(outputs, n)
        b = report.breakdown
        if b is not None and b.cause == "nan_in_inputs":
            reached |= b.mask
        findings += _nan_findings(table, reached, f"layer '{b.layer}'" if b is not None else "model outputs")
    report.unprepared = findings

    # 3. Save/load drift.
    report.roundtrip = _round_trip(model, feeds, outputs, n)

    # Reference outputs.
    if reference_model is not None and outputs is not None:
        report.reference = _reference(model, reference_model, X, feeds, outputs, preprocessor, embedded, n)

    # "Not applied": the same model on the raw rows and on the preprocessed rows.
    not_applied = None
    if plain and served_raw and prepared is not None and outputs is not None:
        expected = _predict(model, prepared, n)
        not_applied = compare(outputs, expected)

    # 4. The fix.
    if plain:
        report.fix = _embed_fix(model, preprocessor, X, model_path, preprocessor_path, load_options)
    _problems(report, not_applied)
    report.fix.advice = _advice(report)
    return report


def _feature_names(preprocessor: Any, width: int, table: list[_Column]) -> list[str]:
    try:
        names = [str(c) for c in preprocessor.get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        names = []
    if len(names) != width:
        names = [table[j].name if j < len(table) else str(j) for j in range(width)]
    return names


def _reference(model, reference_model, X, feeds, outputs, preprocessor, embedded, n) -> dict[str, Any]:
    if embedded and preprocessor is not None:
        report = verify(preprocessor, model, X, model=reference_model)
        compared_to = f"{reference_model.name}({type(preprocessor).__name__}.transform(X))"
    else:
        try:
            expected = _predict(reference_model, feeds, n)
        except Exception as exc:  # noqa: BLE001 - any failure means it takes other inputs
            raise ShapeMismatchError(
                f"reference_model {reference_model.name!r} does not take the inputs of model "
                f"{model.name!r} ({quote_error(exc)}). Pass the model before saving, or, for a model that "
                "embeds the preprocessor, the original model together with preprocessor=."
            ) from exc
        report = compare(outputs, expected)
        compared_to = f"{reference_model.name} on the same inputs"
    return {
        "compared_to": compared_to,
        "passed": report.passed,
        "max_abs_error": float(report.max_abs_error.max(initial=0.0)),
        "nan_mismatches": int(report.nan_mismatches.sum()),
    }


def _embed_fix(model, preprocessor, X, model_path, preprocessor_path, load_options) -> Fix:
    fix = Fix()
    out = FIXED_NAME
    if model_path is not None and preprocessor_path is not None:
        stem = os.path.splitext(os.path.basename(model_path))[0]
        out = os.path.join(os.path.dirname(model_path), f"{stem}_with_preprocessing.keras")
        fix.cli = (
            f"keras-embed-prep embed {shlex.quote(model_path)} {shlex.quote(preprocessor_path)} "
            f"-o {shlex.quote(out)}{load_options}"
        )
        options = ""
        if "--allow-pickle" in load_options:
            options += ", allow_pickle=True"
        trusted = re.findall(r"--trust (\S+)", load_options)
        if trusted:
            options += f", trusted={trusted!r}"
        fix.python = (
            "from keras_embed_prep import embed\n"
            "from keras_embed_prep.io import load_keras_model, load_preprocessor\n"
            f"full = embed(load_keras_model({model_path!r}), "
            f"load_preprocessor({preprocessor_path!r}{options}))\n"
            f"full.save({out!r})"
        )
    else:
        fix.cli = f"keras-embed-prep embed MODEL.keras PREPROCESSOR.skops -o {out}"
        fix.python = (
            f"from keras_embed_prep import embed\nfull = embed(model, preprocessor)\nfull.save({out!r})"
        )
    try:
        full = embed(model, preprocessor)
    except KerasEmbedPrepError as exc:
        fix.error = f"embed fails: {' '.join(str(exc).split())}"
        return fix
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, FIXED_NAME)
        try:
            full.save(path)
            reloaded = keras.saving.load_model(path, safe_mode=True)
            parity = verify(preprocessor, reloaded, X, model=model)
            result = _predict(reloaded, to_inputs(X, reloaded), len(X))
        except Exception as exc:  # noqa: BLE001 - saving, loading and checking can fail in many ways
            fix.error = f"the embedded model could not be checked ({_refusal(exc)})"
            return fix
    summary = parity.to_dict()
    fix.parity = {
        "passed": summary["passed"],
        "rows": summary["rows"],
        "max_abs_error": summary["max_abs_error"],
        "max_rel_error": summary["max_rel_error"],
        "nan_mismatches": int(parity.nan_mismatches.sum()),
        "violations": int(parity.violations.sum()),
    }
    fix.nonfinite_rows = int(_bad_rows(result, len(X)).sum())
    return fix


# --------------------------------------------------------------------------- problems and advice


def _problems(report: DoctorReport, not_applied) -> None:
    problems = report.problems
    if not_applied is not None and not not_applied.passed:
        problems.append(
            Problem(
                "preprocessor_not_applied",
                f"the {report.preprocessor} is not applied (the model does not embed it): fed the raw rows, "
                f"its outputs differ from model({report.preprocessor}.transform(X)) by up to "
                f"{_g(float(not_applied.max_abs_error.max(initial=0.0)))}"
                + (
                    f" and in NaN in {int(not_applied.nan_mismatches.sum())} places"
                    if not_applied.nan_mismatches.any()
                    else ""
                ),
            )
        )
    groups: dict[str, list[ColumnFinding]] = {}
    for finding in report.unprepared:
        groups.setdefault(finding.issue, []).append(finding)
    for issue, found in groups.items():
        message = found[0].detail
        if len(found) > 1:
            message = (
                f"{len(found)} columns ({_names([f.column for f in found])}) {_ISSUES[issue]}; for example "
                + message
            )
        problems.append(Problem(issue, message))
    b = report.breakdown
    if b is not None:
        code = "non_finite_outputs" if b.kind == "non_finite" else "activations_blow_up"
        problems.append(Problem(code, b.detail))
    trip = report.roundtrip
    if not trip.saved:
        problems.append(Problem("save_failed", f"the model cannot be saved: {trip.error}"))
    else:
        if trip.missing_custom_objects:
            problems.append(
                Problem(
                    "missing_custom_objects",
                    f"the saved file needs custom objects {trip.missing_custom_objects} that are not "
                    "registered here, so it does not load",
                )
            )
        if trip.needs_unsafe_mode:
            lambdas = f" (Lambda layers {trip.lambda_layers})" if trip.lambda_layers else ""
            problems.append(
                Problem(
                    "needs_unsafe_mode",
                    f"the saved file loads only with safe_mode=False{lambdas}: {trip.error}",
                )
            )
        elif trip.safe_mode is False:
            problems.append(Problem("load_failed", f"the saved file does not load: {trip.error}"))
        if trip.failed_layers:
            problems.append(
                Problem("layers_not_restored", f"after save/load: {'; '.join(trip.failed_layers[:5])}")
            )
        if trip.dtype_changes:
            problems.append(Problem("dtype_changed", f"after save/load: {'; '.join(trip.dtype_changes[:5])}"))
        if trip.outputs_match is False:
            where = f", first at layer '{trip.drift_layer}'" if trip.drift_layer else ""
            problems.append(
                Problem(
                    "roundtrip_drift",
                    f"outputs change after save/load: max |diff| {_g(trip.max_abs_diff)}, NaN differs in "
                    f"{trip.nan_mismatches} places{where}" + (f" ({trip.error})" if trip.error else ""),
                )
            )
    if report.reference is not None and not report.reference["passed"]:
        ref = report.reference
        problems.append(
            Problem(
                "reference_mismatch",
                f"outputs differ from {ref['compared_to']}: max |diff| {_g(ref['max_abs_error'])}, "
                f"NaN differs in {ref['nan_mismatches']} places",
            )
        )
    if report.fix.error:
        report.notes.append(report.fix.error)


def _advice(report: DoctorReport) -> list[str]:
    advice = []
    issues: dict[str, list[str]] = {}
    for f in report.unprepared:
        issues.setdefault(f.issue, []).append(f.column)
    fix = report.fix
    if fix.python is not None and fix.error is None and fix.parity is not None:
        status = "reproduces" if fix.parity["passed"] else "does NOT reproduce"
        advice.append(
            "Serve the self-contained model that the embed call or command above writes: raw rows in, "
            f"prediction out; on these rows it {status} model(preprocessor.transform(X))."
        )
    elif fix.error:
        advice.append(f"Embedding the preprocessor is not possible as is: {fix.error}.")
    if "nan_without_imputer" in issues:
        cols = issues["nan_without_imputer"]
        advice.append(
            f"Impute {cols} before the step that reads them: fit e.g. SimpleImputer(strategy='median') on "
            "the training data, put it first (make_pipeline(imputer, <your preprocessing>)), and embed that "
            "pipeline; or repair or drop the rows with missing values before predicting."
            + (" Embedding alone keeps the NaN." if fix.python is not None else "")
        )
    b = report.breakdown
    if b is not None and b.cause == "division_by_zero":
        zeros = [c for c in b.input_columns if c["why"] == "0 in the layer's input"]
        zeros = [c["column"] for c in zeros if c["rows"] == b.rows] or [c["column"] for c in zeros]
        advice.append(
            f"Guard the division in {b.layer_type}.call (layer '{b.layer}'): keras.ops.divide_no_nan(a, b), "
            f"or divide by b plus a small epsilon; {b.rows} rows reach it with 0 in {zeros[:5]}."
        )
    elif b is not None and b.cause == "overflow":
        advice.append(
            f"Check the units and scaling of the inputs of layer '{b.layer}': they overflow float32."
        )
    if "far_outside_fit" in issues:
        advice.append(
            f"Check {issues['far_outside_fit']}: their values lie far outside the data the preprocessor was "
            "fitted on (other units, data that is already scaled fed to a model that scales it again, or "
            "corrupt values)."
        )
    if "unseen_category" in issues:
        advice.append(
            f"Map the unseen categories of {issues['unseen_category']} to known ones, or refit the encoder "
            "with handle_unknown='ignore' or 'infrequent_if_exist'."
        )
    if "unscaled" in issues and report.preprocessor is None:
        advice.append(
            f"The model looks trained on scaled inputs, but {issues['unscaled']} arrive unscaled: apply the "
            "preprocessing it was trained behind, and embed it so that it cannot be lost again "
            "(keras-embed-prep doctor MODEL DATA --preprocessor P shows the exact command)."
        )
    trip = report.roundtrip
    if trip.missing_custom_objects:
        advice.append(
            f"Register {trip.missing_custom_objects} with @keras.saving.register_keras_serializable() in the "
            "module that defines them, and import that module before loading (CLI: --import MODULE)."
        )
    if trip.needs_unsafe_mode:
        advice.append(
            "Replace Lambda layers with a registered layer class or keras.ops calls, so that the file loads "
            "with safe_mode=True."
        )
    if trip.failed_layers:
        advice.append(
            "Make the layers listed under save/load restore themselves: create weights in build(), and "
            "return every __init__ argument from get_config()."
        )
    return advice


# --------------------------------------------------------------------------- text


def _render(r: DoctorReport) -> str:
    lines = []
    pre = ""
    if r.preprocessor is not None:
        pre = f"; preprocessor {r.preprocessor}" + (
            " (the model embeds preprocessing)" if r.embedded else " (not embedded)"
        )
    elif r.embedded:
        pre = "; the model embeds its preprocessing"
    lines.append(f"doctor: model '{r.model}' on {r.rows} rows, {len(r.columns)} columns{pre}")
    if r.healthy:
        lines.append(
            f"HEALTHY: no NaN or Inf in any layer on {r.rows} rows, no input far from the fitted statistics, "
            "and a .keras save/load (safe_mode=True) reproduces the outputs"
            + (
                f" (max |diff| {_g(r.roundtrip.max_abs_diff)})"
                if r.roundtrip.max_abs_diff is not None
                else ""
            )
            + "."
        )
    else:
        lines.append(f"PROBLEMS ({len(r.problems)}):")
        for i, p in enumerate(r.problems, 1):
            lines.append(f"  {i}. [{p.code}] {p.message}")

    lines.append("1. where it breaks:")
    b = r.breakdown
    if r.refused is not None:
        lines.append(f"   the model refuses the rows: {r.refused}")
    if b is None:
        if r.refused is None:
            lines.append(f"   no layer outputs NaN or Inf on the {r.rows} rows.")
    else:
        lines.append(f"   first failing layer: '{b.layer}' ({b.layer_type}); {_rows(b.rows, r.rows)}")
        lines.append(f"   {b.detail}")
        if b.row_indices:
            lines.append(f"   rows: {b.row_indices}{' ...' if b.rows > len(b.row_indices) else ''}")
        for c in b.input_columns[:_LISTED]:
            lines.append(f"   input column '{c['column']}': {c['why']} in {c['rows']} of these rows")
        if b.output_rows is not None:
            lines.append(f"   the model's outputs hold NaN or Inf in {b.output_rows} of these rows")

    lines.append("2. inputs that look unprepared:")
    if not r.unprepared:
        lines.append("   none found.")
    for f in r.unprepared:
        lines.append(f"   [{f.issue}, from the {f.source}] {f.detail}")

    t = r.roundtrip
    lines.append("3. save/load (.keras round trip):")
    if not t.saved:
        lines.append(f"   save failed: {t.error}")
    else:
        loads = (
            "loads with safe_mode=True"
            if t.safe_mode
            else "loads only with safe_mode=False"
            if t.needs_unsafe_mode
            else "does not load"
        )
        lines.append(
            f"   {loads}; custom objects needed at load time: {t.custom_objects or 'none'}"
            + (f" (not registered here: {t.missing_custom_objects})" if t.missing_custom_objects else "")
        )
        if t.error and not t.safe_mode:
            lines.append(f"   {t.error}")
        if t.outputs_match is not None:
            lines.append(
                f"   outputs {'match' if t.outputs_match else 'DIFFER'} after the reload: max |diff| "
                f"{_g(t.max_abs_diff)}, NaN differs in {t.nan_mismatches} places"
                + (f", first at layer '{t.drift_layer}'" if t.drift_layer else "")
            )
        for line in t.failed_layers[:_LISTED]:
            lines.append(f"   not restored: {line}")
        for line in t.dtype_changes[:_LISTED]:
            lines.append(f"   dtype changed: {line}")
    if r.reference is not None:
        ref = r.reference
        lines.append(
            f"   versus {ref['compared_to']}: {'match' if ref['passed'] else 'DIFFER'} (max |diff| "
            f"{_g(ref['max_abs_error'])}, NaN differs in {ref['nan_mismatches']} places)"
        )

    fix = r.fix
    lines.append("4. the fix:")
    if fix.python is not None:
        lines.append("   embed the preprocessor into the model, in Python:")
        lines += [f"     {line}" for line in fix.python.splitlines()]
        lines.append(f"   or on the command line:\n     {fix.cli}")
        if fix.parity is not None:
            p = fix.parity
            lines.append(
                f"   parity of the result on these rows (saved, reloaded with safe_mode=True): "
                f"{'PASSED' if p['passed'] else 'FAILED'}, {p['rows']} rows, max abs error "
                f"{_g(p['max_abs_error'])}, NaN disagreements {p['nan_mismatches']}"
            )
            if fix.nonfinite_rows:
                lines.append(f"   the result still outputs NaN or Inf on {_rows(fix.nonfinite_rows, r.rows)}")
        if fix.error:
            lines.append(f"   {fix.error}")
    for advice in fix.advice:
        lines.append(f"   - {advice}")
    if fix.python is None and not fix.advice:
        lines.append("   nothing to fix." if r.healthy else "   see the problems above.")
    for note in r.notes:
        if note != fix.error:
            lines.append(f"note: {note}")
    return "\n".join(lines)


def unregistered_custom_objects(path: str | os.PathLike) -> list[str]:
    """Custom classes a ``.keras`` file names that are not registered in this process.

    Parameters
    ----------
    path : str or path-like
        A ``.keras`` archive.

    Returns
    -------
    list of str
        Registered names (``"package>Class"``) Keras will not find at load time; empty when
        the file is not a readable ``.keras`` archive (loading it then says why).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    customs, _ = _custom_objects(config)
    return sorted({name for name in customs if keras.saving.get_registered_object(name) is None})
