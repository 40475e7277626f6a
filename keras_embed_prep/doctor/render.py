"""The report as text: ``str(report)``, the four questions in order, then the notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .words import LISTED, g, rows_of

if TYPE_CHECKING:
    from .report import DoctorReport


def render(r: DoctorReport) -> str:
    """The text of a report, as ``print(report)`` and ``keras-embed-prep doctor`` show it."""
    lines = _header(r) + _breakdown(r) + _unprepared(r) + _roundtrip(r) + _fix(r)
    lines += [f"note: {note}" for note in r.notes if note != r.fix.error]
    return "\n".join(lines)


def _header(r: DoctorReport) -> list[str]:
    pre = ""
    if r.preprocessor is not None:
        pre = f"; preprocessor {r.preprocessor}" + (
            " (the model embeds preprocessing)" if r.embedded else " (not embedded)"
        )
    elif r.embedded:
        pre = "; the model embeds its preprocessing"
    lines = [f"doctor: model '{r.model}' on {r.rows} rows, {len(r.columns)} columns{pre}"]
    if r.healthy:
        lines.append(
            f"HEALTHY: no NaN or Inf in any layer on {r.rows} rows, no input far from the fitted statistics, "
            "and a .keras save/load (safe_mode=True) reproduces the outputs"
            + (f" (max |diff| {g(r.roundtrip.max_abs_diff)})" if r.roundtrip.max_abs_diff is not None else "")
            + "."
        )
    else:
        lines.append(f"PROBLEMS ({len(r.problems)}):")
        lines += [f"  {i}. [{p.code}] {p.message}" for i, p in enumerate(r.problems, 1)]
    return lines


def _breakdown(r: DoctorReport) -> list[str]:
    lines = ["1. where it breaks:"]
    b = r.breakdown
    if r.refused is not None:
        lines.append(f"   the model refuses the rows: {r.refused}")
    if b is None:
        if r.refused is None:
            lines.append(f"   no layer outputs NaN or Inf on the {r.rows} rows.")
        return lines
    lines.append(f"   first failing layer: '{b.layer}' ({b.layer_type}); {rows_of(b.rows, r.rows)}")
    lines.append(f"   {b.detail}")
    if b.row_indices:
        lines.append(f"   rows: {b.row_indices}{' ...' if b.rows > len(b.row_indices) else ''}")
    for c in b.input_columns[:LISTED]:
        lines.append(f"   input column '{c['column']}': {c['why']} in {c['rows']} of these rows")
    if b.output_rows is not None:
        lines.append(f"   the model's outputs hold NaN or Inf in {b.output_rows} of these rows")
    return lines


def _unprepared(r: DoctorReport) -> list[str]:
    lines = ["2. inputs that look unprepared:"]
    if not r.unprepared:
        lines.append("   none found.")
    lines += [f"   [{f.issue}, from the {f.source}] {f.detail}" for f in r.unprepared]
    return lines


def _roundtrip(r: DoctorReport) -> list[str]:
    t = r.roundtrip
    lines = ["3. save/load (.keras round trip):"]
    if not t.saved:
        lines.append(f"   save failed: {t.error}")
    else:
        loads = (
            "loads with safe_mode=True"
            if t.safe_mode
            else "loads only with safe_mode=False"
            if t.needs_unsafe_mode
            else "does not load"
        )
        lines.append(
            f"   {loads}; custom objects needed at load time: {t.custom_objects or 'none'}"
            + (f" (not registered here: {t.missing_custom_objects})" if t.missing_custom_objects else "")
        )
        if t.error and not t.safe_mode:
            lines.append(f"   {t.error}")
        if t.outputs_match is not None:
            lines.append(
                f"   outputs {'match' if t.outputs_match else 'DIFFER'} after the reload: max |diff| "
                f"{g(t.max_abs_diff)}, NaN differs in {t.nan_mismatches} places"
                + (f", first at layer '{t.drift_layer}'" if t.drift_layer else "")
            )
        lines += [f"   not restored: {line}" for line in t.failed_layers[:LISTED]]
        lines += [f"   dtype changed: {line}" for line in t.dtype_changes[:LISTED]]
    if r.reference is not None:
        ref = r.reference
        lines.append(
            f"   versus {ref['compared_to']}: {'match' if ref['passed'] else 'DIFFER'} (max |diff| "
            f"{g(ref['max_abs_error'])}, NaN differs in {ref['nan_mismatches']} places)"
        )
    return lines


def _fix(r: DoctorReport) -> list[str]:
    fix = r.fix
    lines = ["4. the fix:"]
    if fix.python is not None:
        lines.append("   embed the preprocessor into the model, in Python:")
        lines += [f"     {line}" for line in fix.python.splitlines()]
        lines.append(f"   or on the command line:\n     {fix.cli}")
        if fix.parity is not None:
            p = fix.parity
            lines.append(
                f"   parity of the result on these rows (saved, reloaded with safe_mode=True): "
                f"{'PASSED' if p['passed'] else 'FAILED'}, {p['rows']} rows, max abs error "
                f"{g(p['max_abs_error'])}, NaN disagreements {p['nan_mismatches']}"
            )
            if fix.nonfinite_rows:
                lines.append(
                    f"   the result still outputs NaN or Inf on {rows_of(fix.nonfinite_rows, r.rows)}"
                )
        if fix.error:
            lines.append(f"   {fix.error}")
    lines += [f"   - {advice}" for advice in fix.advice]
    if fix.python is None and not fix.advice:
        lines.append("   nothing to fix." if r.healthy else "   see the problems above.")
    return lines
