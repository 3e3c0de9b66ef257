"""`show` and `runs` while a sync holds the DuckDB file: the sync's progress file, said to be that."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.server import EmulatorServer
from tests.functional.test_sync_customers import setup_customers
from tests.resilience.processes import SyncProcess, build_released
from tests.support.project import DbtProject

ACKNOWLEDGED = re.compile(r"intacct_customers: sent \d+ of \d+, acknowledged [1-9]")


@pytest.fixture
def duckdb_project(
    tmp_path: Path, emulator: EmulatorAdmin, emulator_server: EmulatorServer
) -> Iterator[DbtProject]:
    project = DbtProject(tmp_path / "proj", "duckdb", emulator_server.url)
    project.write_intacct_yml(batch_size=5)
    yield project


def test_show_and_runs_read_the_progress_file_while_a_sync_holds_duckdb(
    duckdb_project: DbtProject, emulator: EmulatorAdmin
) -> None:
    project = duckdb_project
    rows = "".join(f"K{n:03},Customer {n},,Paris,smb\n" for n in range(300))
    setup_customers(project, mode="insert", csv="code,name,email,city,segment\n" + rows)
    build_released(project)  # the sync runs in another process: this one lets go of the DuckDB file
    emulator.set_faults(latency_ms=500)  # each answer held: the sync takes half a minute
    sync = SyncProcess(project).start()
    try:
        assert sync.wait_for_line(ACKNOWLEDGED, 120) is not None, sync.output + sync.stderr
        # The file is rewritten at most every WRITE_EVERY seconds: it may be one answer behind the console.
        progress = _progress_once(project, lambda p: p["models"] and p["models"][0]["acknowledged"] > 0)
        run_id = progress["run_id"]
        assert progress["phase"] == "sending" and progress["status"] == "running"

        shown = project.cli("show", "latest")
        assert shown.exit_code == 0, shown.output
        text = " ".join(shown.output.split())
        assert "The warehouse is in use by another process" in text
        assert "intacct_progress.json instead" in text and "still running" in text
        assert f"Run {run_id} · sync · target dev · sending · running" in text
        line = next(t for t in shown.output.splitlines() if "intacct_customers" in t)
        cells = [c.strip() for c in line.split("│") if c.strip()]
        assert cells[:5] == ["intacct_customers", "customer", "insert", "running", "300"]
        assert int(cells[6]) > 0  # acknowledged so far

        assert project.cli("show", run_id[:12]).exit_code == 0
        other = project.cli("show", "1999")  # not the running sync: the warehouse's answer is needed
        assert other.exit_code == 2 and "in use by another process" in " ".join(other.output.split())
        assert f"Sync {run_id} is running" in other.output

        runs = project.cli("runs")
        assert runs.exit_code == 0, runs.output
        assert run_id in runs.output and "intacct_progress.json" in " ".join(runs.output.split())
    except BaseException:
        sync.kill()  # not left writing into the emulator the next test uses
        raise
    finally:
        emulator.clear_faults()
    assert sync.wait(120) == 0, sync.output + sync.stderr

    done = json.loads((project.root / "target" / "intacct_progress.json").read_text())
    assert (done["phase"], done["status"]) == ("finished", "success")
    assert done["models"][0]["counts"] == {"created": 300}
    # The sync has let go of the file: the history itself again.
    shown = project.cli("show", run_id)
    assert shown.exit_code == 0 and "row outcomes (300)" in shown.output and "instead" not in shown.output


def _progress_once(project: DbtProject, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The sync's progress file once `ready` holds for it (within 30 s)."""
    path = project.root / "target" / "intacct_progress.json"
    deadline = time.monotonic() + 30
    while True:
        progress: dict[str, Any] = json.loads(path.read_text())
        if ready(progress) or time.monotonic() > deadline:
            return progress
        time.sleep(0.05)
