"""Float32-fitted variants of the numeric parity cases: each family fitted on float32 data.

An estimator fitted on float32 data may keep float32 attributes (PCA's ``mean_`` and
``components_``, ...) and compute with them in float32 where they alone decide the
result (PCA's projected mean and whitening clip; SimpleImputer rounds its statistics to
the fitted dtype); the converted model must do the same. They change fitted constants, not
the graph, so test_parity.py checks them and the round trips do not.
"""

from __future__ import annotations

import numpy as np
from cases_discretize import CASES as DISCRETIZE
from cases_nonlinear import CASES as NONLINEAR
from cases_numeric import CASES as NUMERIC
from cases_numeric import Case


def _float32(case: Case) -> Case:
    def data():
        fit, test = case.dataset()
        return fit.astype(np.float32), test.astype(np.float32)

    return Case(f"{case.id}-fit-float32", case.make, data, fit_y=case.fit_y)


#: scikit-learn's own fit fails on these in float32: scipy's Yeo-Johnson bracket search, and
#: and IterativeImputer, whose BayesianRidge fits see NaN on these float32 datasets (fit raises).
_SKLEARN_CANNOT_FIT = ("power-yeo-johnson", "iterative")


def _numeric_arrays(cases: list[Case]) -> list[Case]:
    return [
        c
        for c in cases
        if c.failing_rows is None
        and not c.id.startswith(_SKLEARN_CANNOT_FIT)
        and isinstance(c.dataset()[0], np.ndarray)
    ]


CASES: list[Case] = [_float32(c) for c in _numeric_arrays([*NUMERIC, *DISCRETIZE, *NONLINEAR])]
