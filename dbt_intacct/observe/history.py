"""Run history as plain values: what `runs`, `show`, `report` and alerts read.

The values are read from the tool's tables in the warehouse (intacct_runs, intacct_model_results,
intacct_ledger, intacct_api_calls); renderers and notifiers take them as they are and never query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbt_intacct.state.tables import StateTables


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
    reversed: int = 0  # posted entries reversed
    unchanged: int = 0
    rejected: int = 0  # refused before sending (bad input)
    failed: int = 0  # refused by Intacct
    pending: int = 0  # sent, no answer recorded (resolved by the next run)
    api_transactions: int = 0
    elapsed_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase; empty for older runs

    @property
    def problem_rows(self) -> int:
        """Rows not applied: rejected, failed, pending."""
        return self.rejected + self.failed + self.pending


@dataclass(frozen=True)
class RowOutcomeRecord:
    """One row's outcome in a run (only rows something happened to)."""

    model_id: str
    row_key: str | None
    action: str  # create | update | clear | delete | reverse | none
    status: str  # ok | failed | rejected | deleted | cleared | dropped | pending | reversed
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
    model_id: str | None = None  # the model the call was made for (None: the login, older runs)


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
    large_changes_allowed: bool = False  # --allow-large-changes lifted the guard
    plan_id: str | None = None  # the saved plan the run applied (`sync --plan`)

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


# -- reading the tool's tables ------------------------------------------------------------------------


def list_runs(tables: StateTables, limit: int = 20, command: str | None = None) -> list[RunRecord]:
    """The most recent runs, newest first, with their models' results."""
    w = tables.warehouse
    where = f"where command = {w.literal(command)}" if command else ""
    rows = w.read_page(
        f"select * from {tables.runs} {where} order by started_at desc limit {int(limit)}",
        limit,
    )
    if not rows:
        return []
    models = _model_records(tables, [str(r["run_id"]) for r in rows])
    return [_run_record(r, models.get(str(r["run_id"]), ())) for r in rows]


def find_run(tables: StateTables, run_id: str) -> RunRecord | None:
    """One run by id; a unique prefix of the id is enough (`show 20261128T07`), `latest` is the newest."""
    w = tables.warehouse
    if run_id == "latest":
        runs = list_runs(tables, 1)
        return runs[0] if runs else None
    rows = w.read_page(
        f"select * from {tables.runs} "
        f"where run_id like {w.literal(run_id.replace('%', '').replace('_', '') + '%')} "
        "order by started_at desc",
        2,
    )
    if len(rows) != 1:
        return None
    row = rows[0]
    return _run_record(row, _model_records(tables, [str(row["run_id"])]).get(str(row["run_id"]), ()))


def run_candidates(tables: StateTables, prefix: str, limit: int = 20) -> list[RunRecord]:
    """The runs whose id starts with `prefix`, newest first (at most `limit`; without their models)."""
    w = tables.warehouse
    rows = w.read_page(
        f"select run_id, command, target, status, started_at, finished_at, message from {tables.runs} "
        f"where run_id like {w.literal(prefix.replace('%', '').replace('_', '') + '%')} "
        "order by started_at desc",
        limit,
    )
    return [_run_record(row, ()) for row in rows]


