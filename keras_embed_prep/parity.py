"""The parity report and the elementwise comparison behind it (float32 tolerance, NaN agreement)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ShapeMismatchError

#: DESIGN.md's float32 tolerance: |ours - ref| <= ATOL + RTOL * |ref|, elementwise.
RTOL = 1e-5
ATOL = 1e-6


@dataclass
class ParityReport:
    """Per output column: max absolute and relative error, NaN agreement; overall pass/fail."""

    rows: int
    max_abs_error: np.ndarray
    max_rel_error: np.ndarray
    nan_mismatches: np.ndarray
    violations: np.ndarray
    rtol: float
    atol: float
    columns: list[str] = field(default_factory=list)
    #: Per column, the largest ``|d| / tolerance`` (above 1 is a violation); None where not computed.
    worst_ratio: np.ndarray | None = None
    #: True when the tolerance includes the network's float32 rounding bound (see ``bounds``).
    bounded: bool = False
    #: The preprocessing boundary's own report (the tensor the user's model receives), if checked.
    preprocessing: ParityReport | None = None
    #: Why a part was checked as it was (a layer the bound does not cover, ...).
    note: str = ""

    @property
    def passed(self) -> bool:
        own = not (self.nan_mismatches.any() or self.violations.any())
        return own and (self.preprocessing is None or self.preprocessing.passed)

    def worst(self) -> int:
        """The column to name: a NaN mismatch, else the violation furthest over, else the largest error."""
        if not len(self.max_abs_error):
            return 0
        size = self.worst_ratio if self.worst_ratio is not None else self.max_abs_error
        bad = self.violations + self.nan_mismatches
        if bad.any():
            size = np.where(self.nan_mismatches > 0, np.inf, np.where(bad > 0, size, -np.inf))
        return int(np.argmax(size))

    def to_dict(self) -> dict[str, Any]:
        out = {
            "passed": self.passed,
            "rows": self.rows,
            "rtol": self.rtol,
            "atol": self.atol,
            "bounded": self.bounded,
            "worst_ratio": None if self.worst_ratio is None else float(self.worst_ratio.max(initial=0.0)),
            "max_abs_error": float(self.max_abs_error.max(initial=0.0)),
            "max_rel_error": float(self.max_rel_error.max(initial=0.0)),
            "columns": [
                {
                    "column": c,
                    "max_abs_error": float(a),
                    "max_rel_error": float(r),
                    "nan_mismatches": int(n),
                    "violations": int(v),
                }
                for c, a, r, n, v in zip(
                    self.columns,
                    self.max_abs_error,
                    self.max_rel_error,
                    self.nan_mismatches,
                    self.violations,
                    strict=True,
                )
            ],
        }
        if self.note:
            out["note"] = self.note
        if self.preprocessing is not None:
            out["preprocessing"] = self.preprocessing.to_dict()
        return out

    def __str__(self) -> str:
        bound = " + float32 rounding bound of the network" if self.bounded else ""
        lines = []
        if self.preprocessing is not None:
            pre = self.preprocessing
            k = pre.worst()
            lines.append(
                f"preprocessing {'PASSED' if pre.passed else 'FAILED'}: {len(pre.columns)} columns, worst "
                f"{pre.columns[k] if pre.columns else '-'} at {_ratio(pre, k)} of |d| <= {pre.atol:g} + "
                f"{pre.rtol:g}*|ref|"
            )
        lines += [
            f"parity {'PASSED' if self.passed else 'FAILED'}: {self.rows} rows, "
            f"{len(self.columns)} output columns, "
            f"tolerance |d| <= {self.atol:g} + {self.rtol:g}*|ref|{bound}",
            f"{'column':<24} {'max abs err':>12} {'max rel err':>12} {'NaN diff':>9} {'over tol':>9}",
        ]
        for c in self.to_dict()["columns"]:
            lines.append(
                f"{c['column'][:24]:<24} {c['max_abs_error']:>12.3g} {c['max_rel_error']:>12.3g} "
                f"{c['nan_mismatches']:>9d} {c['violations']:>9d}"
            )
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


def _ratio(report: ParityReport, k: int) -> str:
    """``worst_ratio`` of column ``k`` as text ("0.31x")."""
    if report.worst_ratio is None or not len(report.worst_ratio):
        return "-"
    return f"{report.worst_ratio[k]:.3g}x"


def compare(
    ours: Any,
    reference: Any,
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    columns=None,
    bound: Any = None,
) -> ParityReport:
    """Elementwise comparison of a float32 result with scikit-learn's reference.

    The reference is rounded to float32 first (a float32 output cannot do better);
    equal values (infinities included) count as zero error, NaN must be NaN in both.
    ``bound`` (same shape, optional) widens each value's tolerance by the float32 rounding
    bound of a network's arithmetic (:func:`keras_embed_prep.bounds.network_bound`).
    """
    ours = _floats(ours)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = _floats(reference).astype(np.float32, copy=False)
    if ours.ndim == 1:
        ours = ours[:, None]
    if ref.ndim == 1:
        ref = ref[:, None]
    if ours.shape != ref.shape:
        raise ShapeMismatchError(
            f"The converted model returned shape {ours.shape}, scikit-learn {ref.shape}."
        )
    n_rows, width = ours.shape
    if bound is not None:
        bound = np.asarray(bound, dtype=np.float64).reshape(ours.shape)
    max_abs, max_rel, ratio = np.zeros(width), np.zeros(width), np.zeros(width)
    nan_mismatches, violations = np.zeros(width, dtype=np.int64), np.zeros(width, dtype=np.int64)
    # A column equal in every row (most of a wide one-hot block) has no error: the elementwise
    # arithmetic below runs on the other columns only. NaN is unequal to itself, so it stays below.
    check = np.flatnonzero(~(ours == ref).all(axis=0)) if atol >= 0 and rtol >= 0 else np.arange(width)
    if check.size:
        errors = _errors(
            ours[:, check].astype(np.float64),
            ref[:, check].astype(np.float64),
            rtol,
            atol,
            None if bound is None else bound[:, check],
        )
        max_abs[check], max_rel[check], nan_mismatches[check], violations[check], ratio[check] = errors
    if columns is None or len(columns) != ours.shape[1]:
        columns = [str(i) for i in range(ours.shape[1])]
    return ParityReport(
        rows=n_rows,
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        nan_mismatches=nan_mismatches,
        violations=violations,
        rtol=rtol,
        atol=atol,
        columns=list(columns),
        worst_ratio=ratio,
        bounded=bound is not None,
    )


def _floats(values: Any) -> np.ndarray:
    """``values`` as a float array, float32 or float64 kept as they are (no copy)."""
    array = np.asarray(values)
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float64)


def _errors(ours: np.ndarray, ref: np.ndarray, rtol: float, atol: float, bound=None):
    """Per column of float64 ``ours`` and float32-rounded ``ref``: max abs and rel error, NaN
    mismatches, values over tolerance, and the largest ``|d| / tolerance``."""
    nan_ours, nan_ref = np.isnan(ours), np.isnan(ref)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(ours == ref, 0.0, np.abs(ours - ref))
        rel = np.where(ref != 0, diff / np.abs(ref), np.where(diff == 0, 0.0, np.inf))
    both = ~(nan_ours | nan_ref)
    diff = np.where(both, diff, 0.0)
    rel = np.where(both, rel, 0.0)
    tolerance = atol + rtol * np.where(both, np.abs(ref), 0.0)
    if bound is not None:
        tolerance = tolerance + bound
    violations = diff > tolerance
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / tolerance)
    return (
        diff.max(axis=0, initial=0.0),
        rel.max(axis=0, initial=0.0),
        (nan_ours != nan_ref).sum(axis=0),
        violations.sum(axis=0),
        ratio.max(axis=0, initial=0.0),
    )


def merge_reports(reports: Iterable[ParityReport]) -> ParityReport:
    """One report for data checked in parts (e.g. chunks of rows), as if checked at once.

    Rows, NaN mismatches and tolerance violations add up; maximum errors take the
    maximum over the parts, column by column.

    Parameters
    ----------
    reports : iterable of ParityReport
        Reports over the same output columns and tolerances.

    Returns
    -------
    ParityReport
        With the columns of the first report.

    Raises
    ------
    ShapeMismatchError
        The reports differ in their number of output columns.
    ValueError
        No reports, or reports with different tolerances.
    """
    reports = list(reports)
    if not reports:
        raise ValueError("merge_reports needs at least one ParityReport. Received none.")
    first = reports[0]
    for other in reports[1:]:
        if len(other.max_abs_error) != len(first.max_abs_error):
            raise ShapeMismatchError(
                f"Cannot merge parity reports over {len(first.max_abs_error)} and "
                f"{len(other.max_abs_error)} output columns. Merge reports of the same model only."
            )
        if (other.rtol, other.atol) != (first.rtol, first.atol):
            raise ValueError(
                f"Cannot merge parity reports with tolerances (rtol={first.rtol}, atol={first.atol}) "
                f"and (rtol={other.rtol}, atol={other.atol}). Check every part with the same tolerances."
            )
    return ParityReport(
        rows=sum(r.rows for r in reports),
        max_abs_error=np.max([r.max_abs_error for r in reports], axis=0),
        max_rel_error=np.max([r.max_rel_error for r in reports], axis=0),
        nan_mismatches=np.sum([r.nan_mismatches for r in reports], axis=0),
        violations=np.sum([r.violations for r in reports], axis=0),
        rtol=first.rtol,
        atol=first.atol,
        columns=list(first.columns),
        worst_ratio=None
        if any(r.worst_ratio is None for r in reports)
        else np.max([r.worst_ratio for r in reports], axis=0),
        bounded=first.bounded,
        preprocessing=None
        if any(r.preprocessing is None for r in reports)
        else merge_reports(r.preprocessing for r in reports),
        note="; ".join(dict.fromkeys(r.note for r in reports if r.note)),
    )
