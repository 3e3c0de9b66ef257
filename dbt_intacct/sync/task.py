"""`sync` and `plan` as a task: manifest -> specs -> warehouse -> one ModelSync per model -> results."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dbt_intacct import interrupts
from dbt_intacct.client import IntacctClient
from dbt_intacct.config import DEFAULT_RETENTION_DAYS, Connection, IntacctConfig, load_config
from dbt_intacct.dbt.manifest import intacct_models, load_manifest, manifest_path
from dbt_intacct.dbt.parsing import manifest_freshness, parse_project, require_project
from dbt_intacct.dbt.selection import Selection, selected_unique_ids
from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.errors import ArtifactError, ConfigError, IntacctError, Interrupted, LoginRefused
from dbt_intacct.interrupts import interrupts_held, interrupts_raised
from dbt_intacct.observe.alerts import AlertRule, decide, parse_alerts, send_all, settle
from dbt_intacct.observe.alerts.state import load_states, save_states
from dbt_intacct.observe.history import find_run, load_detail
from dbt_intacct.observe.progress_file import ProgressFile
from dbt_intacct.results import Progress, RunResult, SilentProgress
from dbt_intacct.state import Differ, Ledger, RunLog, StateTables, SyncLocks
from dbt_intacct.sync import saved_plan as saved
from dbt_intacct.sync.budget import check_price, monthly_budget
from dbt_intacct.sync.calls import CallLog, lazy_client
from dbt_intacct.sync.company import run_company_check
from dbt_intacct.sync.guard import GuardLimits, connection_limits
from dbt_intacct.sync.model import ModelSync, PreparedModel, prepare
from dbt_intacct.sync.plan_file import PlanCapture, PlannedModel, SavedPlan, load_plan
from dbt_intacct.sync.plan_summary import write_plan
from dbt_intacct.sync.removed import removed_models, removed_warning
from dbt_intacct.sync.run_rows import by_model, model_row, stopped_by, summary
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
    allow_over_budget: bool = False  # send even when the run would take the month over its budget
    company_check: bool = True  # check the mappings against the company's object definitions first
    parse: bool = True  # parse the project first when the manifest is out of date (--no-parse: never)
    allow_large_changes: bool = False  # lift the guard against mass changes for this run
    plan_out: Path | None = None  # plan --out: write the plan to this file (and its summary beside it)
    plan_file: Path | None = None  # sync --plan: apply this saved plan, exactly


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


class SyncTask:
    """Runs `sync` (or `plan`, when dry_run) over the selected models."""

    def __init__(self, options: SyncOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self._project_models: frozenset[str] = frozenset()  # every model with an intacct block
        self.saved: SavedPlan | None = load_plan(options.plan_file) if options.plan_file else None
        self._planned: list[PlannedModel] = []  # plan --out: each model as the plan file has it
        self._captures: dict[str, PlanCapture] = {}
        self._prices: dict[str, int] = {}  # API transactions per model, when the run was priced
        self._heartbeat: Callable[[], None] = lambda: None  # renews the run's lock rows (SyncLocks.refresh)

    def load_specs(self) -> list[SyncSpec]:
        """The selected models' validated specs; raises ConfigError (exit code 2) on any mistake."""
        parsed = self._read_specs()
        if parsed.problems:
            raise SpecProblems(parsed.problems)
        return parsed.specs

    def _read_specs(self) -> ParsedSpecs:
        """The selected models' specs and every problem in their blocks."""
        opts = self.options
        path = manifest_path(opts.dbt.project_dir, opts.target_path)
        if opts.parse:
            require_project(opts.dbt.project_dir)
            stale = manifest_freshness(opts.dbt, path, opts.target_path).reason
            if stale is not None:
                self.progress.notice(f"Parsing the project: {stale}")
                parse_project(opts.dbt, opts.target_path)
        manifest = load_manifest(path)
        every = intacct_models(manifest)
        self._project_models = frozenset(m.unique_id for m in every)
        models = every
        if self.saved is not None:
            return read_specs(saved.models_of_plan(self.saved, every), every)
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
            try:
                return self._run()
            except BaseException as exc:
                if isinstance(self.progress, ProgressFile):
                    self.progress.close(error=str(exc) or type(exc).__name__)
                raise
            finally:
                if isinstance(self.progress, ProgressFile) and self.progress.phase != "finished":
                    self.progress.close()

    def _run(self) -> RunResult:
        opts = self.options
        command = "plan" if opts.dry_run else "sync"
        started = time.monotonic()
        parsed = self._read_specs()
        specs = parsed.specs
        config, connection_problems = self._config(specs)
        alert_rules = self._alert_rules(config)
        result = RunResult(run_id=new_run_id(), command=command, target="", started_at=datetime.now(UTC))
        if self.saved is not None:
            result.saved_plan = {"id": self.saved.checksum}
        clients: dict[str, IntacctClient] = {}
        calls = CallLog()
        with Warehouse(opts.dbt).open(opts.lock_timeout, self.progress.notice) as warehouse:
            result.target = warehouse.target_name
            result.startup_seconds = time.monotonic() - started
            tables = StateTables.of_target(
                warehouse, opts.state_schema or (config.state_schema if config else None)
            )
            tables.ensure()
            # A model gone from the project while its records are still tracked: said on every run.
            for removed in removed_models(tables, self._project_models):
                result.removed_models.append(removed)
                self.progress.notice("WARNING: " + removed_warning(removed))
            runs = RunLog(tables)
            prepared, problems = prepare(warehouse, specs)
            # Every mistake of every selected model, in one message: the block's, the connection's,
            # the columns' (checked for blocks with mistakes too).
            problems = by_model([*parsed.problems, *connection_problems, *problems], specs)
            if problems:
                raise SpecProblems(problems)
            # Records others refer to go first (each object's sync_rank): customers before their
            # contacts and invoices, invoices before the payments applied to them.
            prepared.sort(key=lambda p: (p.spec.object.sync_rank, p.spec.name))
            locks = SyncLocks(tables)
            taken = [] if opts.dry_run else self._lock(locks, tables.schema, result.run_id, prepared)
            self._heartbeat = lambda: locks.refresh(taken, result.run_id)
            if not opts.dry_run:  # `show` and `runs` read it while this sync holds a DuckDB file
                self.progress = ProgressFile(self.progress, opts.dbt.project_dir / opts.target_path, result)
            try:
                if self.saved is not None:
                    saved.check_before_apply(self.saved, tables, runs, prepared, result.target)
                if opts.plan_out is not None:
                    saved.refuse_open_intents(tables, prepared)
                override = None
                if not opts.dry_run:
                    check = check_price(
                        tables=tables,
                        config=config,
                        prepared=prepared,
                        priced=lambda: self._run_price(tables, config, prepared, result.run_id),
                        max_transactions=opts.max_transactions,
                        allow_over_budget=opts.allow_over_budget,
                    )
                    if check is not None and check.over_by:
                        override = check.override_note()
                        result.budget_override = override
                        self.progress.notice("WARNING: over the monthly budget, sent anyway: " + override)
                    # Models the pricing found nothing to send for need no check (no-op runs call nothing).
                    priced = self._prices
                    writing = [p for p in prepared if priced.get(p.spec.model_id, 1)]
                    self._company_check(tables, config, writing, clients, calls)
                    for run_id in runs.mark_abandoned():
                        self.progress.notice(
                            f"run {run_id} ended without recording its end: marked abandoned"
                        )
                    runs.start_run(
                        result.run_id,
                        command,
                        result.target,
                        budget_override=override,
                        large_changes_allowed=opts.allow_large_changes
                        or (self.saved is not None and self.saved.allow_large_changes),
                        plan_id=self.saved.checksum if self.saved else None,
                    )
                self.progress.run_started(len(prepared))
                self._run_models(tables, runs, config, prepared, result, clients, calls)
                if opts.dry_run:
                    ids = {m.unique_id for m in result.models if m.api_transactions}
                    planned = [p for p in prepared if p.spec.model_id in ids]
                    self._company_check(tables, config, planned, clients, calls)
                if opts.plan_out is not None and not result.message:
                    self._write_plan(tables, result)
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
            result.budget = monthly_budget(tables, config, prepared)
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
                runs.record_model_result(result.run_id, model_row(model))
            runs.finish_run(result.run_id, result.status, summary(result), result.message)
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
            self._heartbeat()
            connection = self._connection(config, model.spec)
            calls.model_id = model.spec.model_id
            held = saved.held_in_plan(self.saved, model.spec.model_id) if self.saved else None
            if held is not None:
                result.models.append(held)
                self.progress.model_finished(held)
                continue
            capture = PlanCapture() if opts.plan_out is not None else None
            if capture is not None:
                self._captures[model.spec.model_id] = capture
                taken = saved.model_fingerprint(tables, model)

            def flush() -> None:
                runs.record_api_calls(result.run_id, calls.drain())
                self._heartbeat()

            sync = ModelSync(
                prepared=model,
                differ=Differ(tables),
                ledger=Ledger(tables),
                run_id=result.run_id,
                client=None
                if opts.dry_run and capture is None
                else lazy_client(clients, model.spec.connection, connection, calls, self.progress),
                batch_size=connection.batch_size if connection else 50,
                concurrency=connection.concurrency if connection else 1,
                dry_run=opts.dry_run,
                full_refresh=opts.full_refresh,
                progress=self.progress,
                after_batch=None if opts.dry_run else flush,
                guard=self._guard(connection, model.spec),
                capture=capture,
                replay=self.saved.functions_of(model.spec.model_id) if self.saved else None,
                replay_reposts=self.saved.reposts_of(model.spec.model_id) if self.saved else None,
            )
            try:
                result.models.append(sync.run())
                if capture is not None:
                    self._planned.append(saved.planned_model(model, sync.result, taken, capture))
            except Interrupted:
                result.models.append(sync.result)
                raise
            except IntacctError as exc:
                result.models.append(sync.result)
                result.message = stopped_by(exc, model.spec.connection, result)
                # A refused login is a configuration error (exit 2), whatever the other models did.
                result.config_error = isinstance(exc, LoginRefused)
            self.progress.model_finished(sync.result)
            interrupts.check()
            if result.message:
                break

    def _write_plan(self, tables: StateTables, result: RunResult) -> None:
        """plan --out: the plan file and its markdown summary."""
        opts = self.options
        assert opts.plan_out is not None
        plan = saved.new_plan(
            target=result.target,
            state_schema=tables.schema,
            allow_large_changes=opts.allow_large_changes,
            full_refresh=opts.full_refresh,
            models=self._planned,
            captures=self._captures,
        )
        summary = write_plan(plan, opts.plan_out)
        result.saved_plan = {
            "path": str(opts.plan_out),
            "summary": str(summary),
            "id": plan.checksum,
            "functions": len(plan.functions),
        }

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

    def _run_price(
        self, tables: StateTables, config: IntacctConfig | None, prepared: list[PreparedModel], run_id: str
    ) -> int:
        """What the run will spend: a saved plan's own figure, or each model priced as a plan prices it."""
        if self.saved is not None:
            return self.saved.api_transactions
        self._prices = {model.spec.model_id: self._price(tables, config, model, run_id) for model in prepared}
        return sum(self._prices.values())

    def _company_check(
        self,
        tables: StateTables,
        config: IntacctConfig | None,
        models: list[PreparedModel],
        clients: dict[str, IntacctClient],
        calls: CallLog,
    ) -> None:
        """The models' mappings checked against the company's definitions (--no-company-check: never)."""
        if not self.options.company_check or config is None or not models:
            return
        run_company_check(
            tables=tables,
            models=models,
            company_of=lambda p: config.connection(p.spec.connection).company_id,
            client_of=lambda p: lazy_client(
                clients, p.spec.connection, config.connection(p.spec.connection), calls, self.progress
            ),
            plan=self.options.dry_run,
            notice=self.progress.notice,
        )

    def _price(
        self, tables: StateTables, config: IntacctConfig | None, model: PreparedModel, run_id: str
    ) -> int:
        """The API transactions a sync of one model would spend, priced as a plan prices them."""
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
            guard=self._guard(connection, model.spec),
        )
        return plan.run().api_transactions

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
            if opts.dry_run and opts.plan_out is None:
                return None, []  # a plan needs no credentials (a saved one matches records in Intacct)
            raise
        problems: list[str] = []
        for spec in specs:
            if spec.connection not in config.connections:
                try:
                    config.connection(spec.connection)
                except ConfigError as exc:
                    problems.append(f"model '{spec.name}', key 'connection': {exc}")
        return config, problems

    def _guard(self, connection: Connection | None, spec: SyncSpec) -> GuardLimits | None:
        """The guard's limits for a model (its own over its connection's); None when lifted."""
        if self.options.allow_large_changes:
            return None
        if connection is None:
            return spec.limits
        return spec.limits.over(connection_limits(connection))

    def _connection(self, config: IntacctConfig | None, spec: SyncSpec) -> Connection | None:
        return config.connection(spec.connection) if config else None


class SyncLocked(ConfigError):
    """Another sync holds the lock of this state schema and connection."""


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
