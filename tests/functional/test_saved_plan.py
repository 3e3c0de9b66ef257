"""A saved plan, through the CLI: `plan --out` writes it (and a markdown summary), `sync --plan` sends
exactly its functions, refuses it when the rows or the state changed since, and never applies it twice.

Real dbt, real DuckDB and Postgres, the emulator over HTTP.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import CUSTOMERS, customers_by_id, setup_customers
from tests.support.project import DbtProject

CHANGED = CUSTOMERS.replace("Blue & Co", "Blue & Sons") + "C4,Delta SA,d@delta.example,Lille,smb\n"


def intents_of_plan_runs(project: DbtProject) -> set[tuple[str, str, str]]:
    """The intents recorded by the runs that applied a saved plan."""
    schema = project.state_schema
    return {
        (str(r[0]), str(r[1]), str(r[2]))
        for r in project.query(
            f"select row_key, action, controlid from {schema}.intacct_ledger where event = 'intent' "
            f"and run_id in (select run_id from {schema}.intacct_runs where plan_id is not null)"
        )
    }


def plan_to(project: DbtProject, name: str = "plan.json") -> tuple[Path, dict]:
    path = project.root / "plans" / name
    run = project.plan("--out", str(path))
    assert run.exit_code == 0, run.output
    assert f"Plan written to {path}" in run.output
    return path, json.loads(path.read_text())


def test_a_saved_plan_is_sent_exactly_refused_after_a_change_and_never_applied_twice(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    project.seed("crm_customers", CHANGED)
    project.build()

    path, plan = plan_to(project)
    assert plan["format"] == "dbt-intacct-plan/1" and plan["checksum"].startswith("sha256:")
    functions = {(f["row_key"], f["action"]): f for f in plan["functions"]}
    assert set(functions) == {("C2", "update"), ("C4", "create")}
    assert all(
        f["model"] == "model.proj.intacct_customers" and f["object"] == "customer" for f in plan["functions"]
    )
    assert "Blue &amp; Sons" in functions[("C2", "update")]["body"]
    model = plan["models"][0]
    assert model["counts"] == {"create": 1, "update": 1, "unchanged": 2}
    assert model["fingerprint"]["rows"] == 4 and model["fingerprint"]["state_rows"] == 3
    assert plan["api_transactions"] == 3  # two writes and one page of record matching for C4
    summary = path.with_suffix(".md").read_text()
    assert "| intacct_customers | customer | upsert | 1 | 1 | 0 | 0 | 2 | 0 | 3 | success |" in summary
    assert functions[("C4", "create")]["controlid"] in summary
    assert f"dbt-intacct sync --plan {path.name}" in summary

    # An edited plan is refused.
    tampered = path.with_name("tampered.json")
    tampered.write_text(path.read_text().replace("Blue &amp; Sons", "Blue &amp; Thieves"))
    edited = project.sync("--plan", str(tampered))
    assert edited.exit_code == 2, edited.output
    assert "was changed after it was written" in edited.output

    # A row changed after the plan was made: nothing is sent, the model and the count are named.
    requests = emulator.stats()["requests"]
    project.seed("crm_customers", CHANGED.replace("Nantes", "Rennes"))
    project.build()
    stale = project.sync("--plan", str(path))
    assert stale.exit_code == 2, stale.output
    assert "model 'intacct_customers': 1 row(s) changed since the plan was made" in stale.output
    assert "Nothing was sent to Intacct." in stale.output
    assert emulator.stats()["requests"] == requests
    assert customers_by_id(emulator)["C2"]["NAME"] == "Blue & Co"

    # Options that would change what is sent clash with --plan.
    clash = project.sync("--plan", str(path), "-s", "intacct_customers")
    assert clash.exit_code == 2 and "--select/-s would change what is sent" in clash.output, clash.output

    # The rows as they were: the plan is applied, its functions with their control IDs and nothing else.
    project.seed("crm_customers", CHANGED)
    project.build()
    applied = project.sync("--plan", str(path))
    assert applied.exit_code == 0, applied.output
    assert applied.results["saved_plan"] == {"id": plan["checksum"]}
    assert applied.counts("intacct_customers")["updated"] == 1
    assert applied.counts("intacct_customers")["created"] == 1
    records = customers_by_id(emulator)
    assert records["C2"]["NAME"] == "Blue & Sons" and "C4" in records
    assert intents_of_plan_runs(project) == {(k, a, f["controlid"]) for (k, a), f in functions.items()}
    assert project.query(
        f"select plan_id from {project.state_schema}.intacct_runs where plan_id is not null"
    ) == [(plan["checksum"],)]
    shown = project.cli("show", "latest")
    assert "applied plan" in shown.output and plan["checksum"] in "".join(shown.output.split()), shown.output

    # Applied twice: the second time writes nothing and says so.
    requests = emulator.stats()["requests"]
    again = project.sync("--plan", str(path))
    assert again.exit_code == 0, again.output
    assert "applied already" in again.output
    assert emulator.stats()["requests"] == requests

    # A plain sync afterwards has nothing left to do.
    after = project.sync()
    assert after.exit_code == 0 and after.counts("intacct_customers")["unchanged"] == 4, after.output


def test_a_plan_whose_state_moved_is_refused(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    project.seed("crm_customers", CHANGED)
    project.build()
    path, _ = plan_to(project)

    # Someone synced in between: the state moved, so the plan is stale.
    assert project.sync().exit_code == 0
    requests = emulator.stats()["requests"]
    stale = project.sync("--plan", str(path))
    assert stale.exit_code == 2, stale.output
    assert "model 'intacct_customers': its state changed since the plan was made" in stale.output
    assert emulator.stats()["requests"] == requests


def test_a_plan_holds_what_the_guard_holds_and_carries_its_deletes_when_approved(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    from tests.functional.test_guard import customers, setup

    setup(project, 24)
    assert project.sync().exit_code == 0
    project.seed("crm_customers", customers(12))
    project.build()

    # The guard holds the model in the plan too: nothing of it is in the plan, and applying it says so.
    path = project.root / "held.json"
    held = project.plan("--out", str(path))
    assert held.exit_code == 1, held.output
    plan = json.loads(path.read_text())
    assert plan["functions"] == [] and plan["models"][0]["status"] == "held"
    requests = emulator.stats()["requests"]
    applied = project.sync("--plan", str(path))
    assert applied.exit_code == 1, applied.output
    assert applied.model("intacct_customers")["status"] == "held"
    assert emulator.stats()["requests"] == requests

    # Planned with --allow-large-changes, the deletes are in the plan; approving it approves them.
    path = project.root / "approved.json"
    run = project.plan("--out", str(path), "--allow-large-changes")
    assert run.exit_code == 0, run.output
    plan = json.loads(path.read_text())
    assert plan["allow_large_changes"] is True
    assert sorted(f["action"] for f in plan["functions"]) == ["delete"] * 12
    assert "Made with `--allow-large-changes`" in path.with_suffix(".md").read_text()
    applied = project.sync("--plan", str(path))
    assert applied.exit_code == 0, applied.output
    assert applied.counts("intacct_customers")["deleted"] == 12
    assert len(customers_by_id(emulator)) == 12
    allowed = project.query(
        f"select large_changes_allowed from {project.state_schema}.intacct_runs where plan_id is not null "
        "and status = 'success'"
    )
    assert allowed == [(1,)]


def test_a_plan_carries_a_changed_entrys_reversal_and_its_new_posting(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    from tests.functional.test_reversals import LINES, MODEL, batches, by_reference, net, setup_entries

    setup_entries(project, delete="nothing", on_change="reverse", reverse_date="correction_date")
    assert project.sync().exit_code == 0
    changed = LINES.replace("Hosting accrual,1,6000,300.10", "Hosting accrual,1,6000,400.10").replace(
        "Hosting accrual,3,2000,-300.30", "Hosting accrual,3,2000,-400.30"
    )
    project.seed("je_lines", changed)
    project.build()

    path, plan = plan_to(project)
    reversal, repost = plan["functions"]
    assert (reversal["action"], reversal["reposts"], reversal["row_key"]) == ("reverse", True, "JE-2")
    assert (repost["action"], repost["after"], repost["row_key"]) == ("create", reversal["controlid"], "JE-2")
    assert "400.10" in repost["body"]

    applied = project.sync("--plan", str(path))
    assert applied.exit_code == 0, applied.output
    assert (applied.counts(MODEL)["reversed"], applied.counts(MODEL)["created"]) == (1, 1)
    sent = intents_of_plan_runs(project)
    assert sent == {("JE-2", "reverse", reversal["controlid"]), ("JE-2", "create", repost["controlid"])}
    found = by_reference(emulator)
    original, posted_again = found["JE-2"]
    assert net(original, found["REV-JE-2"][0]) == Counter()
    assert int(found["REV-JE-2"][0]["RECORDNO"]) < int(posted_again["RECORDNO"]), "the reversal comes first"
    assert len(batches(emulator)) == 4
    assert project.sync().counts(MODEL)["unchanged"] == 2
