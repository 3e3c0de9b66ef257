"""`nulls: keep | clear`: a NULL leaves the field unchanged in Intacct (said in plan, sync and show), or
clears it."""

from __future__ import annotations

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import CUSTOMERS, customer_yaml, customers_by_id, setup_customers
from tests.support.project import DbtProject


def test_a_null_is_said_to_leave_the_field_unchanged_and_nulls_clear_empties_it(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    # C1's e-mail becomes NULL.
    project.seed("crm_customers", CUSTOMERS.replace("ap@acme.example", ""))
    project.build()

    plan = project.plan()
    assert plan.exit_code == 0, plan.output
    assert plan.model("intacct_customers")["nulls_kept"] == {"DISPLAYCONTACT.EMAIL1": 1}
    assert "would leave fields unchanged in Intacct because the model's value is NULL" in plan.output

    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["updated"] == 1
    assert run.model("intacct_customers")["nulls_kept"] == {"DISPLAYCONTACT.EMAIL1": 1}
    assert "DISPLAYCONTACT.EMAIL1 (1)" in run.output and "nulls: clear" in run.output
    assert customers_by_id(emulator)["C1"]["DISPLAYCONTACT"]["EMAIL1"] == "ap@acme.example"
    shown = project.cli("show", "latest", "--row-key", "C1")
    assert "left unchanged (NULL, nulls: keep): DISPLAYCONTACT.EMAIL1" in " ".join(shown.output.split())

    # `nulls: clear` on the entry: the change of policy sends the rows again, and the NULL empties it.
    project.schema_yml(
        customer_yaml().replace(
            "DISPLAYCONTACT.EMAIL1: email", "DISPLAYCONTACT.EMAIL1: {column: email, nulls: clear}"
        )
    )
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.model("intacct_customers")["nulls_kept"] is None
    assert not customers_by_id(emulator)["C1"]["DISPLAYCONTACT"].get("EMAIL1")
    assert customers_by_id(emulator)["C2"]["DISPLAYCONTACT"]["EMAIL1"] == "billing@blue.example"


def test_nulls_must_be_keep_or_clear(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    project.schema_yml(
        customer_yaml()
        .replace("DISPLAYCONTACT.EMAIL1: email", "DISPLAYCONTACT.EMAIL1: {column: email, nulls: wipe}")
        .replace("delete: nothing", "delete: nothing\n          nulls: forget")
    )
    run = project.plan()
    assert run.exit_code == 2, run.output
    text = " ".join(run.output.split())
    assert "key 'mapping.DISPLAYCONTACT.EMAIL1.nulls': must be keep or clear, got 'wipe'" in text
    assert "key 'nulls': must be keep or clear, got 'forget'" in text
