"""Run history as plain values: what `runs`, `show`, `report` and alerts read.

The values are read from the tool's tables in the warehouse (intacct_runs, intacct_model_results,
intacct_ledger, intacct_api_calls); renderers and notifiers take them as they are and never query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ModelRecord:
    """One model's result within a run."""

    unique_id: str
    name: str
    object: str
    mode: str
    status: str  # success | error
    message: str | None
    created: int = 0
    updated: int = 0
    cleared: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: int = 0  # refused before sending (bad input)
    failed: int = 0  # refused by Intacct
    pending: int = 0  # sent, no answer recorded (resolved by the next run)
    api_transactions: int = 0
    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class RowOutcomeRecord:
    """One row's outcome in a run (only rows something happened to)."""

    model_id: str
    row_key: str | None
    action: str  # create | update | clear | delete | none
    status: str  # ok | failed | rejected | deleted | cleared | dropped | pending
    recordno: str | None
    intacct_id: str | None
    errorno: str | None
    message: str | None
    controlid: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class ApiCallRecord:
    """One HTTP exchange with Intacct, secrets redacted."""

    sequence: int
    started_at: datetime
    duration_ms: float
    url: str
    http_status: int | None
    outcome: str  # ok | transient | ambiguous | auth_failed | terminal
    function_count: int
    attempt: int
    fault: str | None
    error: str | None
    request_xml: str  # redacted
    response_xml: str | None  # redacted


@dataclass(frozen=True)
class RunRecord:
    """One `sync` (or `plan`) run, with its models; rows and calls are loaded only when needed."""

    run_id: str
    command: str
    target: str
    status: str  # running | success | error
    started_at: datetime
    finished_at: datetime | None
    message: str | None
    models: tuple[ModelRecord, ...] = ()

    @property
    def api_transactions(self) -> int:
        return sum(m.api_transactions for m in self.models)

    @property
    def problem_rows(self) -> int:
        return sum(m.rejected + m.failed for m in self.models)


@dataclass(frozen=True)
class RunDetail:
    """A run with its row outcomes and API calls: what `show RUN` and the report display."""

    run: RunRecord
    rows: tuple[RowOutcomeRecord, ...] = field(default=())
    calls: tuple[ApiCallRecord, ...] = field(default=())
