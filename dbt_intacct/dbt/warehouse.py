"""The user's warehouse, reached through the dbt adapter of their profile and target.

This is the only module that talks to dbt's adapter machinery. It loads the user's project and profile the
way `dbt run-operation` does, adds the package's own macros (``dbt_intacct/dbt_project``) next to them, and
gives the sync engine four things: render one of our macros to SQL, run a statement, read small control
results, and stream row data in pages through the cursor (never a fetch-all).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dbt_intacct.dbt.values import (
    STRUCTS_AS_ROWS,
    UPPER_CASE_FOLDING,
    FoldedRow,
    bindable,
    fetch_bounded,
    plain,
    string_literal,
)
from dbt_intacct.errors import ConfigError, WarehouseError

PACKAGE_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
CONNECTION_NAME = "dbt-intacct"
ASIDE_CONNECTION_NAME = "dbt-intacct-aside"
# Warehouses that run the statements of two connections at once, each in a process of its own, so that a
# read aside (`Warehouse.fetch_aside`) uses another core. DuckDB shares one process and its threads.
_CONCURRENT_CONNECTIONS = frozenset({"postgres"})
# The longest insert statement the tool writes, in characters (a row longer than this is one statement
# of its own): under BigQuery's 1 MB limit on a query's text, with room for multi-byte characters.
MAX_STATEMENT_CHARS = 250_000


@dataclass(frozen=True)
class DbtArgs:
    """The dbt-named options every command takes."""

    project_dir: Path
    profiles_dir: Path | None = None
    target: str | None = None
    profile: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)

    def resolved_profiles_dir(self) -> Path:
        """Where profiles.yml is: `profiles_dir` (the flag or DBT_PROFILES_DIR), the project, or ~/.dbt."""
        if self.profiles_dir is not None:
            return self.profiles_dir
        if (self.project_dir / "profiles.yml").exists():
            return self.project_dir
        return Path.home() / ".dbt"

    def command_flags(self) -> list[str]:
        """These options as flags of a dbt command run through dbt's runner (`parse`, `ls`)."""
        import yaml

        flags = ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.resolved_profiles_dir())]
        if self.target:
            flags += ["--target", self.target]
        if self.profile:
            flags += ["--profile", self.profile]
        if self.vars:
            # YAML, as the user wrote them: a date stays a date for dbt (JSON has none).
            flags += ["--vars", yaml.safe_dump(dict(self.vars), default_flow_style=True).strip()]
        return flags


# Flags before a dbt command run through dbt's runner: nothing of its logging on the tool's output.
DBT_QUIET = ["--log-level", "none", "--log-level-file", "none", "--no-send-anonymous-usage-stats"]


@dataclass(frozen=True)
class WarehouseColumn:
    name: str


def _silence_dbt_events() -> None:
    # dbt prints adapter registration and every SQL statement through its event system; our own output is
    # the progress display and the summary, so dbt's loggers are removed.
    from dbt_common.events.event_manager_client import cleanup_event_logger

    cleanup_event_logger()


