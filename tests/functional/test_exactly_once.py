"""Lost answers, timeouts after commit and resends: every row lands in Intacct exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import setup_customers
from tests.functional.test_sync_money_objects import JOURNAL_LINES, setup_journal
from tests.support.project import DbtProject


@pytest.mark.parametrize(
    ("fault", "state_writes"),
    [("drop_after_commit", None), ("http_524_after_commit", None), ("drop_after_commit", "append")],
)
def test_a_lost_answer_is_resolved_by_the_next_run_without_a_second_write(
    project: DbtProject, emulator: EmulatorAdmin, fault: str
) -> None:
    setup_customers(project)
    project.write_intacct_yml(max_retries=0)  # give up at once, as a process that died mid-request would
    # Request 1 is the login, 2 the company check's lookup of CUSTOMER, 3 the upsert's lookup, 4 the batch
    # of creates: it is applied, its answer lost.
    emulator.set_faults({fault: {"skip": 3, "next": 1}})
    run = project.sync()
    assert run.exit_code == 1, run.output
    assert run.counts("intacct_customers")["pending"] == 3
    assert {v["status"] for v in project.state("intacct_customers").values()} == {"pending"}
    assert len(emulator.records("CUSTOMER")) == 3, "the request was applied; only its answer was lost"
    project.write_intacct_yml()
    emulator.clear_faults()
    again = project.sync()
    assert again.exit_code == 0, again.output
    records = emulator.records("CUSTOMER")
    assert Counter(r["CUSTOMERID"] for r in records) == {"C1": 1, "C2": 1, "C3": 1}
    state = project.state("intacct_customers")
    by_id = {r["CUSTOMERID"]: str(r["RECORDNO"]) for r in records}
    assert {k: (v["status"], v["recordno"]) for k, v in state.items()} == {k: ("ok", by_id[k]) for k in by_id}


@pytest.mark.parametrize("state_writes", [None, "append"], ids=["default", "append"])
def test_an_intent_left_open_is_resent_with_the_same_controlid(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_journal(project)
    project.write_intacct_yml(max_retries=0)
    # After the login and the company check's lookup of GLBATCH, the first write's answer is lost.
    emulator.set_faults({"drop_after_commit": {"skip": 2, "next": 1}})
    first = project.sync()
    assert first.exit_code == 1, first.output
    state = project.state("intacct_journal_entries")
    assert {v["status"] for v in state.values()} == {"pending"}
    assert len(emulator.records("GLBATCH")) == 2, "applied, answer lost"
    project.write_intacct_yml()
    emulator.clear_faults()
    second = project.sync()
    assert second.exit_code == 0, second.output
    titles = Counter(b["BATCH_TITLE"] for b in emulator.records("GLBATCH"))
    assert titles == {"Payroll accrual": 1, "Hosting accrual": 1}, "no journal entry posted twice"
    assert {v["status"] for v in project.state("intacct_journal_entries").values()} == {"ok"}
    # And the next run has nothing to do.
    third = project.sync()
    assert third.counts("intacct_journal_entries")["unchanged"] == 2
    assert Counter(b["BATCH_TITLE"] for b in emulator.records("GLBATCH")) == titles


@pytest.mark.parametrize("state_writes", [None, "append"], ids=["default", "append"])
def test_a_pending_row_that_left_the_model_is_still_resolved(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_journal(project)
    project.write_intacct_yml(max_retries=0)
    emulator.set_faults({"drop_after_commit": {"skip": 2, "next": 1}})  # after the login and the lookup
    assert project.sync().exit_code == 1
    # JE-2 leaves the model before the next run; its open intent must still be settled.
    project.seed("je_lines", "\n".join(JOURNAL_LINES.splitlines()[:3]) + "\n")
    project.build()
    project.write_intacct_yml()
    emulator.clear_faults()
    assert project.sync().exit_code == 0
    state = project.state("intacct_journal_entries")
    assert state["JE-2"]["status"] == "ok"
    assert Counter(b["BATCH_TITLE"] for b in emulator.records("GLBATCH")) == {
        "Payroll accrual": 1,
        "Hosting accrual": 1,
    }


def test_transient_faults_are_survived_and_reported(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    project.write_intacct_yml(max_retries=4)
    emulator.set_faults(
        {"http_503": {"skip": 1, "next": 1}, "http_429": {"skip": 2, "next": 1}, "retry_after_seconds": 0}
    )
    run = project.sync()
    assert run.exit_code == 0, run.output
    faults = run.results["faults"]
    assert faults["met"] == {"http_503": 1, "rate_limited": 1}
    assert sum(faults["survived"].values()) == 2 and faults["retries"] == 2
    assert "Faults met: http_503 x1, rate_limited x1; 2 survived with 2 retries." in run.output
    assert len(emulator.records("CUSTOMER")) == 3


def test_a_request_refused_for_its_size_is_split(tmp_path: Path, warehouse: str) -> None:
    from dbt_intacct.emulator.config import EmulatorConfig
    from dbt_intacct.emulator.server import EmulatorServer

    rows = "".join(f"C{n:03},Customer {n} {'x' * 60},c{n}@example.com,Paris,smb\n" for n in range(40))
    # 40 customers of ~400 bytes each: one request of 40 is refused (HTTP 413), halves of 10 pass.
    with EmulatorServer(EmulatorConfig(port=0, max_body_bytes=6_000)) as server:
        project = DbtProject(tmp_path / "proj", warehouse, server.url)
        try:
            setup_customers(project, mode="insert", csv="code,name,email,city,segment\n" + rows)
            project.write_intacct_yml(batch_size=40)
            run = project.sync()
            assert run.exit_code == 0, run.output
            assert run.counts("intacct_customers")["created"] == 40
            assert len(server.admin.records("CUSTOMER")) == 40
        finally:
            project.drop_postgres_schemas()


def test_a_row_too_large_for_any_request_fails_alone(tmp_path: Path, warehouse: str) -> None:
    from dbt_intacct.emulator.config import EmulatorConfig
    from dbt_intacct.emulator.server import EmulatorServer

    rows = "C1,Small,a@example.com,Paris,smb\nC2,Big,b@example.com,Paris," + "y" * 8_000 + "\n"
    with EmulatorServer(EmulatorConfig(port=0, max_body_bytes=6_000)) as server:
        project = DbtProject(tmp_path / "proj", warehouse, server.url)
        try:
            setup_customers(project, mode="insert", csv="code,name,email,city,segment\n" + rows)
            # RESALENO has no known length limit, so the 8,000 characters reach the request.
            text = project.root.joinpath("models", "schema.yml").read_text()
            text = text.replace('COMMENTS: {template: "segment [[ row.segment ]]"}', "RESALENO: segment")
            assert "RESALENO" in text
            project.schema_yml(text)
            project.dbt("parse")
            run = project.sync()
            counts = run.counts("intacct_customers")
            assert (counts["created"], counts["failed"]) == (1, 1), run.output
            (error,) = run.model("intacct_customers")["errors"]
            assert (
                error["row_key"] == "C2" and "larger than Intacct accepts in one request" in error["message"]
            )
            assert [r["CUSTOMERID"] for r in server.admin.records("CUSTOMER")] == ["C1"]
        finally:
            project.drop_postgres_schemas()
