"""A running sync's progress, in a small file under the target directory, for `show` and `runs`.

A DuckDB file admits one process: while a sync holds it, `show` and `runs` cannot read the run history.
So a sync also writes `<target-path>/intacct_progress.json` (whole, by an atomic rename): its run id, the
models with their counts so far, its phase and when it was last written. `show` and `runs` read it when
the warehouse is in use, and say that they do.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from dbt_intacct.artifacts import write_text_atomically
from dbt_intacct.errors import ArtifactError
from dbt_intacct.results import ModelResult, Progress, RunResult

PROGRESS_FILE = "intacct_progress.json"
# Batches are acknowledged many times a second in a fast sync: the file is written at most this often
# while rows are sent (and at once when a model starts or ends, and when the run ends).
WRITE_EVERY = 0.5


class ProgressFile:
    """A Progress that passes everything on to `inner` and keeps the progress file up to date."""

    def __init__(self, inner: Progress, target_dir: Path, run: RunResult) -> None:
        self.inner = inner
        self.path = target_dir / PROGRESS_FILE
        self.run = run
        self.phase = "starting"
        self.error: str | None = None
        self.total_models = 0
        self.models: dict[str, dict[str, Any]] = {}
        self._written = 0.0
        self._write()

    # -- Progress -----------------------------------------------------------------------------------
    def notice(self, message: str) -> None:
        self.inner.notice(message)

    def run_started(self, models: int) -> None:
        self.inner.run_started(models)
        self.phase, self.total_models = "sending", models
        self._write()

    def model_started(self, model: ModelResult, planned_rows: int) -> None:
        self.inner.model_started(model, planned_rows)
        self.models[model.name] = _entry(model, planned_rows)
        self._write()

    def rows_sent(self, model: ModelResult, count: int) -> None:
        self.inner.rows_sent(model, count)
        self._entry(model)["sent"] += count
        self._write(throttled=True)

    def rows_done(self, model: ModelResult, ok: int, failed: int) -> None:
        self.inner.rows_done(model, ok, failed)
        entry = self._entry(model)
        entry["acknowledged"] += ok
        entry["failed"] += failed
        self._write(throttled=True)

    def model_finished(self, result: ModelResult) -> None:
        self.inner.model_finished(result)
        entry = self._entry(result)
        stopped = result.status == "interrupted"
        entry["status"] = "success" if result.ok else "interrupted" if stopped else "error"
        entry["counts"] = {k: v for k, v in result.counts.items() if v}
        self._write()

    # -- the file -----------------------------------------------------------------------------------
    def close(self, error: str | None = None) -> None:
        """The run has ended, recorded in the warehouse or stopped by `error`: say so in the file."""
        self.phase, self.error = "finished", error
        self._write()

    def _entry(self, model: ModelResult) -> dict[str, Any]:
        return self.models.setdefault(model.name, _entry(model, 0))

    def _write(self, throttled: bool = False) -> None:
        now = time.monotonic()
        if throttled and now - self._written < WRITE_EVERY:
            return
        self._written = now
        run = self.run
        data = {
            "run_id": run.run_id,
            "command": run.command,
            "target": run.target,
            "pid": os.getpid(),
            "phase": self.phase,
            "status": "running" if self.phase != "finished" else "error" if self.error else run.status,
            "message": self.error or run.message,
            "started_at": run.started_at.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(),
            "models_total": self.total_models,
            "models": list(self.models.values()),
        }
        # Progress is a courtesy: a full disk must not stop the sync (the warehouse has the run), and the
        # file is not synced to disk (a reader needs it whole, not durable).
        with contextlib.suppress(ArtifactError):
            write_text_atomically(self.path, json.dumps(data, indent=2) + "\n", write=_write_unsynced)


def _write_unsynced(file: BinaryIO, data: bytes) -> None:
    file.write(data)
    file.flush()


def _entry(model: ModelResult, rows: int) -> dict[str, Any]:
    return {
        "name": model.name,
        "object": model.object,
        "mode": model.mode,
        "status": "running",
        "rows": rows,
        "sent": 0,
        "acknowledged": 0,
        "failed": 0,
        "counts": {},
    }


@dataclass(frozen=True)
class SyncProgress:
    """The progress file as read back."""

    path: Path
    data: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.data.get("run_id", ""))

    @property
    def running(self) -> bool:
        """Whether the sync that wrote it is still at work (its phase, and its process still there)."""
        if self.data.get("phase") == "finished":
            return False
        pid = self.data.get("pid")
        if not isinstance(pid, int):
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def age_seconds(self) -> float | None:
        try:
            updated = datetime.fromisoformat(str(self.data["updated_at"]))
        except (KeyError, ValueError):
            return None
        return max((datetime.now(UTC) - updated).total_seconds(), 0.0)


def read_progress(target_dir: Path) -> SyncProgress | None:
    """The progress file of the last sync in `target_dir`; None when there is none or it is unreadable."""
    path = target_dir / PROGRESS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return SyncProgress(path, data) if isinstance(data, dict) else None
