"""Customers and contacts end to end: real dbt, a real warehouse, the emulator over HTTP."""

from __future__ import annotations

import textwrap

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.support.project import DbtProject
from tests.support.spark import WITH_SPARK

CUSTOMERS = """\
code,name,email,city,segment
C1,Acme Corp,ap@acme.example,Paris,enterprise
C2,Blue & Co,billing@blue.example,Lyon,smb
C3,Cobalt <Ltd>,,Nantes,smb
"""


def customer_yaml(mode: str = "upsert", delete: str = "nothing", extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        models:
          - name: intacct_customers
            config:
              meta:
                intacct:
                  object: customer
                  mode: {mode}
                  primary_key: code
                  mapping:
                    CUSTOMERID: code
                    NAME: name
                    DISPLAYCONTACT.PRINTAS: name
                    DISPLAYCONTACT.EMAIL1: email
                    DISPLAYCONTACT.MAILADDRESS.CITY: city
                    STATUS: {{value: active}}
                    COMMENTS: {{template: "segment [[ row.segment ]]"}}
                  delete: {delete}
        {extra}"""
    )


def setup_customers(
    project: DbtProject, mode: str = "upsert", delete: str = "nothing", csv: str = CUSTOMERS
) -> None:
    project.seed("crm_customers", csv)
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(customer_yaml(mode, delete))
    project.build()


def customers_by_id(emulator: EmulatorAdmin) -> dict[str, dict]:
    return {r["CUSTOMERID"]: r for r in emulator.records("CUSTOMER")}


@pytest.mark.parametrize("warehouse", WITH_SPARK, indirect=True)
def test_first_sync_creates_every_row_and_a_second_sends_nothing(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["created"] == 3
    records = customers_by_id(emulator)
    assert set(records) == {"C1", "C2", "C3"}
    assert records["C2"]["NAME"] == "Blue & Co"
    assert records["C3"]["NAME"] == "Cobalt <Ltd>"
    assert records["C1"]["DISPLAYCONTACT"]["MAILADDRESS"]["CITY"] == "Paris"
    assert records["C1"]["COMMENTS"] == "segment enterprise"
    # A NULL leaves the field out.
    assert "EMAIL1" not in records["C3"]["DISPLAYCONTACT"]
    state = project.state("intacct_customers")
    assert {k: v["status"] for k, v in state.items()} == {"C1": "ok", "C2": "ok", "C3": "ok"}
    assert state["C1"]["recordno"] == str(records["C1"]["RECORDNO"])

    before = emulator.stats()
    again = project.sync()
    assert again.exit_code == 0, again.output
    assert again.counts("intacct_customers")["unchanged"] == 3
    after = emulator.stats()
    assert after["requests"] == before["requests"], "an unchanged model must not call Intacct at all"


@pytest.mark.parametrize("state_writes", [None, "append"])
def test_changing_one_row_sends_exactly_one_update(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    project.seed("crm_customers", CUSTOMERS.replace("Lyon", "Marseille"))
    project.build()
    before = emulator.stats()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["updated"] == 1
    assert run.counts("intacct_customers")["unchanged"] == 2
    after = emulator.stats()
    # One login (getAPISession), then one request carrying the one update.
    assert after["requests"] - before["requests"] == 2
    assert after["functions"] - before["functions"] == 2
    assert after["api_transactions"] - before["api_transactions"] == 1
    assert customers_by_id(emulator)["C2"]["DISPLAYCONTACT"]["MAILADDRESS"]["CITY"] == "Marseille"


@pytest.mark.parametrize(
    ("delete", "state_writes"), [("nothing", None), ("clear", None), ("delete", None), ("delete", "append")]
)
def test_a_removed_row_gets_its_delete_behaviour(
    project: DbtProject, emulator: EmulatorAdmin, delete: str
) -> None:
    setup_customers(project, delete=delete)
    assert project.sync().exit_code == 0
    project.seed("crm_customers", "\n".join(CUSTOMERS.splitlines()[:3]) + "\n")  # C3 leaves the model
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    records = customers_by_id(emulator)
    counts = run.counts("intacct_customers")
    if delete == "nothing":
        assert records["C3"]["NAME"] == "Cobalt <Ltd>"
        assert counts["deleted"] == counts["cleared"] == 0
    elif delete == "clear":
        assert counts["cleared"] == 1
        c3 = records["C3"]
        # Identifying and required fields stay; everything else mapped is emptied.
        assert c3["CUSTOMERID"] == "C3" and c3["NAME"] == "Cobalt <Ltd>"
        assert not c3.get("COMMENTS")
        assert not c3.get("DISPLAYCONTACT", {}).get("MAILADDRESS", {}).get("CITY")
        assert project.state("intacct_customers")["C3"]["status"] == "cleared"
    else:
        assert counts["deleted"] == 1
        assert "C3" not in records
        assert project.state("intacct_customers")["C3"]["status"] == "deleted"
    # A further sync has nothing to do.
    before = emulator.stats()["requests"]
    assert project.sync().exit_code == 0
    assert emulator.stats()["requests"] == before


def test_upsert_updates_records_another_client_created(project: DbtProject, emulator: EmulatorAdmin) -> None:
    from tests.support.intacct import create_customer_directly

    create_customer_directly(emulator, "C1", "Acme (old name)")
    setup_customers(project, mode="upsert")
    run = project.sync()
    assert run.exit_code == 0, run.output
    counts = run.counts("intacct_customers")
    assert (counts["created"], counts["updated"]) == (2, 1)
    records = emulator.records("CUSTOMER")
    assert len(records) == 3, "no duplicate customer"
    assert customers_by_id(emulator)["C1"]["NAME"] == "Acme Corp"


def test_update_mode_rejects_unmatched_rows_until_the_record_exists(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    from tests.support.intacct import create_customer_directly

    create_customer_directly(emulator, "C1", "Acme (old name)")
    setup_customers(project, mode="update")
    run = project.sync()
    assert run.exit_code == 1, run.output
    counts = run.counts("intacct_customers")
    assert (counts["updated"], counts["failed"]) == (1, 2)
    errors = {e["row_key"]: e["message"] for e in run.model("intacct_customers")["errors"]}
    assert "no CUSTOMER has CUSTOMERID = 'C2'" in errors["C2"]
    assert len(emulator.records("CUSTOMER")) == 1
    assert project.state("intacct_customers")["C2"]["status"] == "failed"

    create_customer_directly(emulator, "C2", "Blue (old)")
    create_customer_directly(emulator, "C3", "Cobalt (old)")
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["updated"] == 2
    assert customers_by_id(emulator)["C3"]["NAME"] == "Cobalt <Ltd>"


def test_a_row_intacct_refuses_fails_alone_and_is_sent_again(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    from tests.support.intacct import create_customer_directly

    create_customer_directly(emulator, "C2", "Taken")
    setup_customers(project, mode="insert")
    run = project.sync()
    assert run.exit_code == 1, run.output
    counts = run.counts("intacct_customers")
    assert (counts["created"], counts["failed"]) == (2, 1)
    (error,) = run.model("intacct_customers")["errors"]
    assert error["row_key"] == "C2" and error["errorno"] == "BL34000061"
    assert "already exists" in error["message"]
    state = project.state("intacct_customers")
    assert state["C2"]["status"] == "failed" and "already exists" in state["C2"]["error"]
    assert "C2" in run.output and "BL34000061" in run.output

    # Sent again on the next run (and refused again, since the record is still there).
    before = emulator.stats()["functions_failed"]
    run = project.sync()
    assert run.exit_code == 1
    assert run.counts("intacct_customers")["failed"] == 1
    assert emulator.stats()["functions_failed"] - before == 1


def test_contacts_upsert_and_delete(project: DbtProject, emulator: EmulatorAdmin) -> None:
    project.seed(
        "people",
        """\
        id,full_name,first,last,email
        1,Ada Lovelace,Ada,Lovelace,ada@example.com
        2,Grace Hopper,Grace,Hopper,grace@example.com
        """,
    )
    project.model("intacct_contacts", "select * from {{ ref('people') }}")
    project.schema_yml(
        """\
        models:
          - name: intacct_contacts
            config:
              meta:
                intacct:
                  object: contact
                  mode: upsert
                  primary_key: id
                  match: {column: full_name, field: CONTACTNAME}
                  mapping:
                    CONTACTNAME: full_name
                    PRINTAS: full_name
                    FIRSTNAME: first
                    LASTNAME: last
                    EMAIL1: email
                  delete: delete
        """
    )
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    contacts = {r["CONTACTNAME"]: r for r in emulator.records("CONTACT")}
    assert contacts["Ada Lovelace"]["EMAIL1"] == "ada@example.com"
    project.seed("people", "id,full_name,first,last,email\n1,Ada Lovelace,Ada,Lovelace,ada@new.example\n")
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    counts = run.counts("intacct_contacts")
    assert (counts["updated"], counts["deleted"]) == (1, 1)
    contacts = {r["CONTACTNAME"]: r for r in emulator.records("CONTACT")}
    assert set(contacts) == {"Ada Lovelace"}
    assert contacts["Ada Lovelace"]["EMAIL1"] == "ada@new.example"
