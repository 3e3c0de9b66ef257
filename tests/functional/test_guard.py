"""The guard against mass changes, through the CLI: a model losing half its rows is held, nothing of it
is sent; `--allow-large-changes` lifts it for one run and the run history records that.

Real dbt, real DuckDB and Postgres, the emulator over HTTP.
"""

from __future__ import annotations

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import customer_yaml, customers_by_id
from tests.support.project import DbtProject, rows_csv

HEADER = ("code", "name", "email", "city", "segment")


def customers(count: int) -> str:
    return rows_csv(HEADER, [(f"C{i:02d}", f"Customer {i}", "", "Paris", "smb") for i in range(count)])


def setup(project: DbtProject, count: int, delete: str = "delete", extra: str = "") -> None:
    project.seed("crm_customers", customers(count))
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(customer_yaml(delete=delete, extra=extra))
    project.build()


def runs_allowed(project: DbtProject) -> list[tuple[str, int | None]]:
    return [
        (str(r[0]), None if r[1] is None else int(r[1]))
        for r in project.query(
            f"select status, large_changes_allowed from {project.state_schema}.intacct_runs "
            "where command = 'sync' order by started_at"
        )
    ]


def test_a_model_losing_half_its_rows_is_held_until_the_guard_is_lifted(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup(project, 24)
    assert project.sync().exit_code == 0
    assert len(customers_by_id(emulator)) == 24

    # A bad join drops half the customers: 12 deletes of 24 records, more than 20% and at least 10.
    project.seed("crm_customers", customers(12))
    project.build()
    planned = project.plan()
    assert planned.exit_code == 1, planned.output
    assert planned.model("intacct_customers")["status"] == "held"
    assert "HELD" in planned.output

    held = project.sync()
    assert held.exit_code == 1, held.output
    model = held.model("intacct_customers")
    assert model["status"] == "held"
    assert "12 of its 24 record(s) would be deleted, cleared or reversed" in model["message"]
    assert "--allow-large-changes" in held.output
    assert len(customers_by_id(emulator)) == 24, "nothing of a held model may be sent"
    assert {v["status"] for v in project.state("intacct_customers").values()} == {"ok"}
    status = project.query(
        f"select status from {project.state_schema}.intacct_model_results order by recorded_at desc limit 1"
    )
    assert status[0][0] == "held"

    lifted = project.sync("--allow-large-changes")
    assert lifted.exit_code == 0, lifted.output
    assert lifted.counts("intacct_customers")["deleted"] == 12
    assert len(customers_by_id(emulator)) == 12
    assert runs_allowed(project) == [("success", 0), ("error", 0), ("success", 1)]
    shown = project.cli("show", "latest")
    assert shown.exit_code == 0 and "guard lifted (--allow-large-changes)" in shown.output, shown.output


def test_an_empty_relation_is_held_and_limits_can_be_set_per_model_or_connection(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup(project, 5, delete="clear")
    assert project.sync().exit_code == 0

    # Empty while it tracks records: held whatever the counts (5 is under the default's floor of 10).
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }} where 1 = 0")
    project.build()
    empty = project.sync()
    assert empty.exit_code == 1, empty.output
    assert (
        "relation is empty while the state tracks 5 record(s)" in empty.model("intacct_customers")["message"]
    )
    assert all(r["STATUS"] == "active" for r in customers_by_id(emulator).values())

    # Two rows gone (40%, under the default's floor): not held by default; a connection's limit of 1 holds.
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }} where code < 'C03'")
    project.build()
    project.write_intacct_yml(max_removals=1)
    by_connection = project.sync()
    assert by_connection.exit_code == 1, by_connection.output
    assert "more than max_removals 1" in by_connection.model("intacct_customers")["message"]

    # The model's own limit wins over the connection's.
    project.schema_yml(
        customer_yaml(delete="clear").replace("delete: clear", 'delete: clear\n          max_removals: "50%"')
    )
    allowed = project.sync()
    assert allowed.exit_code == 0, allowed.output
    assert allowed.counts("intacct_customers")["cleared"] == 2

    # A mistake in a limit is caught before anything is sent.
    project.schema_yml(
        customer_yaml().replace("delete: nothing", "delete: nothing\n          max_updates: lots")
    )
    wrong = project.sync()
    assert wrong.exit_code == 2, wrong.output
    assert "key 'max_updates'" in wrong.output
