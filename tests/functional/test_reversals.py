"""Reversals of posted journal entries (`delete: reverse`, `on_change: reverse`), through the real CLI.

Real dbt, DuckDB and Postgres, the emulator over HTTP. What Intacct holds is read back from the emulator:
an entry and its reversal net to zero on every account and dimension.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_money_objects import lines_sql, yaml
from tests.support.project import DbtProject

MODEL = "intacct_journal_entries"
MODEL_ID = f"model.proj.{MODEL}"

LINES = """\
entry_id,posting_date,title,line_no,account,amount,dept,memo
JE-1,2026-10-31,Payroll accrual,1,6500,1250.50,ADM,Salaries
JE-1,2026-10-31,Payroll accrual,2,2000,-1250.50,ADM,Accrued payroll
JE-2,2026-10-31,Hosting accrual,1,6000,300.10,ENG,Hosting
JE-2,2026-10-31,Hosting accrual,2,6000,0.20,SALES,Storage
JE-2,2026-10-31,Hosting accrual,3,2000,-300.30,ENG,Accrued vendors
"""


def entries_yaml(
    delete: str = "reverse", on_change: str | None = None, reverse_date: str | None = None
) -> str:
    more = f"\n                  on_change: {on_change}" if on_change else ""
    more += f"\n                  reverse_date: {reverse_date}" if reverse_date else ""
    return yaml(
        f"""\
        models:
          - name: {MODEL}
            config:
              meta:
                intacct:
                  object: journal_entry
                  primary_key: entry_id
                  mapping:
                    JOURNAL: {{value: GJ}}
                    BATCH_DATE: posting_date
                    BATCH_TITLE: title
                    REFERENCENO: entry_id
                    ENTRIES:
                      array: lines
                      mapping: {{ACCOUNTNO: account, AMOUNT: amount, DEPARTMENT: dept, DESCRIPTION: memo}}
                  custom_fields:
                    SOURCE_SYSTEM: {{value: dbt}}
                  delete: {delete}{more}
        """
    )


def setup_entries(project: DbtProject, csv: str = LINES, **options: Any) -> None:
    project.seed("je_lines", csv)
    lines = lines_sql(
        project,
        {
            "account": "cast(account as varchar)",
            "amount": "cast(amount as decimal(18,2))",
            "dept": "dept",
            "memo": "memo",
        },
        "line_no",
    )
    project.model(
        MODEL,
        "select entry_id, cast(posting_date as date) as posting_date, title, "
        f"cast('2026-11-15' as date) as correction_date, {lines} as lines "
        "from {{ ref('je_lines') }} group by entry_id, posting_date, title",
    )
    project.schema_yml(entries_yaml(**options))
    project.build()


def batches(emulator: EmulatorAdmin) -> list[dict[str, Any]]:
    return sorted(emulator.records("GLBATCH"), key=lambda b: int(b["RECORDNO"]))


def by_reference(emulator: EmulatorAdmin) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for batch in batches(emulator):
        found.setdefault(str(batch.get("REFERENCENO")), []).append(batch)
    return found


def lines_of(batch: dict[str, Any]) -> list[dict[str, Any]]:
    entries = batch["ENTRIES"]["GLENTRY"]
    return entries if isinstance(entries, list) else [entries]


def net(*entries: dict[str, Any]) -> Counter[tuple[str, str]]:
    """The signed total of the entries' lines per (account, department), zeros left out."""
    total: Counter[tuple[str, str]] = Counter()
    for batch in entries:
        for line in lines_of(batch):
            sign = 1 if line["TR_TYPE"] == "1" else -1
            total[(line["ACCOUNTNO"], line.get("DEPARTMENT", ""))] += sign * Decimal(line["TRX_AMOUNT"])
    return Counter({key: value for key, value in total.items() if value})


def ledger_rows(project: DbtProject, action: str) -> list[tuple[Any, ...]]:
    return project.query(
        "select row_key, event, status, recordno, controlid, message "
        f"from {project.state_schema}.intacct_ledger where model_id = '{MODEL_ID}' "
        f"and action = '{action}' order by recorded_at, event"
    )


