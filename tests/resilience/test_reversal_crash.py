"""Reversals under crashes: a sync SIGKILLed, or its answers lost, in the middle of reversing a changed
journal entry and posting it again. Whatever the moment, the next runs leave Intacct with exactly one
reversal and one new entry, the state pointing at the new entry, and nothing more to send.

The WireTap holds the request of the chosen moment (the reversal, or the new entry after it), the sync is
SIGKILLed while it waits, and the request then reaches the emulator anyway ("applied, never recorded"),
or never does; or every answer of that request is lost (the sync gives up, leaving its intent open).
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dbt_intacct.emulator import EmulatorAdmin
from tests.functional.test_reversals import LINES, MODEL, batches, by_reference, net, setup_entries
from tests.resilience.processes import SyncProcess, build_released
from tests.resilience.wiretap import Spoil, WireTap
from tests.support.project import DbtProject

pytestmark = pytest.mark.xdist_group("resilience_reversals")

# What marks each moment's request: the reversal carries REV-JE-2, the new entry JE-2 again.
MARKERS = {
    "reversal": b"<REFERENCENO>REV-JE-2</REFERENCENO>",
    "new entry": b"<REFERENCENO>JE-2</REFERENCENO>",
}
CHANGED = LINES.replace(",1,6000,300.10,", ",1,6000,400.10,").replace(",3,2000,-300.30,", ",3,2000,-400.30,")


@pytest.fixture
def project(tmp_path: Path, tap: WireTap) -> DbtProject:
    project = DbtProject(tmp_path / "proj", "duckdb", tap.url())
    project.write_intacct_yml(max_retries=1)
    setup_entries(project, delete="reverse", on_change="reverse")
    assert project.sync().exit_code == 0
    project.seed("je_lines", CHANGED)
    build_released(project)  # the sync under test may run in a child process
    return project


def writes_with(marker: bytes, after: int) -> Any:
    """Whether a write carrying `marker` went through the tap after its first `after` exchanges."""
    return lambda exchanges: any(e.writes and marker in e.body for e in exchanges[after:])


def assert_converged(project: DbtProject, admin: EmulatorAdmin, original: dict[str, Any]) -> None:
    """One reversal, one new entry, the state on the new entry, and nothing more to send."""
    found = by_reference(admin)
    assert len(found.get("REV-JE-2", [])) == 1, f"reversals of JE-2: {found.get('REV-JE-2')}"
    assert found["JE-2"][0]["RECORDNO"] == original["RECORDNO"]
    assert len(found["JE-2"]) == 2, "the changed entry is posted again exactly once"
    (reversal,) = found["REV-JE-2"]
    assert net(original, reversal) == Counter()
    new_entry = found["JE-2"][1]
    assert net(new_entry)[("6000", "ENG")] == Decimal("400.10")
    assert len(found["JE-1"]) == 1 and len(batches(admin)) == 4
    state = project.state(MODEL)
    assert state["JE-2"]["status"] == "ok", state
    assert state["JE-2"]["recordno"] == new_entry["RECORDNO"], "the state points at the new entry"
    idle = project.sync()
    assert idle.exit_code == 0, idle.output
    assert idle.model(MODEL)["api_transactions"] == 0, "a converged sync has nothing left to send"


@pytest.mark.parametrize("moment", ["reversal", "new entry"])
@pytest.mark.parametrize("applied", [True, False], ids=["applied_unrecorded", "never_applied"])
def test_a_sync_killed_mid_reversal_resumes_without_duplicates(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin, moment: str, applied: bool
) -> None:
    original = by_reference(admin)["JE-2"][0]
    marker = MARKERS[moment]
    release = threading.Event()

    def hold(_: int, body: bytes) -> Spoil | None:
        if b"<uniqueid>true</uniqueid>" not in body or marker not in body:
            return None
        release.wait(60)
        # The sync is dead by now: the request reaches Intacct all the same, or never does.
        return Spoil(cut="after" if applied else "before", name="held until the sync was killed")

    tap.tamper = hold
    before = len(tap.exchanges)
    process = SyncProcess(project).start()
    try:
        assert tap.wait_for(writes_with(marker, before), timeout=120), process.output
        process.kill()
    finally:
        release.set()
    assert tap.wait_for(lambda ex: all(e.delivered_at is not None for e in ex), timeout=30)
    tap.tamper = None
    if moment == "new entry":
        assert project.state(MODEL)["JE-2"]["status"] == "pending"
        assert len(by_reference(admin)["REV-JE-2"]) == 1, "the reversal was applied before the kill"

    rerun = project.sync()
    assert rerun.exit_code == 0, rerun.output
    assert_converged(project, admin, original)


@pytest.mark.parametrize("moment", ["reversal", "new entry"])
def test_answers_lost_mid_reversal_are_resolved_by_the_next_run(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin, moment: str
) -> None:
    original = by_reference(admin)["JE-2"][0]
    marker = MARKERS[moment]
    tap.tamper = lambda _, body: (
        Spoil(cut="after", name="answer lost") if b"<uniqueid>true" in body and marker in body else None
    )
    cut = project.sync()
    assert cut.exit_code == 1, cut.output
    assert project.state(MODEL)["JE-2"]["status"] == "pending"
    tap.tamper = None
    rerun = project.sync()
    assert rerun.exit_code == 0, rerun.output
    assert_converged(project, admin, original)
