"""The doctor's report: its dataclasses and their JSON form (the schema is on the Doctor docs page)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .render import render


@dataclass
class Breakdown:
    """Where the model breaks: the first failing layer."""

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
        """The report as JSON-ready Python objects (schema: the Doctor docs page)."""
        return _jsonable({"healthy": self.healthy, **asdict(self)})

    def __str__(self) -> str:
        return render(self)


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, non-finite floats as None, bytes decoded."""
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
