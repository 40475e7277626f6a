"""``verify``: the parity report of a converted model against scikit-learn itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import ShapeMismatchError
from .inputs import to_inputs

#: DESIGN.md's float32 tolerance: |ours - ref| <= ATOL + RTOL * |ref|, elementwise.
RTOL = 1e-5
ATOL = 1e-6
#: Values (rows x output columns) densified and compared at once. ``verify`` streams rows in chunks of
#: about this many values, so a wide output (a one-hot block of 200,000 categories) is never dense whole.
CHUNK_VALUES = 2**23


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

    @property
    def passed(self) -> bool:
        return not (self.nan_mismatches.any() or self.violations.any())

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "rtol": self.rtol,
            "atol": self.atol,
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

    def __str__(self) -> str:
        lines = [
            f"parity {'PASSED' if self.passed else 'FAILED'}: {self.rows} rows, "
            f"{len(self.columns)} output columns, tolerance |d| <= {self.atol:g} + {self.rtol:g}*|ref|",
            f"{'column':<24} {'max abs err':>12} {'max rel err':>12} {'NaN diff':>9} {'over tol':>9}",
        ]
        for c in self.to_dict()["columns"]:
            lines.append(
                f"{c['column'][:24]:<24} {c['max_abs_error']:>12.3g} {c['max_rel_error']:>12.3g} "
                f"{c['nan_mismatches']:>9d} {c['violations']:>9d}"
            )
        return "\n".join(lines)


def compare(
    ours: Any, reference: Any, *, rtol: float = RTOL, atol: float = ATOL, columns=None
) -> ParityReport:
    """Elementwise comparison of a float32 result with scikit-learn's reference.

    The reference is rounded to float32 first (a float32 output cannot do better);
    equal values (infinities included) count as zero error, NaN must be NaN in both.
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
    max_abs, max_rel = np.zeros(width), np.zeros(width)
    nan_mismatches, violations = np.zeros(width, dtype=np.int64), np.zeros(width, dtype=np.int64)
    # A column equal in every row (most of a wide one-hot block) has no error: the elementwise
    # arithmetic below runs on the other columns only. NaN is unequal to itself, so it stays below.
    check = np.flatnonzero(~(ours == ref).all(axis=0)) if atol >= 0 and rtol >= 0 else np.arange(width)
    if check.size:
        errors = _errors(ours[:, check].astype(np.float64), ref[:, check].astype(np.float64), rtol, atol)
        max_abs[check], max_rel[check], nan_mismatches[check], violations[check] = errors
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
    )


def _floats(values: Any) -> np.ndarray:
    """``values`` as a float array, float32 or float64 kept as they are (no copy)."""
    array = np.asarray(values)
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float64)


def _errors(ours: np.ndarray, ref: np.ndarray, rtol: float, atol: float):
    """Per column of float64 ``ours`` and float32-rounded ``ref``: max abs and rel error, NaN
    mismatches, values over tolerance."""
    nan_ours, nan_ref = np.isnan(ours), np.isnan(ref)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(ours == ref, 0.0, np.abs(ours - ref))
        rel = np.where(ref != 0, diff / np.abs(ref), np.where(diff == 0, 0.0, np.inf))
    both = ~(nan_ours | nan_ref)
    diff = np.where(both, diff, 0.0)
    rel = np.where(both, rel, 0.0)
    violations = diff > atol + rtol * np.where(both, np.abs(ref), 0.0)
    return (
        diff.max(axis=0, initial=0.0),
        rel.max(axis=0, initial=0.0),
        (nan_ours != nan_ref).sum(axis=0),
        violations.sum(axis=0),
    )


def as_served(X: Any) -> Any:
    """``X`` with numeric values rounded to float32, the values a converted model receives."""
    if isinstance(X, pd.DataFrame):
        out = X.copy()
        for name in out.columns:
            if pd.api.types.is_float_dtype(out[name]) or pd.api.types.is_integer_dtype(out[name]):
                out[name] = (
                    out[name]
                    .to_numpy(dtype=np.float64, na_value=np.nan)
                    .astype(np.float32)
                    .astype(np.float64)
                )
        return out
    array = np.asarray(X)
    if array.dtype.kind in "fiu":
        return array.astype(np.float32).astype(np.float64)
    return array


