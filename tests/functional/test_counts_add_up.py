"""Counts add up: every row has one outcome, progress never sends more than it planned, the model line
and the tables say the same, and an error number is said once. (tests/support/project.py checks on every
sync and plan that the counts sum to the model's rows plus the rows that left it.)"""

from __future__ import annotations

import re

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import setup_customers
from tests.support.intacct import create_customer_directly
from tests.support.project import DbtProject

FIVE = """\
code,name,email,city,segment
C1,Acme Corp,ap@acme.example,Paris,enterprise
C2,Blue & Co,billing@blue.example,Lyon,smb
C3,Cobalt Ltd,,Nantes,smb
C4,Delta,d@delta.example,Lille,smb
C5,Echo,e@echo.example,Brest,smb
"""


def _progress_never_overruns(output: str) -> None:
    for sent, of in re.findall(r"sent (\d+) of (\d+)", output):
        assert int(sent) <= int(of) and int(of) > 0, output


def test_a_rerun_after_a_crash_counts_each_row_once(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project, mode="insert", csv=FIVE)
    project.write_intacct_yml(max_retries=0, batch_size=2)
    # Request 1 is the login, 2 the company check's lookup, 3 the first batch (answered), 4 the second:
    # applied, its answer lost. The page's five intents were recorded before the first batch left: three
    # stay open.
    emulator.set_faults({"drop_after_commit": {"skip": 3, "next": 1}})
    first = project.sync()
    assert first.exit_code == 1, first.output
    assert first.counts("intacct_customers")["pending"] == 3
    emulator.clear_faults()
    project.write_intacct_yml(batch_size=2)

    again = project.sync()
    assert again.exit_code == 0, again.output
    counts = again.counts("intacct_customers")
    # Three open intents resent (two had landed, one had not left): three created, two unchanged.
    assert (counts["resent"], counts["created"], counts["unchanged"]) == (3, 3, 2), again.output
    assert again.model("intacct_customers")["rows"] == {"in_model": 5, "left": 0, "twice": 0}
    _progress_never_overruns(again.output)
    assert len(emulator.records("CUSTOMER")) == 5


def test_a_failed_row_is_warn_everywhere_and_its_error_number_is_said_once(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    create_customer_directly(emulator, "C2", "Taken")  # C2 fails at Intacct (duplicate)
    setup_customers(project, mode="insert")
    run = project.sync()
    assert run.exit_code == 1, run.output
    assert run.model("intacct_customers")["rows"] == {"in_model": 3, "left": 0, "twice": 0}
    line = next(text for text in run.output.splitlines() if "intacct_customers:" in text and "[" in text)
    assert "WARN" in line, run.output
    table_row = next(text for text in run.output.splitlines() if text.startswith("│ intacct_customers"))
    assert "WARN" in table_row, run.output
    errors = run.output[run.output.index("rows not applied") :]
    errorno = re.search(r"BL\d{8}", errors)
    assert errorno is not None, run.output
    assert errors.count(errorno.group(0)) == 1, errors

    shown = project.cli("show", "latest")
    assert shown.exit_code == 0, shown.output
    model_row = next(text for text in shown.output.splitlines() if text.startswith("│ intacct_customers"))
    assert "WARN" in model_row and "error" not in model_row, shown.output
