"""A sync stopped by a signal: SIGINT (Ctrl-C) and SIGTERM (a CI job cancelled) are recorded as an
interrupted run with its true counts; SIGKILL leaves a run the next sync marks abandoned. Each is
followed by a rerun that converges: every row once in Intacct, the state saying so."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
from pathlib import Path

import pytest

from dbt_intacct.emulator import EmulatorAdmin, EmulatorServer
from tests.resilience.dataset import CUSTOMERS_MODEL, Dataset, state_rows, verify, write_dataset, write_models
from tests.resilience.processes import SyncProcess, build_released
from tests.support.project import DbtProject

pytestmark = pytest.mark.xdist_group("resilience_interrupts")

# A batch acknowledged: rows have been created, others are still to send.
ACKNOWLEDGED = re.compile(r"intacct_customers: sent \d+ of \d+, acknowledged [1-9]")


@pytest.fixture
def project(tmp_path: Path, server: EmulatorServer, admin: EmulatorAdmin) -> DbtProject:
    project = DbtProject(tmp_path / "proj", "duckdb", server.url)
    project.write_intacct_yml(batch_size=5)
    return project


def _dataset(project: DbtProject) -> Dataset:
    dataset = Dataset.generate(random.Random(11), customers=120, entries=10)
    write_models(project)
    write_dataset(project, dataset)
    build_released(project)
    return dataset


def _runs(project: DbtProject) -> list[tuple[str, str, str | None]]:
    return [
        (str(r[0]), str(r[1]), r[2])
        for r in project.query(
            f"select run_id, status, message from {project.state_schema}.intacct_runs order by started_at"
        )
    ]


def _recorded_counts(project: DbtProject, run_id: str) -> dict[str, int]:
    rows = project.query(
        f"select created, pending, status from {project.state_schema}.intacct_model_results "
        f"where run_id = '{run_id}' and name = '{CUSTOMERS_MODEL}'"
    )
    assert rows, f"no model result recorded for {run_id}"
    created, pending, status = rows[0]
    return {"created": int(created), "pending": int(pending), "interrupted": int(status == "interrupted")}


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_send_records_an_interrupted_run_with_its_true_counts(
    project: DbtProject, admin: EmulatorAdmin, signal_number: int, exit_code: int
) -> None:
    dataset = _dataset(project)
    admin.set_faults(latency_ms=150)
    sync = SyncProcess(project).start()
    assert sync.wait_for_line(ACKNOWLEDGED, 300) is not None, sync.output + sync.stderr
    sync.signal(signal_number)
    assert sync.wait(120) == exit_code, sync.output + sync.stderr
    assert "Traceback" not in sync.stderr, sync.stderr
    # Nothing but the tool's console: no leaked semaphore from a multiprocessing lock, no raw logging.
    assert "resource_tracker" not in sync.stderr and "leaked" not in sync.stderr, sync.stderr
    admin.clear_faults()

    (run_id, status, message), *_ = _runs(project)
    assert status == "interrupted"
    assert message is not None and message.startswith(f"interrupted by {signal.Signals(signal_number).name}")
    counts = _recorded_counts(project, run_id)
    created_in_intacct = len(admin.records("CUSTOMER"))
    assert counts["interrupted"] == 1
    # What was answered is recorded as created; what was in flight when the signal came is pending
    # (sent, its answer not recorded), never lost.
    assert 0 < counts["created"] <= created_in_intacct <= counts["created"] + counts["pending"]
    assert created_in_intacct < len(dataset.customers)
    # Nothing is lost: every row is created, pending, or not looked at yet; the rerun converges.
    rerun = project.sync()
    assert rerun.exit_code == 0, rerun.output
    verdict = verify(dataset, admin.records("CUSTOMER"), admin.records("GLBATCH"), state_rows(project))
    assert verdict.ok, verdict.describe()
    assert [s for _, s, _ in _runs(project)] == ["interrupted", "success"]


def test_a_killed_sync_is_marked_abandoned_by_the_next(project: DbtProject, admin: EmulatorAdmin) -> None:
    dataset = _dataset(project)
    admin.set_faults(latency_ms=150)
    sync = SyncProcess(project).start()
    assert sync.wait_for_line(ACKNOWLEDGED, 300) is not None, sync.output + sync.stderr
    sync.kill()
    admin.clear_faults()
    assert [s for _, s, _ in _runs(project)] == ["running"]

    rerun = project.sync()
    assert rerun.exit_code == 0, rerun.output
    assert "marked abandoned" in rerun.output
    runs = _runs(project)
    assert [s for _, s, _ in runs] == ["abandoned", "success"]
    assert "ended without recording the end of the run" in str(runs[0][2])
    verdict = verify(dataset, admin.records("CUSTOMER"), admin.records("GLBATCH"), state_rows(project))
    assert verdict.ok, verdict.describe()


def test_a_killed_sync_leaves_no_leaked_semaphore_warning(project: DbtProject, admin: EmulatorAdmin) -> None:
    """`kill -9 PID` (or the OOM killer) ends the sync's process alone: nothing it leaves behind prints to
    the user's terminal (a multiprocessing lock would be a semaphore that its resource tracker reports as
    leaked)."""
    _dataset(project)
    admin.set_faults(latency_ms=150)
    sync = SyncProcess(project).start()
    assert sync.wait_for_line(ACKNOWLEDGED, 300) is not None, sync.output + sync.stderr
    os.kill(sync.pid, signal.SIGKILL)
    assert sync.wait(60) == -signal.SIGKILL
    admin.clear_faults()
    with contextlib.suppress(ProcessLookupError):  # anything the sync started and left running
        os.killpg(sync.pid, signal.SIGKILL)
    assert "resource_tracker" not in sync.stderr and "leaked" not in sync.stderr, sync.stderr
