"""The doctor's scenarios, built once for all its test modules."""

from __future__ import annotations

import pytest

from doctor.scenarios import build


@pytest.fixture(scope="session")
def s(tmp_path_factory):
    """Trained models, their files, the data of each scenario, and the reports of diagnose()."""
    return build(tmp_path_factory.mktemp("doctor"))