def test_a_removed_entry_is_reversed_once_and_nets_to_zero_on_every_account(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_entries(project)
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts(MODEL)["created"] == 2
    original = by_reference(emulator)["JE-1"][0]

    project.seed(
        "je_lines", "".join(line + "\n" for line in LINES.splitlines() if not line.startswith("JE-1"))
    )
    project.build()
    plan = project.plan()
    assert plan.exit_code == 0, plan.output
    assert plan.model(MODEL)["planned"] == {"reverse": 1}
    assert plan.model(MODEL)["api_transactions"] == 1
    assert "Reversal of Payroll accrual" in plan.output or "reverse" in plan.output

    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts(MODEL)["reversed"] == 1
    assert (run.counts(MODEL)["created"], run.counts(MODEL)["deleted"]) == (0, 0)
    found = by_reference(emulator)
    assert len(batches(emulator)) == 3, "the original is kept; one reversal is added"
    (reversal,) = found["REV-JE-1"]
    assert found["JE-1"] == [original], "a posted entry is never edited or deleted"
    assert net(original, reversal) == Counter(), "an entry and its reversal net to zero on every account"
    assert net(original), "the original moved money (the check above is not vacuous)"
    assert reversal["BATCH_TITLE"] == f"Reversal of Payroll accrual (RECORDNO {original['RECORDNO']})"
    assert reversal["JOURNAL"] == "GJ" and reversal["SOURCE_SYSTEM"] == "dbt"
    assert [(e["ACCOUNTNO"], e["DEPARTMENT"], e["DESCRIPTION"]) for e in lines_of(reversal)] == [
        (e["ACCOUNTNO"], e["DEPARTMENT"], e["DESCRIPTION"]) for e in lines_of(original)
    ]
    state = project.state(MODEL)
    assert state["JE-1"]["status"] == "reversed" and state["JE-1"]["recordno"] is None
    assert state["JE-2"]["status"] == "ok"
    # The ledger: the reversal's intent (its own control ID) and its outcome, naming both entries.
    recorded = ledger_rows(project, "reverse")
    assert [(r[0], r[1], r[2]) for r in recorded] == [
        ("JE-1", "intent", "pending"),
        ("JE-1", "outcome", "reversed"),
    ]
    assert recorded[1][3] == reversal["RECORDNO"]
    assert f"reversal of RECORDNO {original['RECORDNO']}" in recorded[1][5]
    (create,) = [r for r in ledger_rows(project, "create") if r[0] == "JE-1" and r[1] == "intent"]
    assert recorded[0][4] != create[4], "the reversal's control ID is its own"

    # Exactly once: nothing more to send.
    again = project.sync()
    assert again.exit_code == 0, again.output
    assert again.model(MODEL)["api_transactions"] == 0
    assert len(batches(emulator)) == 3

    # `show` lists the reversal among the run's row outcomes, with the reversal's RECORDNO.
    shown = project.cli("show", run.results["metadata"]["run_id"])
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "JE-1" in line)
    assert "reverse" in row and "reversed" in row and reversal["RECORDNO"] in row, shown.output


def test_a_changed_entry_is_reversed_then_posted_again(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_entries(project, delete="nothing", on_change="reverse", reverse_date="correction_date")
    assert project.sync().exit_code == 0
    original = by_reference(emulator)["JE-2"][0]

    changed = LINES.replace(
        "JE-2,2026-10-31,Hosting accrual,1,6000,300.10", "JE-2,2026-10-31,Hosting accrual,1,6000,400.10"
    )
    changed = changed.replace(
        "JE-2,2026-10-31,Hosting accrual,3,2000,-300.30", "JE-2,2026-10-31,Hosting accrual,3,2000,-400.30"
    )
    project.seed("je_lines", changed)
    project.build()
    plan = project.plan()
    assert plan.exit_code == 0, plan.output
    assert plan.model(MODEL)["planned"] == {"reverse": 1, "create": 1}
    assert plan.model(MODEL)["api_transactions"] == 2
    assert len(batches(emulator)) == 2, "a plan sends nothing"

    run = project.sync()
    assert run.exit_code == 0, run.output
    counts = run.counts(MODEL)
    assert (counts["reversed"], counts["created"], counts["unchanged"]) == (1, 1, 1)
    found = by_reference(emulator)
    assert len(batches(emulator)) == 4
    (reversal,) = found["REV-JE-2"]
    assert reversal["BATCH_DATE"] == "11/15/2026", "dated by the reverse_date column"
    assert net(original, reversal) == Counter()
    first, posted_again = found["JE-2"]
    assert first == original
    assert int(reversal["RECORDNO"]) < int(posted_again["RECORDNO"]), "the reversal comes first"
    assert net(posted_again) == {
        ("6000", "ENG"): Decimal("400.10"),
        ("6000", "SALES"): Decimal("0.20"),
        ("2000", "ENG"): Decimal("-400.30"),
    }
    assert found["JE-1"][0]["RECORDNO"] and len(found["JE-1"]) == 1, "an unchanged entry is left alone"
    state = project.state(MODEL)
    assert state["JE-2"]["status"] == "ok" and state["JE-2"]["recordno"] == posted_again["RECORDNO"]

    again = project.sync()
    assert again.exit_code == 0, again.output
    assert again.model(MODEL)["api_transactions"] == 0
    assert len(batches(emulator)) == 4


def test_reverse_is_for_journal_entries_only(project: DbtProject, emulator: EmulatorAdmin) -> None:
    from tests.functional.test_sync_customers import setup_customers

    setup_customers(project, delete="reverse")
    run = project.plan()
    assert run.exit_code == 2, run.output
    assert "model 'intacct_customers', key 'delete'" in run.output
    assert "'reverse' is for journal entries only" in run.output
