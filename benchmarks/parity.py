"""The parity table: every parity case against scikit-learn, as markdown.

Run: ``python benchmarks/parity.py`` (writes benchmarks/results/parity.md). The
cases are the test suite's own (tests/cases_*.py); errors are measured as in
tests/test_parity.py: the converted model on float32 inputs against scikit-learn
on the same values, output rounded to float32.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import numpy as np  # noqa: E402
from conftest import fit_case, model_inputs, sklearn_reference  # noqa: E402
from parity_cases import CASES  # noqa: E402

from keras_embed_prep import to_keras  # noqa: E402
from keras_embed_prep.verify import compare  # noqa: E402


def main() -> int:
    rows, failed, started = [], 0, time.perf_counter()
    for case in CASES:
        estimator, X = fit_case(case)
        reference = sklearn_reference(estimator, X)
        model = to_keras(estimator)
        report = compare(np.asarray(model(model_inputs(X, model))), reference)
        failed += not report.passed
        rows.append(
            f"| {case.id} | {type(estimator).__name__} | {report.rows}x{reference.shape[1]} | "
            f"{report.max_abs_error.max(initial=0):.3g} | {report.max_rel_error.max(initial=0):.3g} | "
            f"{int(report.nan_mismatches.sum())} | {'pass' if report.passed else 'FAIL'} |"
        )
    table = "\n".join(
        [
            "# Parity of every case against scikit-learn",
            "",
            f"{len(CASES)} cases, {failed} failing; tolerance |ours - ref| <= 1e-6 + 1e-5 * |ref|, "
            f"NaN in the same places. Measured in {time.perf_counter() - started:.0f} s.",
            "",
            "| case | estimator | rows x outputs | max abs err | max rel err | NaN mismatches | |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    out = HERE / "results" / "parity.md"
    out.write_text(table)
    print(f"wrote {out}: {len(CASES)} cases, {failed} failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
