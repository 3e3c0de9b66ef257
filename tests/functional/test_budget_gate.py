"""The monthly transaction budget is a gate: a sync that would take the month over it sends nothing."""

from __future__ import annotations

import json

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import CUSTOMERS, setup_customers
from tests.support.project import DbtProject


def test_a_sync_over_the_monthly_budget_sends_nothing_unless_allowed(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    project.write_intacct_yml(monthly_transaction_budget=5)
    setup_customers(project)  # upsert: 3 creates and one matching page = 4, within 5
    first = project.sync()
    assert first.exit_code == 0, first.output
    assert first.results["api_transactions"] == 4

    # Two customers change: 2 updates, and the month would be at 6 of 5.
    project.seed("crm_customers", CUSTOMERS.replace("Lyon", "Grenoble").replace("Paris", "Lille"))
    project.build()
    requests = emulator.stats()["requests"]
    refused = project.sync()
    assert refused.exit_code == 2, refused.output
    text = " ".join(refused.output.split())
    assert "would spend 2 Intacct API transactions" in text
    assert "spent this month that is 6, 1 over the monthly budget of 5" in text
    assert "--allow-over-budget" in text and "Nothing was sent" in text
    assert emulator.stats()["requests"] == requests
    runs = project.query(f"select count(*) from {project.state_schema}.intacct_runs")
    assert runs == [(1,)]  # the refused sync started no run

    # The JSON log says the same, as one event.
    result = project.cli("sync", "--log-format", "json")
    assert result.exit_code == 2, result.output
    (event,) = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert event["event"] == "run_failed" and "1 over the monthly budget of 5" in event["error"]

    # A plan shows the month going over, and sends nothing either way.
    plan = project.plan()
    assert plan.exit_code == 0 and "over budget" in plan.output

    # --allow-over-budget sends, says so, and the run history records the override.
    allowed = project.sync("--allow-over-budget")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.counts("intacct_customers")["updated"] == 2
    assert "Sent over the monthly budget" in allowed.output
    override = allowed.results["budget"]["override"]
    assert override is not None and "6 of 5 (1 over)" in override
    recorded = project.query(
        f"select budget_override from {project.state_schema}.intacct_runs "
        f"where run_id = '{allowed.results['metadata']['run_id']}'"
    )
    assert recorded == [(override,)]

    # Nothing left to send: a sync with nothing to spend is never refused, even over the budget.
    assert project.sync().exit_code == 0