def reference_output(preprocessor: Any, X: Any) -> np.ndarray | sp.csr_matrix:
    """``preprocessor.transform`` on the float32-rounded rows a served model sees, float64.

    Sparse output stays sparse (CSR), so a wide one-hot block costs its nonzeros only;
    :func:`dense_rows` densifies a chunk of it.
    """
    out = preprocessor.transform(as_served(X))
    if sp.issparse(out):
        return sp.csr_matrix(out, dtype=np.float64)
    return np.asarray(out, dtype=np.float64)


def reference_transform(preprocessor: Any, X: Any) -> np.ndarray:
    """``preprocessor.transform`` on the float32-rounded rows a served model sees, dense float64."""
    return dense_rows(reference_output(preprocessor, X), slice(None))


def dense_rows(matrix: np.ndarray | sp.spmatrix, rows: slice, dtype: Any = np.float64) -> np.ndarray:
    """Rows ``rows`` of a dense or sparse 2-D matrix, as a dense array of ``dtype``."""
    part = matrix[rows]
    if sp.issparse(part):
        return part.astype(dtype, copy=False).toarray()
    return np.asarray(part, dtype=dtype)


def row_chunks(n_rows: int, width: int, batch_size: int = 4096) -> list[slice]:
    """Slices of ``n_rows`` rows, each at most ``batch_size`` rows and about :data:`CHUNK_VALUES`
    values at ``width`` columns (at least one row; one empty slice for no rows)."""
    step = max(1, min(batch_size, CHUNK_VALUES // max(1, width)))
    return [slice(start, start + step) for start in range(0, max(n_rows, 1), step)]


def _take(feeds: Any, rows: slice) -> Any:
    """Rows ``rows`` of what :func:`to_inputs` returned (an array, a tensor, or a dict of them)."""
    if isinstance(feeds, dict):
        return {name: value[rows] for name, value in feeds.items()}
    return feeds[rows]


def _output_width(keras_model: keras.Model) -> int:
    """The widest output of ``keras_model`` (1 where unknown)."""
    widths = [int(t.shape[-1]) if len(t.shape) > 1 and t.shape[-1] else 1 for t in keras_model.outputs]
    return max(widths, default=1)


def verify(
    preprocessor: Any,
    keras_model: keras.Model,
    X: Any,
    *,
    model: keras.Model | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    batch_size: int = 4096,
) -> ParityReport:
    """Check a converted model against scikit-learn on data ``X``.

    Without ``model``, ``keras_model`` is the output of :func:`to_keras` and is
    compared with ``preprocessor.transform(X)``. With ``model`` (the original Keras
    model), ``keras_model`` is the output of :func:`embed` and is compared with
    ``model(preprocessor.transform(X))``.

    Both sides see the same values: converted models take float32 inputs, so the
    reference is computed on ``X`` rounded to float32 (see :func:`as_served`).

    Rows are compared in chunks of at most ``batch_size`` rows and about
    :data:`CHUNK_VALUES` output values, against scikit-learn's output kept sparse
    where it is sparse: memory stays bounded on wide one-hot outputs, and the
    report is the same as for one comparison of all rows.

    Returns
    -------
    ParityReport
        ``report.passed``, per-column errors, ``str(report)`` prints a table.
    """
    feeds = to_inputs(X, keras_model)
    reference = reference_output(preprocessor, X)
    n_rows, width = reference.shape
    columns = None
    if model is None and hasattr(preprocessor, "get_feature_names_out"):
        try:
            columns = [str(c) for c in preprocessor.get_feature_names_out()]
        except (AttributeError, TypeError, ValueError):  # names are cosmetic; some steps have none
            columns = None
    report = None
    for rows in row_chunks(n_rows, max(width, _output_width(keras_model)), batch_size):
        ours = keras_model.predict_on_batch(_take(feeds, rows))
        # float32: what compare rounds scikit-learn's output to, and what the original model takes.
        expected = dense_rows(reference, rows, np.float32)
        if model is not None:
            expected = model.predict_on_batch(expected)
        part = compare(ours, expected, rtol=rtol, atol=atol, columns=columns)
        # Merged as it goes: one report per chunk kept until the end would cost chunks x columns.
        report = part if report is None else merge_reports([report, part])
    return report


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
    )
