"""Problems and advice: what is wrong, in the documented order of problem codes, and what to do about
each cause found."""

from __future__ import annotations

from ..verify import ParityReport
from .findings import FAR
from .report import ColumnFinding, DoctorReport, Problem
from .words import g, names

#: How a group of column findings reads.
_ISSUES = {
    "far_outside_fit": f"lie more than {FAR:g} fitted scales from the data the preprocessor was fitted on",
    "unscaled": "look unscaled",
    "nan_without_imputer": "hold NaN that nothing imputes",
    "unseen_category": "hold categories not seen at fit",
}


def problems(
    report: DoctorReport, cannot_take: str | None, not_applied: ParityReport | None
) -> list[Problem]:
    """The problems of a report, causes first: ``cannot_take`` why the model cannot take the raw rows,
    ``not_applied`` the model on the raw rows compared with it on the preprocessed rows."""
    problems = []
    if cannot_take is not None:
        problems.append(
            Problem(
                "cannot_take_raw_rows",
                f"the model cannot take the raw rows: {cannot_take} It takes "
                f"{report.preprocessor}.transform(X); the rest of this report runs it on that.",
            )
        )
    if report.refused is not None:
        problems.append(Problem("model_refused_rows", f"the model refuses the rows: {report.refused}"))
    if not_applied is not None and not not_applied.passed:
        problems.append(
            Problem(
                "preprocessor_not_applied",
                f"the {report.preprocessor} is not applied (the model does not embed it): fed the raw rows, "
                f"its outputs differ from model({report.preprocessor}.transform(X)) by up to "
                f"{g(float(not_applied.max_abs_error.max(initial=0.0)))}"
                + (
                    f" and in NaN in {int(not_applied.nan_mismatches.sum())} places"
                    if not_applied.nan_mismatches.any()
                    else ""
                ),
            )
        )
    groups: dict[str, list[ColumnFinding]] = {}
    for finding in report.unprepared:
        groups.setdefault(finding.issue, []).append(finding)
    for issue, found in groups.items():
        message = found[0].detail
        if len(found) > 1:
            message = (
                f"{len(found)} columns ({names([f.column for f in found])}) {_ISSUES[issue]}; for example "
                + message
            )
        problems.append(Problem(issue, message))
    b = report.breakdown
    if b is not None:
        code = "non_finite_outputs" if b.kind == "non_finite" else "activations_blow_up"
        problems.append(Problem(code, b.detail))
    trip = report.roundtrip
    if not trip.saved:
        problems.append(Problem("save_failed", f"the model cannot be saved: {trip.error}"))
    else:
        if trip.missing_custom_objects:
            problems.append(
                Problem(
                    "missing_custom_objects",
                    f"the saved file needs custom objects {trip.missing_custom_objects} that are not "
                    "registered here, so it does not load",
                )
            )
        if trip.needs_unsafe_mode:
            lambdas = f" (Lambda layers {trip.lambda_layers})" if trip.lambda_layers else ""
            problems.append(
                Problem(
                    "needs_unsafe_mode",
                    f"the saved file loads only with safe_mode=False{lambdas}: {trip.error}",
                )
            )
        elif trip.safe_mode is False:
            problems.append(Problem("load_failed", f"the saved file does not load: {trip.error}"))
        if trip.failed_layers:
            problems.append(
                Problem("layers_not_restored", f"after save/load: {'; '.join(trip.failed_layers[:5])}")
            )
        if trip.dtype_changes:
            problems.append(Problem("dtype_changed", f"after save/load: {'; '.join(trip.dtype_changes[:5])}"))
        if trip.outputs_match is False:
            where = f", first at layer '{trip.drift_layer}'" if trip.drift_layer else ""
            problems.append(
                Problem(
                    "roundtrip_drift",
                    f"outputs change after save/load: max |diff| {g(trip.max_abs_diff)}, NaN differs in "
                    f"{trip.nan_mismatches} places{where}" + (f" ({trip.error})" if trip.error else ""),
                )
            )
    if report.reference is not None and not report.reference["passed"]:
        ref = report.reference
        problems.append(
            Problem(
                "reference_mismatch",
                f"outputs differ from {ref['compared_to']}: max |diff| {g(ref['max_abs_error'])}, "
                f"NaN differs in {ref['nan_mismatches']} places",
            )
        )
    return problems


def advice(report: DoctorReport) -> list[str]:
    """One piece of advice per cause found, the fix first."""
    advice = []
    issues: dict[str, list[str]] = {}
    for f in report.unprepared:
        issues.setdefault(f.issue, []).append(f.column)
    fix = report.fix
    if fix.python is not None and fix.error is None and fix.parity is not None:
        status = "reproduces" if fix.parity["passed"] else "does NOT reproduce"
        advice.append(
            "Serve the self-contained model that the embed call or command above writes: raw rows in, "
            f"prediction out; on these rows it {status} model(preprocessor.transform(X))."
        )
    elif fix.error:
        advice.append(f"Embedding the preprocessor is not possible as is: {fix.error}.")
    if "nan_without_imputer" in issues:
        cols = issues["nan_without_imputer"]
        advice.append(
            f"Impute {cols} before the step that reads them: fit e.g. SimpleImputer(strategy='median') on "
            "the training data, put it first (make_pipeline(imputer, <your preprocessing>)), and embed that "
            "pipeline; or repair or drop the rows with missing values before predicting."
            + (" Embedding alone keeps the NaN." if fix.python is not None else "")
        )
    b = report.breakdown
    if b is not None and b.cause == "division_by_zero":
        zeros = [c for c in b.input_columns if c["why"] == "0 in the layer's input"]
        zeros = [c["column"] for c in zeros if c["rows"] == b.rows] or [c["column"] for c in zeros]
        advice.append(
            f"Guard the division in {b.layer_type}.call (layer '{b.layer}'): keras.ops.divide_no_nan(a, b), "
            f"or divide by b plus a small epsilon; {b.rows} rows reach it with 0 in {zeros[:5]}."
        )
    elif b is not None and b.cause == "overflow":
        advice.append(
            f"Check the units and scaling of the inputs of layer '{b.layer}': they overflow float32."
        )
    if "far_outside_fit" in issues:
        advice.append(
            f"Check {issues['far_outside_fit']}: their values lie far outside the data the preprocessor was "
            "fitted on (other units, data that is already scaled fed to a model that scales it again, or "
            "corrupt values)."
        )
    if "unseen_category" in issues:
        advice.append(
            f"Map the unseen categories of {issues['unseen_category']} to known ones, or refit the encoder "
            "with handle_unknown='ignore' or 'infrequent_if_exist'."
        )
    if "unscaled" in issues and report.preprocessor is None:
        advice.append(
            f"The model looks trained on scaled inputs, but {issues['unscaled']} arrive unscaled: apply the "
            "preprocessing it was trained behind, and embed it so that it cannot be lost again "
            "(keras-embed-prep doctor MODEL DATA --preprocessor P shows the exact command)."
        )
    trip = report.roundtrip
    if trip.missing_custom_objects:
        advice.append(
            f"Register {trip.missing_custom_objects} with @keras.saving.register_keras_serializable() in the "
            "module that defines them, and import that module before loading (CLI: --import MODULE)."
        )
    if trip.needs_unsafe_mode:
        advice.append(
            "Replace Lambda layers with a registered layer class or keras.ops calls, so that the file loads "
            "with safe_mode=True."
        )
    if trip.failed_layers:
        advice.append(
            "Make the layers listed under save/load restore themselves: create weights in build(), and "
            "return every __init__ argument from get_config()."
        )
    return advice
