"""`sync` and `plan` as a task: manifest -> specs -> warehouse -> one ModelSync per model -> results."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dbt_intacct import interrupts
from dbt_intacct.client import ApiCall, IntacctClient, RetryPolicy
from dbt_intacct.config import DEFAULT_RETENTION_DAYS, Connection, IntacctConfig, load_config
from dbt_intacct.dbt.manifest import intacct_models, load_manifest, manifest_path
from dbt_intacct.dbt.selection import Selection, selected_unique_ids
from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.errors import ArtifactError, ConfigError, IntacctError, Interrupted
from dbt_intacct.interrupts import interrupts_held, interrupts_raised
from dbt_intacct.observe.alerts import AlertRule, decide, parse_alerts, send_all, settle
from dbt_intacct.observe.alerts.state import load_states, save_states
from dbt_intacct.observe.history import find_run, load_detail, month_spend
from dbt_intacct.results import Budget, ModelResult, Progress, RunResult, SilentProgress
from dbt_intacct.state import Differ, Ledger, RunLog, StateTables, SyncLocks
from dbt_intacct.sync.model import ModelSync, PreparedModel, prepare
from dbt_intacct.sync.spec import ParsedSpecs, SpecProblems, SyncSpec, read_specs


@dataclass(frozen=True)
class SyncOptions:
    dbt: DbtArgs
    selection: Selection = field(default_factory=Selection)
    dry_run: bool = False
    full_refresh: bool = False
    state_schema: str | None = None
    target_path: str = "target"
    max_transactions: int | None = None
    lock_timeout: float = 0.0


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


class SyncTask:
    """Runs `sync` (or `plan`, when dry_run) over the selected models."""

    def __init__(self, options: SyncOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress

    def load_specs(self) -> list[SyncSpec]:
        """The selected models' validated specs; raises ConfigError (exit code 2) on any mistake."""
        parsed = self._read_specs()
        if parsed.problems:
            raise SpecProblems(parsed.problems)
        return parsed.specs

    def _read_specs(self) -> ParsedSpecs:
        """The selected models' specs and every problem in their blocks."""
        opts = self.options
        manifest = load_manifest(manifest_path(opts.dbt.project_dir, opts.target_path))
        every = intacct_models(manifest)
        models = every
        if not opts.selection.is_everything or opts.selection.state:
            wanted = selected_unique_ids(opts.dbt, opts.selection)
            models = [m for m in every if m.unique_id in wanted]
            if not models:
                # In CI an empty table reads as "all synced": a selection that syncs nothing is a mistake.
                what = (
                    f"selects {len(wanted)} model(s), none of them with a meta.intacct block"
                    if wanted
                    else "matches no model of the project"
                )
                raise ConfigError(
                    f"the selection `{opts.selection.describe()}` {what}; check the names (`dbt ls "
                    f"{opts.selection.describe()}` lists what dbt selects)"
                )
        return read_specs(models, every)

    def run(self) -> RunResult:
        """Run the command; SIGINT or SIGTERM stop it, what was done is recorded, and `Interrupted` is
        raised only when the run had not started (nothing sent)."""
        with interrupts_raised():
            return self._run()

    def _run(self) -> RunResult:
        opts = self.options
        command = "plan" if opts.dry_run else "sync"
        started = time.monotonic()
        parsed = self._read_specs()
        specs = parsed.specs
        config, connection_problems = self._config(specs)
        alert_rules = self._alert_rules(config)
        result = RunResult(run_id=new_run_id(), command=command, target="", started_at=datetime.now(UTC))
        clients: dict[str, IntacctClient] = {}
        calls = CallLog()
        with Warehouse(opts.dbt).open(opts.lock_timeout, self.progress.notice) as warehouse:
            result.target = warehouse.target_name
            result.startup_seconds = time.monotonic() - started
            tables = StateTables.of_target(
                warehouse, opts.state_schema or (config.state_schema if config else None)
            )
            tables.ensure()
            runs = RunLog(tables)
            prepared, problems = prepare(warehouse, specs)
            # Every mistake of every selected model, in one message: the block's, the connection's,
            # the columns' (checked for blocks with mistakes too).
            problems = _by_model([*parsed.problems, *connection_problems, *problems], specs)
            if problems:
                raise SpecProblems(problems)
            # Records others refer to go first (each object's sync_rank): customers before their
            # contacts and invoices, invoices before the payments applied to them.
            prepared.sort(key=lambda p: (p.spec.object.sync_rank, p.spec.name))
            locks = SyncLocks(tables)
            taken = [] if opts.dry_run else self._lock(locks, tables.schema, result.run_id, prepared)
            try:
                if opts.max_transactions is not None and not opts.dry_run:
                    self._check_price(tables, config, prepared, result.run_id, opts.max_transactions)
                if not opts.dry_run:
                    for run_id in runs.mark_abandoned():
                        self.progress.notice(
                            f"run {run_id} ended without recording its end: marked abandoned"
                        )
                    runs.start_run(result.run_id, command, result.target)
                self.progress.run_started(len(prepared))
                self._run_models(tables, runs, config, prepared, result, clients, calls)
            except (Interrupted, Exception) as failure:
                # A driver that saw the signal first may have failed with an error of its own.
                stop = failure if isinstance(failure, Interrupted) else interrupts.received()
                if stop is None:
                    raise
                # A write the signal cut short is discarded: its intents stay open for the next run.
                warehouse.rollback()
                result.interrupted_by, result.interrupt_exit_code = stop.signal_name, stop.exit_code
                pending = sum(m.counts["pending"] for m in result.models)
                result.message = f"interrupted by {stop.signal_name}" + (
                    f"; {pending} function(s) without an answer are resolved by the next run"
                    if pending
                    else ""
                )
            finally:
                with interrupts_held():
                    self._finish(result, runs, locks, taken, clients, calls, config)
            result.budget = self._budget(tables, config, prepared)
            if alert_rules and not opts.dry_run and result.interrupted_by is None:
                result.alerts = _send_alerts(tables, alert_rules, result)
        try:
            result.write(opts.dbt.project_dir / opts.target_path)
        except ArtifactError as exc:
            result.artifact_error = str(exc)  # the run itself is recorded in the warehouse
        return result

    def _finish(
        self,
        result: RunResult,
        runs: RunLog,
        locks: SyncLocks,
        taken: list[str],
        clients: dict[str, IntacctClient],
        calls: CallLog,
        config: IntacctConfig | None,
    ) -> None:
        """Close the clients, record the run's end and results, and release its locks."""
        opts = self.options
        for client in clients.values():
            stats = client.stats
            result.retries += stats.retries
            for kind, count in stats.faults.items():
                result.faults[kind] = result.faults.get(kind, 0) + count
            for kind, count in stats.faults_survived.items():
                result.faults_survived[kind] = result.faults_survived.get(kind, 0) + count
            client.close()
        result.finished_at = datetime.now(UTC)
        if not opts.dry_run:
            runs.record_api_calls(result.run_id, calls.drain())
            for model in result.models:
                runs.record_model_result(result.run_id, _model_row(model))
            runs.finish_run(result.run_id, result.status, _summary(result), result.message)
            runs.prune(config.retention_days if config else DEFAULT_RETENTION_DAYS)
        for lock_name in taken:
            locks.unlock(lock_name, result.run_id)

    def _run_models(
        self,
        tables: StateTables,
        runs: RunLog,
        config: IntacctConfig | None,
        prepared: list[PreparedModel],
        result: RunResult,
        clients: dict[str, IntacctClient],
        calls: CallLog,
    ) -> None:
        opts = self.options
        for model in prepared:
            connection = self._connection(config, model.spec)
            calls.model_id = model.spec.model_id

            def flush() -> None:
                runs.record_api_calls(result.run_id, calls.drain())

            sync = ModelSync(
                prepared=model,
                differ=Differ(tables),
                ledger=Ledger(tables),
                run_id=result.run_id,
                client=None
                if opts.dry_run
                else _lazy_client(clients, model.spec.connection, connection, calls, self.progress),
                batch_size=connection.batch_size if connection else 50,
                concurrency=connection.concurrency if connection else 1,
                dry_run=opts.dry_run,
                full_refresh=opts.full_refresh,
                progress=self.progress,
                after_batch=None if opts.dry_run else flush,
            )
            try:
                result.models.append(sync.run())
            except Interrupted:
                result.models.append(sync.result)
                raise
            except IntacctError as exc:
                result.models.append(sync.result)
                pending = sync.result.counts["pending"]
                result.message = f"stopped: {exc}" + (
                    f"; {pending} function(s) without an answer are resolved by the next run"
                    if pending
                    else ""
                )
            self.progress.model_finished(sync.result)
            interrupts.check()
            if result.message:
                break

    def _lock(self, locks: SyncLocks, schema: str, run_id: str, prepared: list[PreparedModel]) -> list[str]:
        """Take one lock per (state schema, connection) the run uses, waiting up to --lock-timeout."""
        names = sorted({f"dbt-intacct/{schema}/{p.spec.connection}" for p in prepared})
        taken: list[str] = []
        deadline = time.monotonic() + self.options.lock_timeout
        for name in names:
            waiting = False
            while (holder := locks.try_lock(name, run_id)) is not None:
                if not waiting and time.monotonic() < deadline:
                    self.progress.notice(
                        f"another dbt-intacct sync holds state schema {schema} ({holder}); waiting up to "
                        f"{self.options.lock_timeout:g} s (--lock-timeout)"
                    )
                    waiting = True
                if time.monotonic() >= deadline:
                    for done in taken:
                        locks.unlock(done, run_id)
                    raise SyncLocked(
                        f"another dbt-intacct sync is running against state schema {schema} "
                        f"({holder}); nothing was sent. Wait for it to finish, or pass --lock-timeout "
                        "SECONDS to wait."
                    )
                time.sleep(min(2.0, max(deadline - time.monotonic(), 0.1)))
            taken.append(name)
        return taken

    def _check_price(
        self,
        tables: StateTables,
        config: IntacctConfig | None,
        prepared: list[PreparedModel],
        run_id: str,
        limit: int,
    ) -> None:
        """--max-transactions: price the run as a plan would, and refuse to start if it costs more."""
        price = 0
        for model in prepared:
            connection = self._connection(config, model.spec)
            plan = ModelSync(
                prepared=model,
                differ=Differ(tables),
                ledger=Ledger(tables),
                run_id=run_id,
                client=None,
                batch_size=connection.batch_size if connection else 50,
                concurrency=1,
                dry_run=True,
                full_refresh=self.options.full_refresh,
                progress=SilentProgress(),
            )
            price += plan.run().api_transactions
        if price > limit:
            raise OverBudget(
                f"this sync would spend {price} Intacct API transactions, more than --max-transactions "
                f"{limit}; nothing was sent. Run `dbt-intacct plan` to see where they go."
            )

    def _budget(
        self, tables: StateTables, config: IntacctConfig | None, prepared: list[PreparedModel]
    ) -> Budget | None:
        connections = {p.spec.connection for p in prepared}
        budgets = [
            b
            for name in sorted(connections)
            if config and (b := config.connection(name).monthly_transaction_budget) is not None
        ]
        if not budgets:
            return None
        month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        return Budget(monthly=sum(budgets), spent_this_month=month_spend(tables, month_start))

    def _alert_rules(self, config: IntacctConfig | None) -> list[AlertRule]:
        if config is None or not config.alerts:
            return []
        return parse_alerts(config.alerts)

    def _config(self, specs: list[SyncSpec]) -> tuple[IntacctConfig | None, list[str]]:
        """intacct.yml (None for a plan without one), and the models whose connection it lacks."""
        opts = self.options
        try:
            config = load_config(opts.dbt.profiles_dir, opts.dbt.project_dir)
        except ConfigError:
            if opts.dry_run:
                return None, []  # a plan needs no credentials
            raise
        problems: list[str] = []
        for spec in specs:
            if spec.connection not in config.connections:
                try:
                    config.connection(spec.connection)
                except ConfigError as exc:
                    problems.append(f"model '{spec.name}', key 'connection': {exc}")
        return config, problems

    def _connection(self, config: IntacctConfig | None, spec: SyncSpec) -> Connection | None:
        return config.connection(spec.connection) if config else None