def load_detail(
    tables: StateTables,
    run: RunRecord,
    *,
    model: str | None = None,
    status: str | None = None,
    row_key: str | None = None,
    row_limit: int = 10_000,
    call_limit: int = 1_000,
    skip_created: bool = False,
) -> RunDetail:
    """A run with its row outcomes and API calls, filtered by model (name or unique_id), status, row key.

    `skip_created` leaves out rows created as planned (the bulk of most runs), so that a capped read
    still holds every problem and every change to an existing record."""
    w = tables.warehouse
    model_ids = [m.unique_id for m in run.models if model in (None, m.name, m.unique_id)]
    if model is not None and not model_ids:
        model_ids = [model]
    filters = [f"run_id = {w.literal(run.run_id)}", "event = 'outcome'"]
    if model is not None:
        filters.append(f"model_id in ({', '.join(w.literal(m) for m in model_ids)})")
    if status is not None:
        filters.append(f"status = {w.literal(status)}")
    if row_key is not None:
        filters.append(f"row_key = {w.literal(row_key)}")
    if skip_created:
        filters.append("not (coalesce(action, '') = 'create' and status = 'ok')")
    rows = w.read_page(
        "select model_id, row_key, action, status, recordno, intacct_id, errorno, message, controlid, "
        f"recorded_at from {tables.ledger} where {' and '.join(filters)} "
        "order by recorded_at, model_id, row_key",
        row_limit,
    )
    call_filters = [f"run_id = {w.literal(run.run_id)}"]
    if model is not None:
        call_filters.append(f"model_id in ({', '.join(w.literal(m) for m in model_ids)})")
    calls = (
        w.read_page(
            f"select * from {tables.api_calls} where {' and '.join(call_filters)} order by sequence",
            call_limit,
        )
        if call_limit > 0
        else []
    )
    return RunDetail(
        run=run,
        rows=tuple(
            RowOutcomeRecord(
                model_id=str(r["model_id"]),
                row_key=_opt(r["row_key"]),
                action=str(r["action"] or "none"),
                status=str(r["status"]),
                recordno=_opt(r["recordno"]),
                intacct_id=_opt(r["intacct_id"]),
                errorno=_opt(r["errorno"]),
                message=_opt(r["message"]),
                controlid=_opt(r["controlid"]),
                recorded_at=r["recorded_at"],
            )
            for r in rows
        ),
        calls=tuple(
            ApiCallRecord(
                sequence=int(c["sequence"]),
                started_at=c["started_at"],
                duration_ms=float(c["duration_ms"]),
                url=str(c["url"]),
                http_status=None if c["http_status"] is None else int(c["http_status"]),
                outcome=str(c["outcome"]),
                function_count=int(c["function_count"]),
                attempt=int(c["attempt"]),
                fault=_opt(c["fault"]),
                error=_opt(c["error"]),
                request_xml=str(c["request_xml"]),
                response_xml=_opt(c["response_xml"]),
                model_id=_opt(c.get("model_id")),
            )
            for c in calls
            if row_key is None or row_key in str(c["request_xml"])
        ),
    )


def month_spend(tables: StateTables, since: datetime) -> int:
    """API transactions spent by sync runs since a moment (the start of the month, for the budget)."""
    w = tables.warehouse
    rows = w.fetch_small(
        f"select coalesce(sum(m.api_transactions), 0) from {tables.model_results} m "
        f"join {tables.runs} r on r.run_id = m.run_id "
        f"where r.command = 'sync' and r.started_at >= {w.literal(since)}"
    )
    return int(rows[0][0]) if rows else 0


def _model_records(tables: StateTables, run_ids: Sequence[str]) -> dict[str, tuple[ModelRecord, ...]]:
    w = tables.warehouse
    rows = w.read_page(
        f"select * from {tables.model_results} where run_id in ({', '.join(w.literal(r) for r in run_ids)}) "
        "order by recorded_at",
        100_000,
    )
    found: dict[str, list[ModelRecord]] = {}
    for r in rows:
        found.setdefault(str(r["run_id"]), []).append(
            ModelRecord(
                unique_id=str(r["model_id"]),
                name=str(r["name"]),
                object=str(r["object"]),
                mode=str(r["mode"]),
                status=str(r["status"]),
                message=_opt(r["message"]),
                created=int(r["created"]),
                updated=int(r["updated"]),
                cleared=int(r["cleared"]),
                deleted=int(r["deleted"]),
                reversed=int(r.get("reversed") or 0),
                unchanged=int(r["unchanged"]),
                rejected=int(r["rejected"]),
                failed=int(r["failed"]),
                pending=int(r["pending"]),
                api_transactions=int(r["api_transactions"]),
                # Written rounded to the millisecond into a `float` column, which DuckDB keeps in 32 bits:
                # round again so that `show` prints what the run results file says (1.075, not 1.0750000477).
                elapsed_seconds=round(float(r["elapsed_seconds"]), 3),
                timings=_timings(r.get("timings")),
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def _timings(text: Any) -> dict[str, float]:
    """A model result's timings column (JSON), or nothing for rows written before it existed."""
    if not text:
        return {}
    return {str(k): float(v) for k, v in json.loads(str(text)).items()}


def _run_record(row: dict[str, Any], models: tuple[ModelRecord, ...]) -> RunRecord:
    return RunRecord(
        run_id=str(row["run_id"]),
        command=str(row["command"]),
        target=str(row["target"] or ""),
        status=str(row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        message=_opt(row.get("message")),
        models=models,
        large_changes_allowed=bool(row.get("large_changes_allowed")),
        plan_id=_opt(row.get("plan_id")),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)
