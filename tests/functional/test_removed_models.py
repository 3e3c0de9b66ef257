"""A model that leaves the project is never dropped silently; `forget` drops its state on the user's word.

Real dbt, real DuckDB and Postgres, the emulator over HTTP, the real CLI.
"""

from __future__ import annotations

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import customers_by_id, setup_customers
from tests.support.project import DbtProject

MODEL_ID = "model.proj.intacct_customers"


def lose_meta(project: DbtProject) -> None:
    """The model stays in the project but loses its meta.intacct block; dbt parses the project again."""
    project.schema_yml("models:\n  - name: intacct_customers\n")
    project.dbt("parse")


def ledger_events(project: DbtProject, event: str) -> list[tuple[str, str, str | None]]:
    return [
        (str(r[0]), str(r[1]), r[2])
        for r in project.query(
            f"select row_key, status, recordno from {project.state_schema}.intacct_ledger "
            f"where model_id = '{MODEL_ID}' and event = '{event}' order by row_key"
        )
    ]


@pytest.mark.parametrize("state_writes", [None, "append"], ids=["default", "append"])
def test_a_removed_model_warns_on_every_run_deletes_nothing_and_is_forgotten_on_request(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    # `delete: delete`: had the tool treated the model's rows as gone, Intacct would lose the customers.
    setup_customers(project, delete="delete")
    assert project.sync().exit_code == 0
    assert len(customers_by_id(emulator)) == 3
    lose_meta(project)

    for run in (project.plan(), project.sync()):
        assert run.exit_code == 0, run.output
        assert "intacct_customers" in run.output and "3 record(s)" in run.output, run.output
        assert "dbt-intacct forget intacct_customers" in run.output
        assert run.results["removed_models"] == [
            {"unique_id": MODEL_ID, "name": "intacct_customers", "records": 3, "pending": 0}
        ]
    assert len(customers_by_id(emulator)) == 3, "nothing may be deleted in Intacct for a removed model"
    assert {v["status"] for v in project.state("intacct_customers").values()} == {"ok"}

    # Asked, and declined: nothing forgotten.
    declined = project.cli("forget", "intacct_customers", input="n\n")
    assert declined.exit_code == 1, declined.output
    assert "3 state row(s), 3 record(s) in Intacct" in declined.output
    assert "Nothing was forgotten" in declined.output
    assert len(project.state("intacct_customers")) == 3

    confirmed = project.cli("forget", "intacct_customers", input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert project.state("intacct_customers") == {}
    forgotten = ledger_events(project, "forgotten")
    assert [(key, status) for key, status, _ in forgotten] == [("C1", "ok"), ("C2", "ok"), ("C3", "ok")]
    assert all(recordno for _, _, recordno in forgotten), "the ledger keeps each record's RECORDNO"
    assert len(ledger_events(project, "intent")) == 3, "the ledger's history is kept"
    assert len(customers_by_id(emulator)) == 3

    quiet = project.plan()
    assert quiet.exit_code == 0, quiet.output
    assert quiet.results["removed_models"] == []
    assert "forget" not in quiet.output


def test_forget_refuses_a_model_still_in_the_project_or_with_open_intents(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0

    live = project.cli("forget", "intacct_customers", "--yes")
    assert live.exit_code == 2, live.output
    assert "still in the project" in live.output and "nothing was forgotten" in live.output
    assert len(project.state("intacct_customers")) == 3

    lose_meta(project)
    unknown = project.cli("forget", "intacct_vendors", "--yes")
    assert unknown.exit_code == 2 and "models with state: intacct_customers" in unknown.output

    # A run that stopped after sending C2's function, before its answer was recorded.
    project.query(
        f"update {project.state_schema}.intacct_state set status = 'pending' "
        f"where model_id = '{MODEL_ID}' and row_key = 'C2'"
    )
    warned = project.plan()
    assert "1 function(s) without a recorded answer" in warned.output, warned.output
    refused = project.cli("forget", MODEL_ID, "--yes")
    assert refused.exit_code == 2, refused.output
    assert "1 function(s) sent without a recorded answer" in refused.output and "--force" in refused.output
    assert len(project.state("intacct_customers")) == 3

    forced = project.cli("forget", MODEL_ID, "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert project.state("intacct_customers") == {}
    assert ("C2", "pending") in {(k, s) for k, s, _ in ledger_events(project, "forgotten")}
