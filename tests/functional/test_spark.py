"""Spark (dbt-spark, `method: session`): the diff, the key checks, a saved plan and journal entries synced
from an ARRAY<STRUCT<...>> column or JSON text, as SQL on a real local SparkSession. Customers synced on
Spark: tests/functional/test_sync_customers.py (`WITH_SPARK`)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import customer_yaml, setup_customers
from tests.functional.test_sync_money_objects import setup_journal
from tests.support.project import DbtProject

pytestmark = pytest.mark.parametrize("warehouse", ["spark"], indirect=True)


def test_a_plan_diffs_the_model_in_spark_and_writes_nothing(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    path = project.root / "plans" / "plan.json"
    run = project.plan("--out", str(path))
    assert run.exit_code == 0, run.output
    model = run.model("intacct_customers")
    assert model["planned"] == {"create": 3}
    assert emulator.stats()["write_functions"] == 0
    plan = json.loads(path.read_text())
    assert sorted(f["row_key"] for f in plan["functions"]) == ["C1", "C2", "C3"]
    bodies = {f["row_key"]: f["body"] for f in plan["functions"]}
    assert "Cobalt &lt;Ltd&gt;" in bodies["C3"] and "Blue &amp; Co" in bodies["C2"]
    # The saved plan's fingerprint is computed in Spark (md5, conv() of hex, bit_xor): the model's 3 rows.
    assert plan["models"][0]["fingerprint"]["rows"] == 3
    # The state tables are parquet tables (no Hive text tables, whose rows would break at a newline);
    # the diff's scratch tables were dropped after use.
    tables = {r[1] for r in project.query(f"show tables in {project.state_schema}")}
    assert "intacct_state" in tables and not any(t.startswith("dbt_intacct_") for t in tables)
    # Append mode (no DELETE on parquet): the state is an insert-only log behind a view of the latest rows.
    provider = list(project.query(f"describe table extended {project.state_schema}.intacct_state_log"))
    assert ("Provider", "parquet") in {(str(r[0]), str(r[1])) for r in provider}


def test_shared_and_null_keys_are_found_by_spark(project: DbtProject, emulator: EmulatorAdmin) -> None:
    project.seed(
        "crm_customers",
        """\
        code,name,email,city,segment
        C1,Acme Corp,ap@acme.example,Paris,enterprise
        C2,Blue & Co,billing@blue.example,Lyon,smb
        C2,Blue Copy,copy@blue.example,Lyon,smb
        ,No Key,,Nantes,smb
        C4,It's Quoted,,Quimper,smb
        """,
    )
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(customer_yaml())
    project.build()
    run = project.plan()
    assert run.exit_code == 1, run.output  # rejected rows
    model = run.model("intacct_customers")
    assert model["planned"] == {"create": 2}
    assert model["counts"]["rejected"] == 3  # two rows sharing C2, one without a key
    messages = [e["message"] for e in model["errors"]]
    assert any("shared by 2 rows" in m for m in messages), messages
    assert emulator.stats()["write_functions"] == 0


@pytest.mark.parametrize("json_text", [False, True], ids=["struct_array", "json_string"])
def test_journal_entries_from_an_array_of_structs_or_json_text_are_planned_and_posted_once(
    project: DbtProject, emulator: EmulatorAdmin, json_text: bool
) -> None:
    setup_journal(project, json_text=json_text)
    if not json_text:
        (column_type,) = [
            r[1]
            for r in project.query(f"describe {project.schema}.intacct_journal_entries")
            if r[0] == "lines"
        ]
        assert column_type.startswith("array<struct<account:string,amount:decimal(18,2)")
    path = project.root / "plans" / "plan.json"
    run = project.plan("--out", str(path))
    assert run.exit_code == 0, run.output
    assert run.model("intacct_journal_entries")["planned"] == {"create": 2}
    bodies = {f["row_key"]: f["body"] for f in json.loads(path.read_text())["functions"]}
    # Lines in their order, amounts exact (decimals, never floats), debits and credits derived.
    payroll = bodies["JE-1"]
    assert payroll.index("<ACCOUNTNO>6500</ACCOUNTNO>") < payroll.index("<ACCOUNTNO>2000</ACCOUNTNO>")
    assert payroll.count("<TRX_AMOUNT>1250.50</TRX_AMOUNT>") == 2
    assert bodies["JE-2"].count("<GLENTRY>") == 3
    assert emulator.stats()["write_functions"] == 0
    # Synced (the state in append mode: parquet tables have no DELETE), then nothing posted again.
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_journal_entries")["created"] == 2
    batches = {b["BATCH_TITLE"]: b for b in emulator.records("GLBATCH")}
    entries = batches["Payroll accrual"]["ENTRIES"]["GLENTRY"]
    assert [(e["ACCOUNTNO"], e["TR_TYPE"], Decimal(e["TRX_AMOUNT"])) for e in entries] == [
        ("6500", "1", Decimal("1250.50")),
        ("2000", "-1", Decimal("1250.50")),
    ]
    again = project.sync()
    assert again.exit_code == 0, again.output
    assert again.counts("intacct_journal_entries")["unchanged"] == 2
    assert len(emulator.records("GLBATCH")) == 2
