"""The report (doctor/report.py, doctor/render.py): a healthy model, the text, and the JSON form."""

from __future__ import annotations

import json


def test_healthy_embedded_model(s):
    report = s.healthy
    assert report.healthy, str(report)
    assert report.problems == [] and report.breakdown is None and report.unprepared == []
    assert report.roundtrip.safe_mode and report.roundtrip.outputs_match
    assert report.reference["passed"] is True
    assert str(report).splitlines()[1].startswith("HEALTHY")


def test_to_dict_is_strict_json_with_the_documented_keys(s):
    for report in (s.unscaled, s.division, s.missing, s.healthy):
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert set(data) == {
            "healthy",
            "model",
            "rows",
            "columns",
            "preprocessor",
            "embedded",
            "problems",
            "breakdown",
            "refused",
            "unprepared",
            "roundtrip",
            "reference",
            "fix",
            "notes",
        }
        assert set(data["fix"]) == {"python", "cli", "parity", "nonfinite_rows", "error", "advice"}


def test_text_lists_every_problem_then_the_four_questions(s):
    report = s.unscaled
    lines = str(report).splitlines()
    assert lines[0] == (
        f"doctor: model 'penguins' on {len(s.X)} rows, 3 columns; preprocessor StandardScaler (not embedded)"
    )
    assert lines[1] == f"PROBLEMS ({len(report.problems)}):"
    assert lines[2 : 2 + len(report.problems)] == [
        f"  {i}. [{p.code}] {p.message}" for i, p in enumerate(report.problems, 1)
    ]
    sections = [line for line in lines if line[:1].isdigit()]
    assert sections == [
        "1. where it breaks:",
        "2. inputs that look unprepared:",
        "3. save/load (.keras round trip):",
        "4. the fix:",
    ]
    assert f"   first failing layer: 'hidden' (Dense); {len(s.X)} of {len(s.X)} rows" in lines
    assert [f"     {line}" for line in report.fix.python.splitlines()] == [
        line for line in lines if line.startswith("     ") and "keras-embed-prep embed" not in line
    ]
