"""The history of runs: one row per run, one per (run, model), one per HTTP exchange with Intacct."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from dbt_intacct.state.tables import (
    API_CALLS_TABLE,
    MODEL_RESULTS_TABLE,
    StateTables,
    chunks,
    columns_of,
    now,
)


class RunLog:
    """Writes the run history of one state schema (`observe.history` reads it)."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables

    def start_run(self, run_id: str, command: str, target: str) -> None:
        w = self.tables.warehouse
        columns = ["run_id", "command", "target", "status", "started_at"]
        w.insert_rows(self.tables.runs, columns, [(run_id, command, target, "running", now())])
        w.commit()

    def finish_run(self, run_id: str, status: str, summary: str, message: str | None = None) -> None:
        w = self.tables.warehouse
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
        w.execute(f"delete from {self.tables.api_calls} where started_at < {w.literal(cutoff)}")
        w.commit()