class Warehouse:
    """One open connection to the warehouse of the user's dbt profile and target."""

    def __init__(self, args: DbtArgs) -> None:
        self.args = args
        self._adapter: Any = None
        self._config: Any = None
        self._manifest: Any = None
        self._aside: ThreadPoolExecutor | None = None

    # -- life cycle -------------------------------------------------------------------------------------
    @contextmanager
    def open(
        self, busy_timeout: float = 0.0, on_busy: Callable[[str], None] | None = None
    ) -> Iterator[Warehouse]:
        """Load the project, profile and macros, and hold one named connection for the block.

        A warehouse that refuses a second writer (a DuckDB file another process has open) is tried again
        for up to `busy_timeout` seconds; `on_busy` is told once, with the reason, when it starts waiting.
        """
        self._load()
        adapter = self._adapter
        try:
            with adapter.connection_named(CONNECTION_NAME):
                self._connect(busy_timeout, on_busy)
                self._prepare_connection()
                yield self
                self.commit()
        finally:
            if self._aside is not None:
                self._aside.shutdown(wait=True)
                self._aside = None
            adapter.cleanup_connections()

    def _load(self) -> None:
        from argparse import Namespace

        from dbt_intacct.dbt import macro_cache
        from dbt_intacct.dbt.setup import prepare_dbt

        prepare_dbt()

        from dbt.adapters.factory import get_adapter, register_adapter, reset_adapters
        from dbt.config.runtime import RuntimeConfig
        from dbt.context.providers import generate_runtime_macro_context
        from dbt.flags import set_from_args
        from dbt.mp_context import get_mp_context
        from dbt_common.context import set_invocation_context
        from dbt_common.exceptions import DbtBaseException

        project_dir = self.args.project_dir
        if not (project_dir / "dbt_project.yml").exists():
            raise ConfigError(
                f"no dbt_project.yml in {project_dir}: run from your dbt project or pass --project-dir"
            )
        ns = Namespace(
            project_dir=str(project_dir),
            profiles_dir=str(self.args.resolved_profiles_dir()),
            target=self.args.target,
            profile=self.args.profile,
            vars=dict(self.args.vars),
            threads=1,
            single_threaded=True,
            which="run-operation",
            log_level="none",
            log_level_file="none",
            send_anonymous_usage_stats=False,
            partial_parse=False,
        )
        set_from_args(ns, None)
        # env_var() in profiles.yml and dbt_project.yml reads the invocation context, as in a dbt command.
        set_invocation_context(dict(os.environ))
        _silence_dbt_events()
        try:
            config = RuntimeConfig.from_args(ns)
        except DbtBaseException as exc:
            raise ConfigError(f"dbt could not load the project or profile: {exc}") from exc
        reset_adapters()  # type: ignore[no-untyped-call]
        register_adapter(config, get_mp_context())
        adapter = get_adapter(config)
        dependencies: dict[str, Any] = config.load_dependencies()  # type: ignore[assignment]
        for name, project in config.load_projects([PACKAGE_PROJECT_DIR]):
            # A user who also installed our dbt package (for its generic tests) already has it.
            dependencies.setdefault(name, project)
        manifest = macro_cache.load_macros(config)
        adapter.set_macro_resolver(manifest)
        adapter.set_macro_context_generator(generate_runtime_macro_context)
        self._config, self._adapter, self._manifest = config, adapter, manifest

    def _connect(self, busy_timeout: float, on_busy: Callable[[str], None] | None) -> None:
        """Open the connection now, so that a busy or unreachable warehouse is reported clearly."""
        deadline = time.monotonic() + busy_timeout
        waited = False
        while True:
            try:
                self._adapter.connections.add_query("select 1", auto_begin=False)
                return
            except Exception as exc:
                if not ("lock" in str(exc).lower() and self.adapter_type == "duckdb"):
                    raise WarehouseError(f"cannot connect to the warehouse: {_first_line(exc)}") from exc
                reason = (
                    "the DuckDB file is in use by another process (another dbt-intacct sync, or dbt?): "
                    f"{_first_line(exc)}"
                )
                left = deadline - time.monotonic()
                if left <= 0:
                    wait = f" after waiting {busy_timeout:g} s (--lock-timeout)" if waited else ""
                    raise WarehouseBusy(
                        f"{reason}. Nothing was sent{wait}; run again when it has finished, or pass "
                        "--lock-timeout SECONDS to wait for it."
                    ) from None
                if not waited and on_busy is not None:
                    on_busy(f"{reason}; waiting up to {busy_timeout:g} s (--lock-timeout)")
                waited = True
                time.sleep(min(1.0, left))

    def _prepare_connection(self) -> None:
        """Driver settings for reading row data faithfully."""
        handle = self._adapter.connections.get_thread_connection().handle
        if type(handle).__module__.startswith("psycopg2"):
            # json/jsonb line arrays: numbers as Decimal, so amounts keep their cents exactly.
            import psycopg2.extras

            def loads(text: str | bytes) -> Any:
                return json.loads(text, parse_float=Decimal)

            psycopg2.extras.register_default_json(handle, loads=loads)
            psycopg2.extras.register_default_jsonb(handle, loads=loads)
        elif type(handle).__module__ == "dbt.adapters.spark.session":
            # dbt-spark's session method asks for the session with its settings at every statement, and
            # Spark logs a warning each time that it exists already: hundreds of lines on stderr per sync.
            # The local session's log level is set to ERROR once it has started.
            self.fetch_small("select 1")
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession()
            if session is not None:
                session.sparkContext.setLogLevel("ERROR")

    # -- facts --------------------------------------------------------------------------------------------
    @property
    def adapter_type(self) -> str:
        return str(self._adapter.type())

    @property
    def target_name(self) -> str:
        return str(self._config.target_name)

    @property
    def target_schema(self) -> str:
        return str(self._config.credentials.schema)

    @property
    def target_database(self) -> str | None:
        database = getattr(self._config.credentials, "database", None)
        return str(database) if database else None

    def relation(self, database: str | None, schema: str, identifier: str) -> Any:
        """A dbt relation object; rendering it quotes each part as the adapter requires."""
        return self._adapter.Relation.create(database=database, schema=schema, identifier=identifier)

    def create_schema(self, database: str | None, schema: str) -> None:
        """Create a schema if it is missing, with the adapter's own `create_schema` macro."""
        relation = self._adapter.Relation.create(database=database, schema=schema)
        try:
            self._adapter.create_schema(relation)
        except Exception as exc:
            raise WarehouseError(f"could not create schema {schema}: {_first_line(exc)}") from exc

    def relation_exists(self, relation: Any) -> bool:
        found = self._adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        )
        return found is not None

    def relation_kinds(self, database: str | None, schema: str) -> dict[str, str]:
        """The relations of a schema, by lower-case name: 'table', 'view' (or another dbt type)."""
        relation = self._adapter.Relation.create(database=database, schema=schema)
        try:
            found = self._adapter.list_relations_without_caching(relation)
        except Exception as exc:
            raise WarehouseError(f"could not list the relations of {schema}: {_first_line(exc)}") from exc
        return {str(r.identifier).lower(): str(getattr(r.type, "value", r.type)) for r in found}

    def columns(self, relation: Any) -> list[WarehouseColumn]:
        """The relation's real columns, as a query of it returns them.

        Read from the cursor, not from the adapter's catalogue macros: those splice the relation's name
        into a string literal unescaped (dbt-postgres), so a model named with a quote would break them.
        """
        try:
            _, cursor = self._adapter.connections.add_query(
                f"select * from {relation} where 1 = 0", auto_begin=True
            )
            names = [str(d[0]) for d in cursor.description]
            cursor.fetchall()  # nothing: the statement is finished before the next one
        except Exception as exc:
            raise WarehouseError(f"could not read the columns of {relation}: {_first_line(exc)}") from exc
        return [WarehouseColumn(name=name) for name in names]

    def quote(self, identifier: str) -> str:
        return str(self._adapter.quote(identifier))

    # -- SQL ------------------------------------------------------------------------------------------
    def render(self, macro_name: str, **kwargs: Any) -> str:
        """Render one of the package's macros (they return SQL text; none of them runs anything)."""
        from dbt.clients.jinja import MacroGenerator
        from dbt.context.providers import generate_runtime_macro_context

        macro = self._manifest.find_macro_by_name(macro_name, self._config.project_name, None)
        if macro is None:
            raise WarehouseError(f"macro {macro_name} is missing from the dbt_intacct package")
        context = generate_runtime_macro_context(macro, self._config, self._manifest, None)
        return str(MacroGenerator(macro, context)(**kwargs)).strip()

    def execute(self, sql: str) -> None:
        """Run a statement whose result is not needed (DDL, inserts, deletes)."""
        try:
            # No cursor.close(): dbt-duckdb hands out one shared cursor per connection, and closing it
            # closes the connection.
            self._adapter.connections.add_query(sql, auto_begin=True)
        except Exception as exc:
            raise WarehouseError(_first_line(exc)) from exc

    def insert_rows(self, relation: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to one of the tool's own tables in one statement.

        On DuckDB the values are bound, one list per column, and unnested: DuckDB's parser spends about
        0.1 ms per row of a literal VALUES list, ten times what the insert itself costs, and a sync
        writes every row twice (intent, outcome) to two tables. Elsewhere, a literal VALUES list, in
        as many statements as keep each under `MAX_STATEMENT_CHARS` (BigQuery refuses a query text over
        1 MB; a ledger row holds a whole function).
        """
        if not rows:
            return
        names = ", ".join(columns)
        if self.adapter_type != "duckdb":
            head = f"insert into {relation} ({names}) values\n"
            batch: list[str] = []
            size = len(head)
            for row in rows:
                value = "(" + ", ".join(self.literal(v) for v in row) + ")"
                if batch and size + len(value) + 2 > MAX_STATEMENT_CHARS:
                    self.execute(head + ",\n".join(batch))
                    batch, size = [], len(head)
                batch.append(value)
                size += len(value) + 2
            self.execute(head + ",\n".join(batch))
            return
        lists = [[bindable(v) for v in column] for column in zip(*rows, strict=True)]
        unnested = ", ".join("unnest(?)" for _ in columns)
        connections = self._adapter.connections
        try:
            # Straight to the cursor, in dbt's transaction: add_query's events cost more than the insert
            # itself for a batch of 50 outcomes (3.5 ms against 1.3 ms).
            connection = connections.get_thread_connection()
            if not connection.transaction_open:
                connections.begin()
            connection.handle.cursor().execute(f"insert into {relation} ({names}) select {unnested}", lists)
        except Exception as exc:
            raise WarehouseError(_first_line(exc)) from exc

    def execute_script(self, statements: Sequence[str]) -> None:
        for statement in statements:
            if statement.strip():
                self.execute(statement)

    def fetch_small(self, sql: str, limit: int = 10_000) -> list[tuple[Any, ...]]:
        """Read a bounded control result (counts, a sample of bad keys); never used for row data."""
        try:
            _, cursor = self._adapter.connections.add_query(sql, auto_begin=True)
            rows = fetch_bounded(cursor, limit)
        except Exception as exc:
            raise WarehouseError(_first_line(exc)) from exc
        return [tuple(r) for r in rows]

    def fetch_aside(self, sql: str, limit: int, settings: str = "") -> Future[list[tuple[Any, ...]]] | None:
        """Start a bounded read on a second connection, in a thread, while this one runs other statements.

        Only where the warehouse runs two connections' statements in parallel (Postgres: a process each);
        None elsewhere, and the caller runs its statement the ordinary way. The second connection sees
        committed data only (not this connection's temporary tables), reads in a transaction of its own
        that ends with the read, and stays open for the next read until the warehouse is closed.
        """
        if self.adapter_type not in _CONCURRENT_CONNECTIONS:
            return None
        if self._aside is None:
            self._aside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbt-intacct-aside")
        adapter = self._adapter

        def read() -> list[tuple[Any, ...]]:
            # dbt keys connections by thread: this thread's is the second connection.
            adapter.connections.set_connection_name(ASIDE_CONNECTION_NAME)
            try:
                if settings:
                    self.execute(settings)
                return self.fetch_small(sql, limit)
            finally:
                adapter.connections.rollback_if_open()

        return self._aside.submit(read)

    def read_page(self, sql: str, limit: int) -> list[dict[str, Any]]:
        """Read one bounded page of row data through the cursor (`fetchmany`, never a fetch-all).

        Callers page through large results with several bounded queries rather than one long-lived
        cursor: the tool writes its state between pages, and some adapters (dbt-duckdb) share one cursor
        per connection, so a second statement would cut a pending result short.
        """
        try:
            _, cursor = self._adapter.connections.add_query(sql, auto_begin=True)
            names = [d[0] for d in cursor.description]
            rows = fetch_bounded(cursor, limit)
        except Exception as exc:
            raise WarehouseError(_first_line(exc)) from exc
        if self.adapter_type in UPPER_CASE_FOLDING:
            return [FoldedRow(zip(names, row, strict=True)) for row in rows]
        if self.adapter_type in STRUCTS_AS_ROWS:
            return [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in rows]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def commit(self) -> None:
        connections = self._adapter.connections
        connection = connections.get_if_exists()
        if connection is not None and connection.transaction_open:
            try:
                connections.commit()
            except Exception as exc:
                raise WarehouseError(f"could not commit: {_first_line(exc)}") from exc

    def rollback(self) -> None:
        """Discard what the connection's open transaction wrote (a write cut short by an interrupt).

        The driver's own transaction is rolled back, whatever dbt believes: a driver that aborted a
        statement on a signal (DuckDB) leaves a transaction dbt does not know is open."""
        connection = self._adapter.connections.get_if_exists()
        if connection is None:
            return
        try:
            connection.handle.rollback()
        except Exception as exc:
            if "no transaction" not in str(exc).lower():
                raise WarehouseError(f"could not roll back: {_first_line(exc)}") from exc
        connection.transaction_open = False

    # -- literals ---------------------------------------------------------------------------------------
    def literal(self, value: Any) -> str:
        """A SQL literal for a value the tool itself writes into its own tables."""
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | Decimal):
            return str(value)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, datetime):
            return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
        if isinstance(value, date):
            return f"cast('{value.isoformat()}' as date)"
        text = str(value)
        if "\x00" in text:
            text = text.replace("\x00", "")
        return string_literal(text, self.adapter_type)


class WarehouseBusy(ConfigError):
    """The warehouse refuses a second writer (DuckDB's file lock): nothing was sent."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # dbt wraps driver errors as "Runtime Error\n  <driver message>"; the driver message is what helps.
    if len(lines) > 1 and lines[0].lower() in {"runtime error", "database error"}:
        return " ".join(lines[1:3])
    return lines[0] if lines else type(exc).__name__
