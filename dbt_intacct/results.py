"""What a run did, per model and per row: the values `sync` produces and `observe` shows.

Both `dbt_intacct.sync` (which fills them) and `dbt_intacct.observe` (console, JSON log) import this
module; it imports nothing of either, so neither imports the other.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from dbt_intacct.artifacts import write_text_atomically

# Row outcome counters, in the order the summary shows them.
COUNTERS = (
    "created",
    "adopted",
    "updated",
    "cleared",
    "deleted",
    "reversed",
    "unchanged",
    "rejected",
    "failed",
    "pending",
    "dropped",
    "changed_not_sent",
    "resent",
)
# Where a model's time went, in seconds, in the order the run results list them. They are spans, not a
# partition: in a sync, pages are read, built and their intents written as the send pipeline takes
# batches, so `read`, `build`, `intents` and `outcomes` happen inside `send` (while requests are in
# flight); `resolve` (re-sending what an earlier run left unanswered) includes its own sending.
PHASES = (
    "resolve",  # the open intents an earlier run left, re-sent and settled
    "diff",  # the model compared with its state in the warehouse; change set and removals materialised
    "read",  # change-set and removal pages read from the warehouse
    "build",  # rows mapped, matched (lookups in Intacct included), built into functions and checked
    "intents",  # intents written to the state (each page's, committed before its first request)
    "send",  # the send pipeline, wall time to the last answer (read, build, intents, outcomes inside it)
    "outcomes",  # answers written to the state
)
MAX_ROW_ERRORS = 200
_TIMINGS_LOCK = threading.Lock()
RUN_RESULTS_FILE = "intacct_run_results.json"


@dataclass(frozen=True)
class RowError:
    """Why one row did not reach Intacct (rejected before sending, or refused by Intacct)."""

    row_key: str | None
    field: str | None
    message: str
    errorno: str | None = None
    # rejected (before sending) | failed (Intacct refused) | unmatched | changed_not_sent (insert-only)
    stage: str = "rejected"


@dataclass
class ModelResult:
    unique_id: str
    name: str
    object: str
    mode: str
    status: str = "success"  # success | error | skipped
    message: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    planned: Counter[str] = field(default_factory=Counter)  # plan: functions by action
    # plan of a model with `entity:`: functions by entity ("entity 100", "top level") and action
    planned_by_entity: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    samples: dict[str, list[str]] = field(default_factory=dict)  # plan: sample payloads by action
    api_transactions: int = 0  # writes plus query pages spent (or, in a plan, to be spent)
    elapsed_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (PHASES)
    # How the model was compared with its state: method "full join", "join" (the keys agreed with the
    # state's) or "checksum" (proved unchanged without a join); the row hash; md5 hashes carried over.
    diff: dict[str, Any] = field(default_factory=dict)
    # What the counts add up to: the model's rows (in_model), the rows that left it and were acted on
    # (left), and the rows with two outcomes (twice: an open intent resent, then a new change sent).
    rows: dict[str, int] = field(default_factory=dict)
    # Updates that left fields unchanged because their value was NULL (`nulls: keep`): rows, by field.
    nulls_kept: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the time spent inside to the model's timings (PHASES); pages may be planned on a sending
        thread, so the addition is locked."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with _TIMINGS_LOCK:
                self.timings[name] = self.timings.get(name, 0.0) + elapsed

    def add_error(self, error: RowError) -> None:
        if len(self.errors) < MAX_ROW_ERRORS:
            self.errors.append(error)

    def timings_json(self) -> dict[str, float]:
        """Seconds per phase, every phase listed (0 when it did not happen), rounded to the millisecond."""
        return {phase: round(self.timings.get(phase, 0.0), 3) for phase in PHASES}

    @property
    def ok(self) -> bool:
        return self.status == "success" and not (
            self.counts["rejected"] or self.counts["failed"] or self.counts["pending"]
        )


def outcome_label(status: str, problem_rows: int) -> str:
    """How a model ended, in one word: OK, WARN (some rows not applied, the rest were), ERROR (the model
    failed as a whole), STOP (interrupted), HELD (the guard against mass changes held it: nothing sent).
    `status` is ModelResult.status; `problem_rows` its rejected, failed and pending rows."""
    if status == "interrupted":
        return "STOP"
    if status == "held":
        return "HELD"
    if status == "error":
        return "ERROR"
    return "WARN" if problem_rows else "OK"


@dataclass(frozen=True)
class Budget:
    """The monthly Intacct API transaction budget of the connections a run used."""

    monthly: int
    spent_this_month: int  # by sync runs since the first of the month (UTC), this one included


@dataclass
class RunResult:
    run_id: str
    command: str
    target: str
    started_at: datetime
    finished_at: datetime | None = None
    models: list[ModelResult] = field(default_factory=list)
    message: str | None = None  # a run-wide error (terminal Intacct failure, ...)
    budget: Budget | None = None
    budget_override: str | None = None  # --allow-over-budget let this sync go over the monthly budget
    alerts: list[str] = field(default_factory=list)  # what each alert channel did
    faults: dict[str, int] = field(default_factory=dict)  # faults met, by kind (http_503, rate_limited, ...)
    faults_survived: dict[str, int] = field(default_factory=dict)  # those the same request then got past
    retries: int = 0
    startup_seconds: float | None = None  # from the command's start to the warehouse open (dbt loaded)
    interrupted_by: str | None = None  # SIGINT or SIGTERM, when a signal stopped the run
    interrupt_exit_code: int = 0  # 128 + the signal's number: the exit code a shell expects
    config_error: bool = False  # stopped by a configuration error met while running (a refused login)
    artifact_error: str | None = None  # why the run results file could not be written
    # Models no longer in the project whose state still tracks Intacct records (state.models.TrackedModel)
    removed_models: list[Any] = field(default_factory=list)
    # plan --out: the plan file written (path, summary, id, functions); sync --plan: the plan applied (id)
    saved_plan: dict[str, Any] | None = None

    @property
    def api_transactions(self) -> int:
        return sum(m.api_transactions for m in self.models)

    @property
    def exit_code(self) -> int:
        """0 when every change was applied, 1 when some rows or models failed, 2 when a configuration
        error (a refused login) stopped the run, 130 / 143 when SIGINT / SIGTERM stopped it."""
        if self.interrupted_by is not None:
            return self.interrupt_exit_code
        if self.config_error:
            return 2
        if self.message or self.artifact_error or any(not m.ok for m in self.models):
            return 1
        return 0

    @property
    def status(self) -> str:
        """success | error | interrupted."""
        if self.interrupted_by is not None:
            return "interrupted"
        return "success" if self.exit_code == 0 else "error"

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for model in self.models:
            total.update(model.counts)
        return total

    def to_json(self) -> dict[str, Any]:
        """The documented, stable shape of target/intacct_run_results.json."""
        return {
            "metadata": {
                "schema_version": "https://github.com/dbt-intacct/dbt-intacct/run-results/v1.json",
                "run_id": self.run_id,
                "command": self.command,
                "target": self.target,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            },
            "status": self.status,
            "message": self.message,
            "api_transactions": self.api_transactions,
            "budget": None
            if self.budget is None
            else {
                "monthly": self.budget.monthly,
                "spent_this_month": self.budget.spent_this_month,
                "override": self.budget_override,
            },
            "alerts": self.alerts,
            "faults": {"met": self.faults, "survived": self.faults_survived, "retries": self.retries},
            "startup_seconds": None if self.startup_seconds is None else round(self.startup_seconds, 3),
            "removed_models": [
                {"unique_id": m.model_id, "name": m.name, "records": m.records, "pending": m.pending}
                for m in self.removed_models
            ],
            "saved_plan": self.saved_plan,
            "results": [
                {
                    "unique_id": m.unique_id,
                    "name": m.name,
                    "object": m.object,
                    "mode": m.mode,
                    "status": m.status,
                    "message": m.message,
                    "counts": {k: m.counts[k] for k in COUNTERS},
                    "planned": dict(m.planned),
                    "planned_by_entity": {k: dict(v) for k, v in m.planned_by_entity.items()} or None,
                    "api_transactions": m.api_transactions,
                    "elapsed_seconds": round(m.elapsed_seconds, 3),
                    "timings": m.timings_json(),
                    "diff": m.diff or None,
                    "rows": m.rows or None,
                    "nulls_kept": dict(m.nulls_kept) or None,
                    "errors": [e.__dict__ for e in m.errors],
                }
                for m in self.models
            ],
        }

    def write(self, target_dir: Path) -> Path:
        """Write `intacct_run_results.json` whole, or leave the previous one (`ArtifactError` says why)."""
        path = target_dir / RUN_RESULTS_FILE
        write_text_atomically(path, json.dumps(self.to_json(), indent=2, default=str) + "\n")
        return path


class Progress(Protocol):
    """Told what happens during a run, so that a terminal display or a log can show it."""

    def notice(self, message: str) -> None:
        """Something the user should know while the run goes on (waiting for a lock, a retry)."""
        ...

    def run_started(self, models: int) -> None: ...

    def model_started(self, model: ModelResult, planned_rows: int) -> None: ...

    def rows_sent(self, model: ModelResult, count: int) -> None: ...

    def rows_done(self, model: ModelResult, ok: int, failed: int) -> None: ...

    def model_finished(self, result: ModelResult) -> None: ...


class SilentProgress:
    """Progress that shows nothing (the pricing pass of --max-transactions; scripts that load specs)."""

    def notice(self, message: str) -> None:
        return None

    def run_started(self, models: int) -> None:
        return None

    def model_started(self, model: ModelResult, planned_rows: int) -> None:
        return None

    def rows_sent(self, model: ModelResult, count: int) -> None:
        return None

    def rows_done(self, model: ModelResult, ok: int, failed: int) -> None:
        return None

    def model_finished(self, result: ModelResult) -> None:
        return None
