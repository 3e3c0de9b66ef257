"""Exactly once with the emulator (Intacct's side) SIGKILLed and restarted under a running sync (issue 5).

The emulator runs as a child process keeping its records in a data directory; it is killed 20+ times
at random moments (half of them once the journal entries start) and started again on the same port and
data after a random outage of up to a second and a bit, while one sync of 1,000+ rows runs on Postgres.
Runs are repeated until one exits 0; then the models, Intacct and the state must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_intacct.emulator.process import EmulatorProcess
from tests.resilience.crash import CrashReport, CrashSettings, emulator_kill_rounds
from tests.support.project import DbtProject

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("resilience_emulator_crash")]

SETTINGS = CrashSettings()


# Session scope: computed once per worker even when xdist runs other modules between these tests (a
# module-scoped fixture would be torn down and run again).
@pytest.fixture(scope="session")
def emulator_killed(tmp_path_factory: pytest.TempPathFactory, seed: int) -> Iterator[CrashReport]:
    """The emulator (a child process keeping its records in a data directory) SIGKILLed 20+ times under
    a running sync on Postgres, restarted on the same port and data after a random outage."""
    root: Path = tmp_path_factory.mktemp("emulator_killed")
    emulator = EmulatorProcess(
        data_dir=root / "intacct",
        extra_args=["--latency-ms", str(SETTINGS.latency_ms), "--jitter-ms", str(SETTINGS.jitter_ms)],
    ).start()
    project = DbtProject(root / "proj", "postgres", emulator.url)
    try:
        report = emulator_kill_rounds(project, emulator, seed + 1, kills=[16, 8], settings=SETTINGS)
    finally:
        emulator.stop()
        project.drop_postgres_schemas()
    print("\n" + report.describe())
    yield report


def test_a_sync_survives_the_emulator_killed_and_restarted_under_it(emulator_killed: CrashReport) -> None:
    report = emulator_killed
    assert len(report.emulator_kills) >= 20, report.describe()
    assert report.rounds[0].rows >= 1000
    for result in report.rounds:
        assert result.verdict.ok, report.describe()
        assert result.idle_rerun_requests == 0, "a converged sync must have nothing left to send"
