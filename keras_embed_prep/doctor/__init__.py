"""The doctor: why a Keras model predicts NaN or nonsense on some rows, and the fix (see docs/doctor.md)."""

from .report import Breakdown, ColumnFinding, DoctorReport, Fix, Problem, RoundTrip
from .roundtrip import unregistered_custom_objects
from .run import diagnose, diagnose_with_paths

__all__ = [
    "Breakdown",
    "ColumnFinding",
    "DoctorReport",
    "Fix",
    "Problem",
    "RoundTrip",
    "diagnose",
    "diagnose_with_paths",
    "unregistered_custom_objects",
]
