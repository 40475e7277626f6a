"""All parity cases, gathered from the per-family modules ``cases_*.py``.

A new converter adds its cases to the module of its family (or a new
``cases_<family>.py`` listed here); test_registry.py fails if a registered class
has none.
"""

from __future__ import annotations

from cases_category_encoders import CASES as CATEGORY_ENCODERS
from cases_category_encoders import ROUND_TRIP as CATEGORY_ENCODERS_ROUND_TRIP
from cases_discretize import CASES as DISCRETIZE
from cases_feature_engine import CASES as FEATURE_ENGINE
from cases_feature_engine import ROUND_TRIP as FEATURE_ENGINE_ROUND_TRIP
from cases_float32 import CASES as FIT_FLOAT32
from cases_knn import CASES as KNN
from cases_knn import ROUND_TRIP as KNN_ROUND_TRIP
from cases_missing import CASES as MISSING
from cases_nonlinear import CASES as NONLINEAR
from cases_numeric import CASES as NUMERIC
from cases_numeric import DATASETS, Case
from cases_tabular import CASES as TABULAR
from cases_text import CASES as TEXT

#: Families whose cases are checked for transform parity only, but for the one each names for
#: the round trips (test_roundtrip.py replays every case of CASES in fresh processes).
_LEAN = [
    (KNN, KNN_ROUND_TRIP),
    (CATEGORY_ENCODERS, CATEGORY_ENCODERS_ROUND_TRIP),
    (FEATURE_ENGINE, FEATURE_ENGINE_ROUND_TRIP),
]

CASES: list[Case] = [*NUMERIC, *TABULAR, *DISCRETIZE, *NONLINEAR, *MISSING, *TEXT] + [
    c for cases, pick in _LEAN for c in cases if c.id == pick
]
#: Checked by test_parity.py (and counted by test_registry.py), not round-tripped.
PARITY_ONLY: list[Case] = [c for cases, pick in _LEAN for c in cases if c.id != pick]

__all__ = ["CASES", "DATASETS", "FIT_FLOAT32", "PARITY_ONLY", "Case"]
