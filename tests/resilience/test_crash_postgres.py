"""The sync SIGKILLed on Postgres: its transactions are cut off by the server and its advisory lock
released when the connection drops. A smaller version of the DuckDB crash scenario: 450 rows with a kill
aimed at each phase, then a round of changes, with two requests in flight, killed at journal entry
requests and in the diff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from tests.resilience.crash import CrashReport, CrashSettings, crash_rounds
from tests.resilience.wiretap import WireTap
from tests.support.project import DbtProject

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("resilience_postgres_crash")]

SETTINGS = CrashSettings(customers=300, entries=150, renamed=60, removed=10, new_customers=20, new_entries=60)


# Session scope: computed once per worker (see test_crash_sync.py).
@pytest.fixture(scope="session")
def postgres_sync_killed(tmp_path_factory: pytest.TempPathFactory, seed: int) -> Iterator[CrashReport]:
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as tap:
        project = DbtProject(tmp_path_factory.mktemp("postgres_killed") / "proj", "postgres", tap.url())
        try:
            report = crash_rounds(project, tap, server.admin, seed + 2, plans=[1, 0], settings=SETTINGS)
        finally:
            project.drop_postgres_schemas()
    print("\n" + report.describe())
    yield report


def test_a_sync_killed_on_postgres_converges_to_every_row_exactly_once(
    postgres_sync_killed: CrashReport,
) -> None:
    report = postgres_sync_killed
    assert len(report.kills) >= 8, report.describe()
    for result in report.rounds:
        assert result.verdict.ok, report.describe()
        assert result.runs_to_converge <= 2, report.describe()
        assert result.idle_rerun_requests == 0, "a converged sync must have nothing left to send"
