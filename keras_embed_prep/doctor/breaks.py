"""Where the model breaks: the first layer that outputs NaN or Inf (and why), or, without NaN, the
first whose activations blow up or that unscaled columns dominate."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .case import Case, Feed
from .data import RawColumn, bad_rows, match, row_max_abs
from .findings import first_dense_on
from .report import Breakdown, ColumnFinding
from .trace import Run, Step, trace
from .words import LISTED, g, names, rows_of

#: Activations this many times larger than on preprocessed rows "blow up".
BLOW_UP = 10.0


def where_it_breaks(
    case: Case, fed: Feed, run: Run, findings: list[ColumnFinding]
) -> tuple[Breakdown | None, np.ndarray | None]:
    """The breakdown, and the rows whose input NaN reaches its layer (None unless that is the cause)."""
    flagged = {f.column: f.issue.replace("_", " ") for f in findings}
    found = _non_finite(run.steps, case.n, case.table, flagged, run.outputs)
    if found is not None:
        breakdown, rows = found
        return breakdown, (rows if breakdown.cause == "nan_in_inputs" else None)
    if not run.steps:
        return None, None
    if case.plain and fed.raw and fed.prepared is not None:
        try:
            reference_steps = trace(case.model, fed.prepared, case.n)
            return _blow_up(run.steps, reference_steps, case.n, case.table, flagged), None
        except Exception:  # noqa: BLE001 - the preprocessed run is evidence only
            return None, None
    if case.bare and not isinstance(fed.values, dict):
        return _dominated(run.steps, np.asarray(fed.values), case.n, findings), None
    return None, None


def _at(step: Step, kind: str, cause: str, rows: np.ndarray, detail: str, **more: Any) -> Breakdown:
    """A breakdown at ``step`` in the ``rows`` (a boolean row mask)."""
    listed = np.flatnonzero(rows)[:LISTED].tolist()
    return Breakdown(step.path, step.kind, kind, cause, int(rows.sum()), listed, detail, **more)


def _non_finite(
    steps: list[Step], n: int, table: list[RawColumn], flagged: dict[str, str], outputs: np.ndarray | None
) -> tuple[Breakdown, np.ndarray] | None:
    """The first step that creates NaN/Inf, or the first layer whose output holds some; and its bad rows."""
    for step in steps:
        bad = np.zeros(n, dtype=bool)
        for out in step.outputs:
            bad |= bad_rows(out, n)
        if not bad.any():
            continue
        bad_in = np.zeros(n, dtype=bool)
        for value in step.inputs:
            bad_in |= bad_rows(value, n)
        created = bad & ~bad_in
        if not (created.any() or step.is_layer):
            continue  # a keras.ops call passing on NaN it received: keep looking for the layer
        where = f"layer '{step.path}' ({step.kind}{', a custom layer' if step.custom else ''})"
        breakdown = _at(
            step, "non_finite", "nan_in_inputs", bad, "", input_columns=_input_columns(bad, table, flagged)
        )
        if created.any():
            breakdown.cause, breakdown.detail = _creation(step, created, n, table, where)
            breakdown.input_columns = [c for c in breakdown.input_columns if c["why"] not in ("NaN", "Inf")]
            breakdown.input_columns += _zero_columns(step, created, table)
        else:
            from_raw = [c for c in breakdown.input_columns if c["why"] in ("NaN", "Inf")]
            shown = ", ".join(f"'{c['column']}' is {c['why']} in {c['rows']}" for c in from_raw[:5])
            breakdown.detail = (
                f"{where} is the first to output NaN or Inf, in {rows_of(int(bad.sum()), n)}; "
                + (
                    f"the NaN comes from the inputs: {shown} of those rows"
                    if shown
                    else "its inputs already hold NaN or Inf in those rows"
                )
            )
        if outputs is not None:
            out_bad = int((bad_rows(outputs, n) & bad).sum())
            breakdown.output_rows = out_bad
            if out_bad < breakdown.rows:
                breakdown.detail += (
                    f". The model's outputs are NaN or Inf in only {out_bad} of these rows: a later layer "
                    "turns NaN into numbers (ReLU, max, ...), so the other predictions are silently wrong"
                )
        return breakdown, bad
    return None


def _columns_of(step_input: np.ndarray, table: list[RawColumn]) -> list[str]:
    """Names for the columns of a layer input: raw column names where the input is the raw data."""
    x = step_input.reshape(step_input.shape[0], -1)
    if x.shape[1] > 64:
        return [str(j) for j in range(x.shape[1])]
    return [(raw.name if raw is not None else f"input column {j}") for j, raw in enumerate(match(x, table))]


def _input_columns(bad: np.ndarray, table: list[RawColumn], flagged: dict[str, str]) -> list[dict[str, Any]]:
    """The raw columns behind the bad rows: NaN or Inf in them, or flagged as unprepared."""
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


def _zero_columns(step: Step, created: np.ndarray, table: list[RawColumn]) -> list[dict[str, Any]]:
    """Columns of the step's input that are 0 in the rows where it creates NaN/Inf, most rows first."""
    out = []
    for value in step.inputs:
        if value.dtype.kind not in "fc" or value.ndim == 0 or value.shape[0] != len(created):
            continue
        x = value.reshape(len(created), -1)
        zeros = (x[created] == 0).sum(axis=0)
        columns = _columns_of(value, table)
        for j in np.flatnonzero(zeros):
            out.append({"column": columns[j], "rows": int(zeros[j]), "why": "0 in the layer's input"})
    return sorted(out, key=lambda c: -c["rows"])


