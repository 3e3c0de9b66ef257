"""The company check: each object's definition is read from Intacct (`lookup`) once and cached for a day;
a custom field the company does not have stops plan and sync (exit 2, naming model and field), nothing
sent; --no-company-check skips it."""

from __future__ import annotations

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import customer_yaml, setup_customers
from tests.support.project import DbtProject

WITH_REGON = customer_yaml().replace(
    "delete: nothing", "delete: nothing\n          custom_fields:\n            REGON: segment"
)


def _lookups(project: DbtProject) -> int:
    rows = project.query(
        f"select count(*) from {project.state_schema}.intacct_company_definitions where object = 'CUSTOMER'"
    )
    return int(rows[0][0])


def test_a_custom_field_the_company_lacks_stops_plan_and_sync(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    project.schema_yml(WITH_REGON)
    project.build()
    plan = project.plan()
    assert plan.exit_code == 2, plan.output
    text = " ".join(plan.output.split())
    assert (
        "model 'intacct_customers', key 'custom_fields.REGON': the company has no custom field REGON" in text
    )
    assert "REGION" in text and "--no-company-check" in text

    sync = project.sync()
    assert sync.exit_code == 2, sync.output
    assert "custom_fields.REGON" in sync.output and "Nothing was sent" in " ".join(sync.output.split())
    assert emulator.records("CUSTOMER") == []
    assert _lookups(project) == 1, "read once, then cached for a day"

    # Skipped: Intacct refuses every row instead.
    skipped = project.sync("--no-company-check")
    assert skipped.exit_code == 1, skipped.output
    assert skipped.counts("intacct_customers")["failed"] == 3


def test_a_valid_model_is_checked_once_and_a_no_op_sync_calls_nothing(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    first = project.sync()
    assert first.exit_code == 0, first.output
    assert _lookups(project) == 1
    before = emulator.stats()["requests"]
    again = project.sync()
    assert again.exit_code == 0 and emulator.stats()["requests"] == before
