"""``diagnose``: the doctor's phases in order, each returning what the next ones read."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import keras

from ..errors import ShapeMismatchError
from ..io import quote_error
from ..verify import ParityReport, compare, verify
from .advice import advice, problems
from .breaks import where_it_breaks
from .case import Case, Feed, check_case, feed
from .findings import unimputed, unprepared
from .fix import Paths, embed_fix
from .report import DoctorReport, Fix
from .roundtrip import round_trip
from .trace import Run, predict, run_model


def diagnose(
    model: keras.Model,
    X: Any,
    *,
    preprocessor: Any = None,
    reference_model: keras.Model | None = None,
) -> DoctorReport:
    """Explain why ``model`` predicts NaN or nonsense on ``X``, and how to fix it.

    Parameters
    ----------
    model : keras.Model
        The model as served: a plain model (trained on ``preprocessor.transform(X)``), or
        one that embeds its preprocessing (e.g. from :func:`embed`), typically just loaded.
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        Raw rows, as the model (or the preprocessor) receives them. A sample of a few
        thousand rows is enough; every layer's output is kept in memory.
    preprocessor : fitted scikit-learn transformer, optional
        The preprocessing the model was trained behind. Its statistics decide which raw
        values lie far outside the fitted data; when ``model`` does not embed it, the
        report proposes :func:`embed` and measures the parity it reaches on ``X``.
    reference_model : keras.Model, optional
        Outputs ``model`` should reproduce: the same model before it was saved (same
        inputs), or, for a ``model`` that embeds ``preprocessor``, the original model that
        takes ``preprocessor.transform(X)``.

    Returns
    -------
    DoctorReport
        ``report.healthy``; ``print(report)`` explains; ``report.to_dict()`` is JSON (the
        schema is on the Doctor page of the documentation).

    Raises
    ------
    UnsupportedEstimatorError
        ``model`` is not a ``keras.Model``, or ``preprocessor`` is not a transformer.
    NotFittedError
        ``preprocessor`` is not fitted.
    InputError
        ``X`` lacks columns the preprocessor or the model takes, has the wrong width, or
        has no rows.
    ShapeMismatchError
        The preprocessor's output width differs from the model's input width, or
        ``reference_model`` takes neither the model's inputs nor the preprocessor's outputs.

    Examples
    --------
    >>> model = keras.saving.load_model("model.keras")            # doctest: +SKIP
    >>> print(diagnose(model, X_raw, preprocessor=scaler))        # doctest: +SKIP
    """
    return diagnose_with_paths(model, X, preprocessor, reference_model)


def diagnose_with_paths(
    model: keras.Model,
    X: Any,
    preprocessor: Any,
    reference_model: keras.Model | None,
    *,
    model_path: str | None = None,
    preprocessor_path: str | None = None,
    load_options: str = "",
) -> DoctorReport:
    """:func:`diagnose`, with the file names (and loading flags) the fix's call and command show.

    The command line's ``doctor`` calls this; ``load_options`` are its ``--trust``/``--allow-pickle``
    flags as written on the command line (e.g. ``" --allow-pickle"``).
    """
    with _quiet():
        paths = Paths(model_path, preprocessor_path, load_options)
        return _run(model, X, preprocessor, reference_model, paths)


@contextlib.contextmanager
def _quiet():
    """Silence TensorFlow's retracing warnings: every probe model is a new function, on purpose."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _run(model: Any, X: Any, preprocessor: Any, reference_model: Any, paths: Paths) -> DoctorReport:
    case = check_case(model, X, preprocessor)
    fed = feed(case)
    run = run_model(case.model, fed.values, case.n)
    findings, notes = unprepared(case, fed, run)
    breakdown, nan_rows = where_it_breaks(case, fed, run, findings)
    findings += unimputed(case, fed, run, breakdown, nan_rows)
    roundtrip = round_trip(case.model, fed.values, run.outputs, case.n)
    reference = _reference(case, reference_model, fed, run)
    not_applied = _not_applied(case, fed, run)
    fix = embed_fix(case.model, case.preprocessor, case.X, paths) if case.plain else Fix()
    report = DoctorReport(
        model=case.model.name,
        rows=case.n,
        columns=[c.name for c in case.table],
        preprocessor=type(preprocessor).__name__ if preprocessor is not None else None,
        embedded=case.embedded,
        breakdown=breakdown,
        refused=run.refused,
        unprepared=findings,
        roundtrip=roundtrip,
        reference=reference,
        fix=fix,
        notes=[*fed.notes, *notes, *([fix.error] if fix.error else [])],
    )
    report.problems = problems(report, fed.cannot_take, not_applied)
    report.fix.advice = advice(report)
    return report


def _reference(case: Case, reference_model: keras.Model | None, fed: Feed, run: Run) -> dict[str, Any] | None:
    """``model`` against ``reference_model``: on the same inputs, or, for a model that embeds the
    preprocessor, against ``reference_model(preprocessor.transform(X))``."""
    if reference_model is None or run.outputs is None:
        return None
    if case.embedded and case.preprocessor is not None:
        report = verify(case.preprocessor, case.model, case.X, model=reference_model)
        compared_to = f"{reference_model.name}({type(case.preprocessor).__name__}.transform(X))"
    else:
        try:
            expected = predict(reference_model, fed.values, case.n)
        except Exception as exc:  # noqa: BLE001 - any failure means it takes other inputs
            raise ShapeMismatchError(
                f"reference_model {reference_model.name!r} does not take the inputs of model "
                f"{case.model.name!r} ({quote_error(exc)}). Pass the model before saving, or, for a model "
                "that embeds the preprocessor, the original model together with preprocessor=."
            ) from exc
        report = compare(run.outputs, expected)
        compared_to = f"{reference_model.name} on the same inputs"
    return {
        "compared_to": compared_to,
        "passed": report.passed,
        "max_abs_error": float(report.max_abs_error.max(initial=0.0)),
        "nan_mismatches": int(report.nan_mismatches.sum()),
    }


def _not_applied(case: Case, fed: Feed, run: Run) -> ParityReport | None:
    """The model on the raw rows against the model on the preprocessed rows (a plain model fed raw rows)."""
    if not (case.plain and fed.raw and fed.prepared is not None and run.outputs is not None):
        return None
    return compare(run.outputs, predict(case.model, fed.prepared, case.n))
