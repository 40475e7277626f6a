"""All parity cases, gathered from the per-family modules ``cases_*.py``.

A new converter adds its cases to the module of its family (or a new
``cases_<family>.py`` listed here); test_registry.py fails if a registered class
has none.
"""

from __future__ import annotations

from cases_discretize import CASES as DISCRETIZE
from cases_float32 import CASES as FIT_FLOAT32
from cases_missing import CASES as MISSING
from cases_nonlinear import CASES as NONLINEAR
from cases_numeric import CASES as NUMERIC
from cases_numeric import DATASETS, Case
from cases_tabular import CASES as TABULAR
from cases_text import CASES as TEXT

CASES: list[Case] = [*NUMERIC, *TABULAR, *DISCRETIZE, *NONLINEAR, *MISSING, *TEXT]

__all__ = ["CASES", "DATASETS", "FIT_FLOAT32", "Case"]
