"""Inputs that look unprepared: raw columns far from the fitted statistics, unseen categories,
columns fed unscaled, and NaN that nothing imputes."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pandas as pd

from ..columns import MISSING
from ..convert import to_keras
from ..errors import KerasEmbedPrepError
from ..inputs import to_inputs
from .case import Case, Feed
from .data import RawColumn, as_text, bad_rows, match
from .report import Breakdown, ColumnFinding
from .sites import Site, sites, trace_sites
from .trace import Run, Step, refusal
from .words import g, rows_of

#: A raw value this many fitted scales (or, for min-max steps, fitted ranges) away is "far outside".
FAR = 10.0


def unprepared(case: Case, fed: Feed, run: Run) -> tuple[list[ColumnFinding], list[str]]:
    """All column findings but NaN (which needs to know where it goes), and notes on what was not read."""
    if case.embedded:
        site_steps = run.steps
        if run.refused is not None:
            try:
                site_steps = trace_sites(case.model, fed.values, case.n)
            except Exception:  # noqa: BLE001 - the refusal is already reported
                site_steps = []
        return site_findings(sites(site_steps), case.table, "embedded graph"), []
    if case.preprocessor is not None:
        return _versus_preprocessor(case, fed)
    if isinstance(fed.values, dict):
        return [], []
    dense = first_dense_on(run.steps, np.asarray(fed.values))
    if dense is None:
        return [], []
    return _unscaled_vs_dense(dense, np.asarray(fed.values, dtype=np.float64), case.table), []


def unimputed(
    case: Case, fed: Feed, run: Run, breakdown: Breakdown | None, nan_rows: np.ndarray | None
) -> list[ColumnFinding]:
    """Raw NaN that nothing imputes: it reaches the preprocessor's output, the model's outputs, or
    the layer where the model breaks (``nan_rows``: the rows whose input NaN reached that layer)."""
    if case.plain:
        error = fed.transform_error
        nan_refused = error if error and "NaN" in error else None
        reached = bad_rows(fed.prepared, len(fed.prepared)) if fed.prepared is not None else None
        return _nan_findings(case.table, reached, "preprocessor output", refused=nan_refused)
    if run.outputs is None:
        return []
    reached = bad_rows(run.outputs, case.n)
    if nan_rows is not None:
        reached |= nan_rows
    where = f"layer '{breakdown.layer}'" if breakdown is not None else "model outputs"
    return _nan_findings(case.table, reached, where)


def _versus_preprocessor(case: Case, fed: Feed) -> tuple[list[ColumnFinding], list[str]]:
    """Raw values against the preprocessor's statistics, and columns fed without it."""
    findings, notes = [], []
    try:
        pre_model = to_keras(case.preprocessor)
        pre_steps = trace_sites(pre_model, to_inputs(case.X, pre_model), case.n)
        findings += site_findings(sites(pre_steps), case.table, "preprocessor")
    except KerasEmbedPrepError as exc:
        notes.append(f"fitted statistics not read: {' '.join(str(exc).split())}")
    except Exception as exc:  # noqa: BLE001 - e.g. the converted preprocessor refuses a row
        notes.append(f"fitted statistics not read ({refusal(exc)})")
    if fed.raw and fed.prepared is not None:
        values = np.asarray(fed.values, dtype=np.float64)
        names = _feature_names(case.preprocessor, values.shape[1], case.table)
        findings += _unscaled_vs_preprocessor(values, fed.prepared.astype(np.float64), names, case.table)
    return findings, notes


def site_findings(found: list[Site], table: list[RawColumn], source: str) -> list[ColumnFinding]:
    """Raw columns far outside the fitted statistics, and unseen categories."""
    findings, done = [], set()
    for site in found:
        if site.x.ndim == 0 or site.x.shape[0] == 0:
            continue
        x = site.x.reshape(site.x.shape[0], -1)
        for j, raw in enumerate(match(x, table)):
            if raw is None or (raw.name, site.kind == "lookup") in done:
                continue
            done.add((raw.name, site.kind == "lookup"))
            if site.kind == "lookup":
                finding = _unseen(raw, as_text(x[:, j]), site, source)
            else:
                finding = _far(raw, site, j, source)
            if finding is not None:
                findings.append(finding)
    return findings