def _lazy_client(
    clients: dict[str, IntacctClient],
    name: str,
    connection: Connection | None,
    calls: CallLog,
    progress: Progress,
) -> Callable[[], IntacctClient]:
    def retrying(kind: str, delay: float | None, attempt: int, max_attempts: int) -> None:
        when = f"in {delay:.1f} s" if delay else "now"
        progress.notice(
            f"Intacct request failed ({kind}); retrying {when} (attempt {attempt} of {max_attempts})"
        )

    def get() -> IntacctClient:
        if name not in clients:
            if connection is None:
                raise ConfigError(f"connection '{name}' is not configured")
            clients[name] = IntacctClient(
                connection.credentials(),
                timeout=connection.timeout_seconds,
                retry=RetryPolicy(max_attempts=connection.max_retries + 1),
                on_call=calls,
                on_retry=retrying,
            )
        return clients[name]

    return get


class SyncLocked(ConfigError):
    """Another sync holds the lock of this state schema and connection."""


class OverBudget(ConfigError):
    """The run would spend more API transactions than --max-transactions allows."""


class CallLog:
    """Collects the client's API calls (redacted) until they are written to the warehouse."""

    def __init__(self) -> None:
        self._calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sequence = 0
        self.model_id: str | None = None

    def __call__(self, call: ApiCall) -> None:
        with self._lock:
            self._sequence += 1
            self._calls.append(
                {
                    "sequence": self._sequence,
                    "model_id": self.model_id,
                    "started_at": call.started_at.astimezone(UTC).replace(tzinfo=None),
                    "duration_ms": round(call.duration_ms, 3),
                    "url": call.url,
                    "http_status": call.http_status,
                    "outcome": str(call.outcome),
                    "function_count": call.function_count,
                    "attempt": call.attempt,
                    "fault": call.fault,
                    "error": call.error,
                    "request_xml": call.request_xml,
                    "response_xml": call.response_xml,
                }
            )

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            calls, self._calls = self._calls, []
        return calls


