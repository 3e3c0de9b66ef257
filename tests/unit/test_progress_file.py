"""The progress file a sync keeps for `show` and `runs`: whole after every write, counts as they stand."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from dbt_intacct.observe.progress_file import PROGRESS_FILE, ProgressFile, read_progress
from dbt_intacct.results import ModelResult, RunResult, SilentProgress


def test_the_file_follows_the_run_and_says_when_it_ended(tmp_path: Path) -> None:
    run = RunResult(
        run_id="20261205T080000Z-abcd1234", command="sync", target="dev", started_at=datetime.now(UTC)
    )
    progress = ProgressFile(SilentProgress(), tmp_path, run)
    path = tmp_path / PROGRESS_FILE
    assert json.loads(path.read_text())["phase"] == "starting"

    progress.run_started(1)
    model = ModelResult(
        unique_id="model.p.intacct_customers", name="intacct_customers", object="customer", mode="upsert"
    )
    progress.model_started(model, 300)
    progress._written = 0.0  # the next batch is past the throttle
    progress.rows_sent(model, 50)
    progress.rows_done(model, 48, 2)  # within WRITE_EVERY of the last write: kept, written later
    shown = read_progress(tmp_path)
    assert shown is not None and shown.running and shown.run_id == run.run_id
    (entry,) = shown.data["models"]
    assert (entry["rows"], entry["sent"], entry["acknowledged"], entry["status"]) == (300, 50, 0, "running")
    assert shown.data["pid"] == os.getpid() and shown.data["status"] == "running"

    model.counts.update(created=48, failed=2)
    run.models.append(model)
    progress.model_finished(model)
    progress.close()
    done = read_progress(tmp_path)
    assert done is not None and not done.running
    assert (done.data["phase"], done.data["status"]) == ("finished", "error")  # two rows failed
    (entry,) = done.data["models"]
    assert (entry["acknowledged"], entry["failed"], entry["status"]) == (48, 2, "error")
    assert entry["counts"] == {"created": 48, "failed": 2}
    assert [p.name for p in tmp_path.iterdir()] == [PROGRESS_FILE]  # no temporary file left


def test_a_run_stopped_by_an_error_says_so(tmp_path: Path) -> None:
    run = RunResult(run_id="r1", command="sync", target="dev", started_at=datetime.now(UTC))
    ProgressFile(SilentProgress(), tmp_path, run).close(error="over budget")
    data = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert (data["phase"], data["status"], data["message"]) == ("finished", "error", "over budget")
    (tmp_path / PROGRESS_FILE).write_text("{not json")
    assert read_progress(tmp_path) is None