def _creation(step: Step, created: np.ndarray, n: int, table: list[RawColumn], where: str) -> tuple[str, str]:
    """Why a step turns finite inputs into NaN/Inf: the cause and the detail."""
    zeros = _zero_columns(step, created, table)
    count = int(created.sum())
    if zeros:
        always = [c["column"] for c in zeros if c["rows"] == count]
        if always:
            shown = f"{names(always)} {'is' if len(always) == 1 else 'are'} 0 in all of them"
        else:
            shown = ", ".join(f"'{c['column']}' is 0 in {c['rows']}" for c in zeros[:3]) + " of them"
        others = [c for c in zeros if c["column"] not in always]
        if always and others:
            shown += " (also " + ", ".join(f"'{c['column']}' in {c['rows']}" for c in others[:3]) + ")"
        return "division_by_zero", (
            f"{where} turns finite inputs into NaN or Inf in {rows_of(count, n)}: in those rows its input "
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
            f"{where} overflows float32 in {rows_of(count, n)}: its inputs reach {g(biggest)} in those rows"
        )
    return "created", f"{where} turns finite inputs into NaN or Inf in {rows_of(count, n)}"


def _dominated(steps: list[Step], fed: np.ndarray, n: int, findings: list[ColumnFinding]) -> Breakdown | None:
    """The first Dense layer, when columns that look unscaled dominate it."""
    dense = first_dense_on(steps, fed)
    unscaled = [f for f in findings if f.issue == "unscaled"]
    if dense is None or not unscaled:
        return None
    peak, what = _activity(dense, n)
    return _at(
        dense,
        "unscaled",
        "unscaled_inputs",
        np.ones(n, dtype=bool),
        (
            f"layer '{dense.path}' (Dense), the first to weigh the inputs, is dominated by {len(unscaled)} "
            f"column(s) that look unscaled: {names([f.column for f in unscaled])}"
            + (f"; its {what} reach {g(float(peak.max()))}" if peak is not None else "")
        ),
        input_columns=[{"column": f.column, "rows": f.rows, "why": "unscaled"} for f in unscaled],
        max_abs_output=float(peak.max()) if peak is not None else None,
    )


def _activity(step: Step, n: int) -> tuple[np.ndarray | None, str]:
    """Per row, the largest |activation| of a step: a Dense layer's pre-activation (before tanh
    or sigmoid squash it), any other layer's output."""
    if isinstance(step.op, keras.layers.Dense) and step.inputs and step.inputs[0].dtype.kind in "fc":
        kernel = np.asarray(keras.ops.convert_to_numpy(step.op.kernel), dtype=np.float64)
        with np.errstate(all="ignore"):
            pre = step.inputs[0].astype(np.float64) @ kernel
            if step.op.bias is not None:
                pre = pre + np.asarray(keras.ops.convert_to_numpy(step.op.bias), dtype=np.float64)
        return row_max_abs(pre, n), "pre-activations"
    return (row_max_abs(step.outputs[0], n) if step.outputs else None), "outputs"


def _blow_up(
    steps: list[Step], reference: list[Step], n: int, table: list[RawColumn], flagged: dict[str, str]
) -> Breakdown | None:
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
        return _at(
            step,
            "blow_up",
            "unscaled_inputs",
            blown,
            (
                f"layer '{step.path}' ({step.kind}) has {what} up to {g(mine)} on these rows, but at most "
                f"{g(usual)} on the same rows preprocessed ({g(mine / max(usual, 1e-12))} times larger), "
                f"in {rows_of(int(blown.sum()), n)}"
            ),
            input_columns=_input_columns(blown, table, flagged),
            max_abs_output=mine,
            reference_max_abs_output=usual,
        )
    return None