def _far(raw: RawColumn, site: Site, j: int, source: str) -> ColumnFinding | None:
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
        stats = f"the min-max step {step} was fitted on [{g(lo)}, {g(hi)}]"
        unit = "fitted ranges"
    else:
        center = 0.0 if site.center is None else float(site.center[j])
        scale = float(site.scale[j]) if site.scale is not None else 1.0
        what = "Normalization layer" if site.kind == "normalization" else "scaling step"
        stats = f"the {what} {step} has fitted center {g(center)} and scale {g(scale)}"
        unit = "fitted scales"
    detail = (
        f"'{raw.name}': {rows_of(int(far.sum()), len(z))} lie more than {FAR:g} {unit} from what the "
        f"preprocessor saw at fit ({stats}; values such as {', '.join(g(v) for v in examples[:3])} "
        f"are up to {g(float(np.nanmax(np.where(far, distance, np.nan))))} {unit} away)"
    )
    return ColumnFinding(raw.name, "far_outside_fit", int(far.sum()), source, detail, examples)


def _unseen(raw: RawColumn, values: np.ndarray, site: Site, source: str) -> ColumnFinding | None:
    unseen = np.array([v not in site.vocabulary for v in values], dtype=bool)
    if not unseen.any():
        return None
    counts = pd.Series(values[unseen]).value_counts()
    shown = ", ".join(f"{'missing' if k == MISSING else repr(k)} ({v})" for k, v in counts.head(5).items())
    detail = (
        f"'{raw.name}': {rows_of(int(unseen.sum()), len(values))} hold categories not seen at fit: {shown}"
    )
    return ColumnFinding(
        raw.name, "unseen_category", int(unseen.sum()), source, detail, counts.index[:5].tolist()
    )


def _feature_names(preprocessor: Any, width: int, table: list[RawColumn]) -> list[str]:
    try:
        names = [str(c) for c in preprocessor.get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        names = []
    if len(names) != width:
        names = [table[j].name if j < len(table) else str(j) for j in range(width)]
    return names


def _unscaled_vs_preprocessor(
    fed: np.ndarray, prepared: np.ndarray, names: list[str], table: list[RawColumn]
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
            f"'{name}' is fed to the model as is (median {g(float(np.median(a)))}), but the model was "
            f"trained on the preprocessor's output for it (median {g(float(np.median(b)))}, spread "
            f"{g(spread)}): {g(gap)} spreads away, probably unscaled"
        )
        findings.append(
            ColumnFinding(name, "unscaled", int(a.size), "preprocessor", detail, [float(v) for v in a[:5]])
        )
    return findings


def first_dense_on(steps: list[Step], fed: np.ndarray) -> Step | None:
    """The first ``Dense`` layer, if it reads the rows as fed."""
    for step in steps:
        if isinstance(step.op, keras.layers.Dense):
            x = step.inputs[0] if step.inputs else None
            if x is not None and x.shape == fed.shape and np.array_equal(x, fed, equal_nan=True):
                return step
            return None
    return None


def _unscaled_vs_dense(step: Step, fed: np.ndarray, table: list[RawColumn]) -> list[ColumnFinding]:
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
            f"'{name}': median |x| is {g(typical)}; the first Dense layer '{step.path}' gives it weights "
            f"up to {g(weight)}, so it adds about {g(contribution)} to a unit's pre-activation, where "
            f"unit-scale inputs give about {g(unit)} (|bias| up to {g(float(np.abs(bias).max(initial=0)))})"
            ": probably unscaled"
        )
        findings.append(
            ColumnFinding(
                name, "unscaled", int(column.size), "first Dense layer", detail, column[:5].tolist()
            )
        )
    return findings


def _nan_findings(
    table: list[RawColumn], reached: np.ndarray | None, where: str, refused: str | None = None
) -> list[ColumnFinding]:
    """Raw numeric columns whose NaN goes where it should not.

    ``reached``: the rows where NaN reached ``where``; ``refused``: the preprocessor's error on NaN.
    """
    findings = []
    source = "preprocessor" if where == "preprocessor output" else "model"
    for raw in table:
        if raw.text:
            continue
        nan = np.isnan(raw.values)
        if not nan.any():
            continue
        if refused is not None:
            rows = int(nan.sum())
            detail = (
                f"'{raw.name}': NaN in {rows_of(rows, len(nan))}, which the preprocessor refuses ({refused})"
            )
        else:
            hit = nan & reached if reached is not None else np.zeros_like(nan)
            if not hit.any():
                continue
            rows = int(hit.sum())
            detail = (
                f"'{raw.name}': NaN in {rows_of(int(nan.sum()), len(nan))} and nothing imputes it: "
                f"it reaches the {where} in {rows} of them"
            )
        findings.append(ColumnFinding(raw.name, "nan_without_imputer", rows, source, detail, []))
    return findings
