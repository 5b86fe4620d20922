"""Fixtures shared by the report tests: one parser for the session (building spaCy's pipeline is the slow part)."""

from __future__ import annotations

import pytest

from igcl.reports.parser import ReportParser


@pytest.fixture(scope="session")
def parser() -> ReportParser:
    return ReportParser()
