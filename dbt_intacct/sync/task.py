"""`sync` and `plan` as a task: manifest -> specs -> warehouse -> one ModelSync per model -> results."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dbt_intacct.client import Credentials, IntacctClient, RetryPolicy
from dbt_intacct.config import Connection, IntacctConfig, load_config
from dbt_intacct.dbt.manifest import intacct_models, load_manifest, manifest_path
from dbt_intacct.dbt.selection import Selection, selected_unique_ids
from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.errors import ConfigError, TerminalIntacctError
from dbt_intacct.sync.engine import ModelSync, Progress, prepare
from dbt_intacct.sync.results import RunResult
from dbt_intacct.sync.spec import SpecProblems, SyncSpec, parse_specs
from dbt_intacct.sync.state import StateStore


@dataclass(frozen=True)
class SyncOptions:
    dbt: DbtArgs
    selection: Selection = field(default_factory=Selection)
    dry_run: bool = False
    full_refresh: bool = False
    state_schema: str | None = None
    target_path: str = "target"


SYNC_ORDER = ("customer", "contact", "invoice", "transaction", "ar_adjustment", "ar_payment", "journal_entry")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


class SyncTask:
    """Runs `sync` (or `plan`, when dry_run) over the selected models."""

    def __init__(self, options: SyncOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress

    def load_specs(self) -> list[SyncSpec]:
        """The selected models' validated specs; raises ConfigError (exit code 2) on any mistake."""
        opts = self.options
        manifest = load_manifest(manifest_path(opts.dbt.project_dir, opts.target_path))
        every = intacct_models(manifest)
        models = every
        if not opts.selection.is_everything or opts.selection.state:
            wanted = selected_unique_ids(opts.dbt, opts.selection)
            models = [m for m in every if m.unique_id in wanted]
        return parse_specs(models, every)

    def run(self) -> RunResult:
        opts = self.options
        command = "plan" if opts.dry_run else "sync"
        specs = self.load_specs()
        config = self._config(specs)
        result = RunResult(run_id=new_run_id(), command=command, target="", started_at=datetime.now(UTC))
        clients: dict[str, IntacctClient] = {}
        with Warehouse(opts.dbt).open() as warehouse:
            result.target = warehouse.target_name
            schema = (
                opts.state_schema
                or (config.state_schema if config else None)
                or f"{warehouse.target_schema}_intacct"
            )
            store = StateStore(warehouse, schema, warehouse.target_database)
            store.ensure()
            prepared, problems = prepare(warehouse, specs)
            if problems:
                raise SpecProblems(problems)
            # Records others refer to go first: customers before their contacts and invoices, invoices
            # before the payments applied to them.
            prepared.sort(key=lambda p: (SYNC_ORDER.index(p.spec.object.name), p.spec.name))
            if not opts.dry_run:
                store.start_run(result.run_id, command, result.target)
            self.progress.run_started(len(prepared))
            try:
                for model in prepared:
                    connection = self._connection(config, model.spec)
                    sync = ModelSync(
                        prepared=model,
                        store=store,
                        run_id=result.run_id,
                        client=None
                        if opts.dry_run
                        else _lazy_client(clients, model.spec.connection, connection),
                        batch_size=connection.batch_size if connection else 50,
                        concurrency=connection.concurrency if connection else 1,
                        dry_run=opts.dry_run,
                        full_refresh=opts.full_refresh,
                        progress=self.progress,
                    )
                    try:
                        result.models.append(sync.run())
                    except TerminalIntacctError as exc:
                        result.models.append(sync.result)
                        sync.result.status = "error"
                        sync.result.message = str(exc)
                        result.message = f"stopped: {exc}"
                    self.progress.model_finished(sync.result)
                    if result.message:
                        break
            finally:
                for client in clients.values():
                    client.close()
                result.finished_at = datetime.now(UTC)
                if not opts.dry_run:
                    store.finish_run(result.run_id, result.status, _summary(result))
        result.write(opts.dbt.project_dir / opts.target_path)
        return result

    def _config(self, specs: list[SyncSpec]) -> IntacctConfig | None:
        opts = self.options
        try:
            config = load_config(opts.dbt.profiles_dir, opts.dbt.project_dir)
        except ConfigError:
            if opts.dry_run:
                return None  # a plan needs no credentials
            raise
        for spec in specs:
            if spec.connection not in config.connections:
                config.connection(spec.connection)  # raises with the known names
        return config

    def _connection(self, config: IntacctConfig | None, spec: SyncSpec) -> Connection | None:
        return config.connection(spec.connection) if config else None


def _lazy_client(
    clients: dict[str, IntacctClient], name: str, connection: Connection | None
) -> Callable[[], IntacctClient]:
    def get() -> IntacctClient:
        if name not in clients:
            if connection is None:
                raise ConfigError(f"connection '{name}' is not configured")
            clients[name] = IntacctClient(
                Credentials(
                    sender_id=connection.sender_id,
                    sender_password=connection.sender_password,
                    company_id=connection.company_id,
                    user_id=connection.user_id,
                    user_password=connection.user_password,
                    entity_id=connection.entity_id,
                    endpoint=connection.endpoint,
                ),
                timeout=connection.timeout_seconds,
                retry=RetryPolicy(max_attempts=connection.max_retries + 1),
            )
        return clients[name]

    return get


def _summary(result: RunResult) -> str:
    totals = result.totals()
    return ", ".join(f"{k}={v}" for k, v in sorted(totals.items()) if v) or "nothing to do"