def _model_row(model: ModelResult) -> dict[str, Any]:
    return {
        "model_id": model.unique_id,
        "name": model.name,
        "object": model.object,
        "mode": model.mode,
        "status": "interrupted" if model.status == "interrupted" else "success" if model.ok else "error",
        "message": model.message,
        **{k: model.counts[k] for k in ("created", "updated", "cleared", "deleted", "unchanged")},
        **{k: model.counts[k] for k in ("rejected", "failed", "pending", "dropped")},
        "api_transactions": model.api_transactions,
        "elapsed_seconds": round(model.elapsed_seconds, 3),
        "timings": json.dumps(model.timings_json()),
    }


def _send_alerts(tables: StateTables, rules: list[AlertRule], result: RunResult) -> list[str]:
    """Tell the configured channels about a change of state; never fails the sync."""
    run = find_run(tables, result.run_id)
    if run is None:
        return []
    detail = load_detail(tables, run, status=None, row_limit=200, call_limit=0)
    decision = decide(rules, detail, load_states(tables, result.target))
    deliveries = send_all(decision.notifications)
    save_states(tables, result.target, result.run_id, settle(decision, deliveries))
    return [
        f"alert {d.alert}: {'sent' if d.delivered else 'NOT delivered'}{f' ({d.detail})' if d.detail else ''}"
        for d in deliveries
    ]


def _summary(result: RunResult) -> str:
    totals = result.totals()
    return ", ".join(f"{k}={v}" for k, v in sorted(totals.items()) if v) or "nothing to do"


def _by_model(problems: list[str], specs: list[SyncSpec]) -> list[str]:
    """Problems grouped by model, in the models' order (each message starts `model '<name>'`)."""
    order = {f"model '{spec.name}'": index for index, spec in enumerate(specs)}
    return sorted(problems, key=lambda text: order.get(text.split(",", 1)[0].split(":", 1)[0], len(order)))
