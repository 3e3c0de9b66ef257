"""The history of runs: one row per run, one per (run, model), one per HTTP exchange with Intacct.

A run is `running` from its start to its end (`success`, `error`, or `interrupted` by a signal). A run
whose process died without recording its end (SIGKILL, a lost warehouse connection) is marked
`abandoned` by the next sync that can tell its process is gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from dbt_intacct.state.tables import (
    API_CALLS_TABLE,
    MODEL_RESULTS_TABLE,
    RUNS_TABLE,
    StateTables,
    chunks,
    columns_of,
    now,
)


class RunLog:
    """Writes the run history of one state schema (`observe.history` reads it)."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables

    def start_run(
        self,
        run_id: str,
        command: str,
        target: str,
        *,
        budget_override: str | None = None,
        large_changes_allowed: bool = False,
        plan_id: str | None = None,
    ) -> None:
        w = self.tables.warehouse
        columns = ["run_id", "command", "target", "status", "started_at", "holder", "budget_override"]
        values = [run_id, command, target, "running", now(), this_process(), budget_override]
        if command == "sync":
            columns += ["large_changes_allowed", "plan_id"]
            values += [int(large_changes_allowed), plan_id]
        if self.tables.log is not None:
            self.tables.log.append(RUNS_TABLE, columns, [tuple(values)])
        else:
            w.insert_rows(self.tables.runs, columns, [tuple(values)])
        w.commit()

    def runs_of_plan(self, plan_id: str) -> list[tuple[str, str]]:
        """The runs that applied a saved plan (`sync --plan`), oldest first: (run_id, status)."""
        w = self.tables.warehouse
        rows = w.fetch_small(
            f"select run_id, status from {self.tables.runs} where plan_id = {w.literal(plan_id)} "
            "order by started_at"
        )
        return [(str(run_id), str(status)) for run_id, status in rows]

    def mark_abandoned(self) -> list[str]:
        """Mark as `abandoned` the runs still `running` whose process, on this host, is gone; their ids.

        A run on another host cannot be checked from here and is left as it is."""
        w = self.tables.warehouse
        rows = w.fetch_small(
            f"select run_id, holder from {self.tables.runs} where status = 'running' and holder is not null"
        )
        gone = [str(run_id) for run_id, holder in rows if process_is_gone(str(holder))]
        message = (
            "its process ended without recording the end of the run (killed, or its warehouse "
            "connection was lost); functions it left without an answer are resolved by the next sync "
            "of each model"
        )
        for run_id in gone:
            if self.tables.log is not None:  # append mode: a row per status, the latest is current
                where = f"run_id = {w.literal(run_id)} and status = 'running'"
                changes = {"status": "abandoned", "finished_at": now(), "message": message}
                self.tables.log.change(RUNS_TABLE, where, changes)
                continue
            w.execute(
                f"update {self.tables.runs} set status = 'abandoned', finished_at = {w.literal(now())}, "
                f"message = {w.literal(message)} where run_id = {w.literal(run_id)} and status = 'running'"
            )
        w.commit()
        return gone

    def finish_run(self, run_id: str, status: str, summary: str, message: str | None = None) -> None:
        w = self.tables.warehouse
        if self.tables.log is not None:  # append mode: a row per status, the latest is current
            changes = {"status": status, "finished_at": now(), "summary": summary, "message": message}
            self.tables.log.change(RUNS_TABLE, f"run_id = {w.literal(run_id)}", changes)
            w.commit()
            return
        w.execute(
            f"update {self.tables.runs} set status = {w.literal(status)}, finished_at = {w.literal(now())}, "
            f"summary = {w.literal(summary)}, message = {w.literal(message)} "
            f"where run_id = {w.literal(run_id)}"
        )
        w.commit()

    def record_model_result(self, run_id: str, row: Mapping[str, Any]) -> None:
        """One model's counts for the run (columns as in TABLES[MODEL_RESULTS_TABLE], but run_id)."""
        columns = list(columns_of(MODEL_RESULTS_TABLE))
        values = {**row, "run_id": run_id, "recorded_at": now()}
        self.tables.warehouse.insert_rows(
            self.tables.model_results, columns, [tuple(values[c] for c in columns)]
        )
        self.tables.warehouse.commit()

    def record_api_calls(self, run_id: str, calls: Sequence[Mapping[str, Any]]) -> None:
        """HTTP exchanges with Intacct (already redacted), in the order they happened."""
        if not calls:
            return
        columns = list(columns_of(API_CALLS_TABLE))
        rows = [tuple({**call, "run_id": run_id}[c] for c in columns) for call in calls]
        for chunk in chunks(rows, 100):
            self.tables.warehouse.insert_rows(self.tables.api_calls, columns, chunk)
        self.tables.warehouse.commit()

    def prune(self, keep_days: int) -> None:
        """Forget API calls older than the retention; the ledger is the audit trail and is kept."""
        w = self.tables.warehouse
        cutoff = now() - timedelta(days=keep_days)
        if self.tables.log is None:
            w.execute(f"delete from {self.tables.api_calls} where started_at < {w.literal(cutoff)}")
            w.commit()
            return
        # Append mode (under the sync lock): the calls kept are swapped in when some are out of date,
        # and the logs that outgrew their current rows are compacted. A swap would lose what another
        # run writes meanwhile (syncs of other connections share the schema, each under its own lock),
        # so it waits for a moment when no other run is `running`. PARTIAL: a run starting during the
        # swap itself (seconds) is not excluded.
        running = w.fetch_small(f"select count(*) from {self.tables.runs} where status = 'running'")
        if running and int(running[0][0] or 0):
            w.commit()
            return
        old = w.fetch_small(
            f"select count(*) from {self.tables.api_calls} where started_at < {w.literal(cutoff)}"
        )
        if old and int(old[0][0] or 0):
            self.tables.log.swap(
                self.tables.api_calls.identifier,
                f"select * from {self.tables.api_calls} where started_at >= {w.literal(cutoff)}",
            )
        self.tables.compact()


def this_process() -> str:
    """This process as `host:pid:start`, so that a later run can tell whether it is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or ''}"


def process_is_gone(holder: str) -> bool:
    """Whether the process a run's `holder` names has ended (False when it cannot be told from here)."""
    host, _, rest = holder.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    # The pid may have been given to another process since: compare when it started.
    current = _start_time(pid)
    return bool(started and current and current != started)


def _start_time(pid: int) -> str | None:
    """When a process started, in clock ticks since boot (Linux's /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None
