"""A changed row of an insert-only model (a posted journal entry's amounts) is counted and listed as
changed and not sent, with the reason; never shown as unchanged, never posted again."""

from __future__ import annotations

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_money_objects import JOURNAL_LINES, setup_journal
from tests.support.project import DbtProject


def test_a_changed_journal_entry_is_counted_and_listed_as_changed_not_sent(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_journal(project)
    assert project.sync().exit_code == 0
    before = emulator.api_transactions()
    # JE-1's amounts change after it was posted.
    project.seed("je_lines", JOURNAL_LINES.replace("1250.50", "1300.00"))
    project.build()

    plan = project.plan()
    assert plan.exit_code == 0, plan.output
    counts = plan.counts("intacct_journal_entries")
    assert (counts["changed_not_sent"], counts["unchanged"]) == (1, 1), plan.output
    assert plan.results["api_transactions"] == 0

    run = project.sync()
    assert run.exit_code == 0, run.output
    counts = run.counts("intacct_journal_entries")
    assert (counts["changed_not_sent"], counts["unchanged"], counts["created"]) == (1, 1, 0), run.output
    (error,) = run.model("intacct_journal_entries")["errors"]
    assert error["row_key"] == "JE-1" and error["stage"] == "changed_not_sent"
    text = " ".join(run.output.split())
    assert "key 'JE-1': changed since its GLBATCH was created" in text and "insert-only" in text
    assert emulator.api_transactions() == before
    assert len(emulator.records("GLBATCH")) == 2

    # Said again on the next run: Intacct still holds the old amounts.
    again = project.sync()
    assert again.counts("intacct_journal_entries")["changed_not_sent"] == 1
    # Back as it was: unchanged again.
    project.seed("je_lines", JOURNAL_LINES)
    project.build()
    back = project.sync()
    counts = back.counts("intacct_journal_entries")
    assert (counts["changed_not_sent"], counts["unchanged"]) == (0, 2), back.output
