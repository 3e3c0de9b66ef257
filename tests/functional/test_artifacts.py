"""Artifacts that cannot be written: the run still happens and is recorded, the error says which file and
why, and no half-written file is left in place of the previous one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import setup_customers
from tests.support.project import DbtProject

pytestmark = pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)


def test_run_results_that_cannot_be_written_fail_the_command_clearly(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    # Something in the way of the file (as a full or read-only disk would be): the rename cannot replace it.
    blocker = project.root / "target" / "intacct_run_results.json"
    blocker.mkdir(parents=True)
    (blocker / "keep").write_text("previous")
    result = project.cli("sync")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert "cannot write" in result.output and "intacct_run_results.json" in result.output
    assert "3 created" in result.output or "│       3 │" in result.output  # the summary is still printed
    assert len(emulator.records("CUSTOMER")) == 3
    assert (blocker / "keep").read_text() == "previous"
    assert not [p for p in blocker.parent.iterdir() if p.name.startswith(".") and "intacct" in p.name]


def test_a_report_that_cannot_be_written_says_so(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    unwritable = Path("/proc/dbt_intacct_report.html")  # a read-only file system, even for root
    result = project.cli("report", "--output", str(unwritable))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "cannot write" in result.output and str(unwritable) in result.output
    previous = project.root / "target" / "intacct_report.html"
    previous.write_text("<html>previous</html>")
    assert project.cli("report").exit_code == 0
    assert previous.read_text().startswith("<!DOCTYPE html>") or "<html" in previous.read_text()
