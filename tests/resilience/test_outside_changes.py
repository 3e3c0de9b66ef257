"""Intacct and the project changing under the state, and runs overlapping: records deleted in Intacct by
someone else, a model renamed in a refactor, two syncs started at once (two CI jobs). The sync must
still converge, and still write each row once."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from dbt_intacct.emulator import EmulatorAdmin, EmulatorServer
from dbt_intacct.xml.request import Function
from tests.resilience.dataset import (
    CUSTOMERS_YML,
    ENTRIES_ENTRY,
    ENTRIES_MODEL,
    Dataset,
    entries_model_sql,
    state_rows,
    verify,
    write_dataset,
    write_models,
)
from tests.resilience.processes import SyncProcess, build_released
from tests.support.intacct import demo_client
from tests.support.project import DbtProject

pytestmark = pytest.mark.xdist_group("resilience_outside")


@pytest.fixture
def project(tmp_path: Path, server: EmulatorServer, admin: EmulatorAdmin) -> DbtProject:
    return DbtProject(tmp_path / "proj", "duckdb", server.url)


def customers(project: DbtProject, rows: str) -> None:
    project.seed("crm_customers", "code,name\n" + rows)
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(CUSTOMERS_YML)
    project.build()


def delete_in_intacct(admin: EmulatorAdmin, customer_id: str) -> None:
    """Someone deletes the customer in Intacct, through another client."""
    recordno = next(str(r["RECORDNO"]) for r in admin.records("CUSTOMER") if r["CUSTOMERID"] == customer_id)
    body = etree.fromstring(f"<delete><object>CUSTOMER</object><keys>{recordno}</keys></delete>")
    with demo_client(str(admin.health()["url"])) as client:
        (result,) = client.execute([Function(f"manual-{recordno}", body)], uniqueid=False).values()
    assert result.ok, result.message


def test_a_row_removed_from_the_model_whose_record_was_already_deleted_settles(
    project: DbtProject, admin: EmulatorAdmin
) -> None:
    customers(project, "C1,One\nC2,Two\n")
    assert project.sync().exit_code == 0
    delete_in_intacct(admin, "C2")
    customers(project, "C1,One\n")
    assert project.sync().exit_code == 0
    assert project.state("intacct_customers")["C2"]["status"] == "deleted"


def test_an_upsert_row_whose_record_was_deleted_in_intacct_is_created_again(
    project: DbtProject, admin: EmulatorAdmin
) -> None:
    customers(project, "C1,One\nC2,Two\n")
    assert project.sync().exit_code == 0
    delete_in_intacct(admin, "C2")
    customers(project, "C1,One\nC2,Two renamed\n")
    assert project.sync().exit_code == 0
    names = {r["CUSTOMERID"]: r["NAME"] for r in admin.records("CUSTOMER")}
    assert names == {"C1": "One", "C2": "Two renamed"}


def test_renaming_a_journal_entries_model_does_not_post_its_entries_again(
    project: DbtProject, admin: EmulatorAdmin
) -> None:
    project.seed(
        "gl_lines",
        "entry_id,posting_date,title,line_no,account,amount,memo\n"
        "JE-1,2026-10-31,Payroll,1,6500,100.00,a\nJE-1,2026-10-31,Payroll,2,2000,-100.00,b\n",
    )
    project.model(ENTRIES_MODEL, entries_model_sql(project.warehouse))
    project.schema_yml("models:\n" + ENTRIES_ENTRY)
    project.build()
    assert project.sync().exit_code == 0
    # A refactor: the same model under a new name.
    project.remove_model(ENTRIES_MODEL)
    project.model("gl_journal_entries", entries_model_sql(project.warehouse))
    project.schema_yml("models:\n" + ENTRIES_ENTRY.replace(ENTRIES_MODEL, "gl_journal_entries"))
    project.build()
    project.sync()
    posted = Counter(str(b["REFERENCENO"]) for b in admin.records("GLBATCH"))
    assert posted == {"JE-1": 1}, f"journal entries in Intacct by REFERENCENO: {dict(posted)}"


@pytest.mark.parametrize("warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_syncs_started_together_write_each_row_once(
    tmp_path: Path, server: EmulatorServer, admin: EmulatorAdmin, warehouse: str
) -> None:
    admin.set_faults(latency_ms=30)  # the first sync is still sending when the second starts
    project = DbtProject(tmp_path / "proj", warehouse, server.url)
    try:
        dataset = Dataset.generate(random.Random(8), customers=100, entries=100)
        write_models(project)
        write_dataset(project, dataset)
        build_released(project)
        project.write_intacct_yml(batch_size=10)
        syncs = [SyncProcess(project, "--lock-timeout", "120").start() for _ in range(2)]
        codes = sorted(sync.wait() for sync in syncs)
        outputs = "\n".join(sync.output[-500:] + sync.stderr[-500:] for sync in syncs)
        # The second waits for the first (Postgres: its advisory lock; DuckDB: the file, which is locked
        # by whoever has it open), then has nothing to do.
        assert codes == [0, 0], outputs
        verdict = verify(dataset, admin.records("CUSTOMER"), admin.records("GLBATCH"), state_rows(project))
        assert verdict.ok, verdict.describe()
    finally:
        project.drop_postgres_schemas()
