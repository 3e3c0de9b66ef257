"""The sync SIGKILLed on Spark (dbt-spark, `method: session`): the kill takes the sync's process group, its
JVM with it, in the middle of Spark jobs that write the state (insert-only rows: Spark's parquet tables have
no DELETE or MERGE) and of requests to Intacct. A smaller version of the DuckDB crash scenario: 40
customers and 20 journal entries, five kills aimed at the diff between the two models (twice), between
requests, and at journal entry requests in flight and just answered; then the runs converge to each row
once in Intacct and the state saying so. The lock row a killed sync leaves is taken over at once (its
process is gone), not after the lock's ten minutes.

The test's own process never opens the Spark metastore (Derby admits one JVM): dbt, the syncs and the
test's reads of the state each run in a child process (`ChildSparkProject`), about 10 s of JVM start each,
so this scenario is kept small: one round, about six minutes (a sync on Spark takes 30 to 60 s here).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from tests.resilience.crash import CrashReport, CrashSettings, crash_rounds
from tests.resilience.wiretap import WireTap
from tests.support.project import ChildSparkProject

# Its own xdist group: it needs no worker's SparkSession, so it runs beside the other Spark tests.
pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.xdist_group("resilience_spark_crash")]

SETTINGS = CrashSettings(customers=40, entries=20, batch_size=5)


@pytest.fixture(scope="session")
def spark_sync_killed(tmp_path_factory: pytest.TempPathFactory, seed: int) -> Iterator[CrashReport]:
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as tap:
        root = tmp_path_factory.mktemp("spark_killed")
        project = ChildSparkProject(root / "proj", tap.url(), spark_home=root / "spark")
        report = crash_rounds(project, tap, server.admin, seed + 3, plans=[0], settings=SETTINGS)
    print("\n" + report.describe())
    yield report


@pytest.mark.timeout(1500)  # the scenario (a session fixture) runs in the first test's time
def test_a_sync_killed_on_spark_converges_to_every_row_exactly_once(spark_sync_killed: CrashReport) -> None:
    report = spark_sync_killed
    assert len(report.kills) >= 4, report.describe()
    # Killed inside the second model's diff (Spark jobs), and at a journal entry left applied in Intacct
    # but unrecorded: the rerun had real ambiguity to settle.
    assert report.phases()["diffing"] >= 1, report.describe()
    assert sum(k.applied_unrecorded for k in report.kills) > 0, report.describe()
    for result in report.rounds:
        assert result.verdict.ok, report.describe()
        assert result.runs_to_converge <= 2, report.describe()
        assert result.idle_rerun_requests == 0, "a converged sync must have nothing left to send"
        # Spark's start-up lines, not a warning per statement ("Using an existing Spark session"): one
        # before the tool sets the session's log level, hundreds without it.
        stderr = result.idle_rerun_stderr
        assert stderr.count("existing Spark session") <= 1, stderr[-2000:]
