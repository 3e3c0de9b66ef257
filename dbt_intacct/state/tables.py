"""The tool's own tables in the user's warehouse: their names, columns, statuses, and their creation.

Every table lives in one schema (the state schema, `<target schema>_intacct` unless configured):
`StateTables` holds its relations and creates what is missing; the modules beside this one read and
write them (`ledger`: row state and the append-only ledger; `diff`: a model compared with its state;
`runs`: run history and API calls; `locks`: one sync at a time). Alert state is `observe.alerts`'.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dbt_intacct.dbt.warehouse import Warehouse

if TYPE_CHECKING:
    from dbt_intacct.state.append import AppendLog
from dbt_intacct.errors import WarehouseError

STATE_TABLE = "intacct_state"
LEDGER_TABLE = "intacct_ledger"
RUNS_TABLE = "intacct_runs"
MODEL_RESULTS_TABLE = "intacct_model_results"
API_CALLS_TABLE = "intacct_api_calls"
ALERT_STATE_TABLE = "intacct_alert_state"
LOCKS_TABLE = "intacct_locks"
DEFINITIONS_TABLE = "intacct_company_definitions"
# Statuses a state row can have.
OK, FAILED, REJECTED, PENDING, DELETED, CLEARED, DROPPED, REVERSED = (
    "ok",
    "failed",
    "rejected",
    "pending",
    "deleted",
    "cleared",
    "dropped",
    "reversed",  # its posted entry was reversed: no live record (the ledger names the reversal)
)
# Statuses after which the row counts as written: its version moves on when a function was sent.
WRITTEN = frozenset({OK, DELETED, CLEARED, REVERSED})

# The tool's tables: (column, kind, not null). New columns go at the end; `ensure` adds them to tables
# an older version created.
#   intacct_state   one row per (model, row key): what Intacct holds for that row now.
#   intacct_ledger  append-only: each intent (before a request leaves) and each outcome (after Intacct
#                   answers), with the function XML sent; passwords are never part of a function.
#   intacct_runs    one row per command run.
#   intacct_model_results  one row per (run, model): the counts the summary shows.
#   intacct_api_calls      one row per HTTP exchange with Intacct, bodies redacted (pruned by retention).
#   intacct_alert_state    one row per (target, alert): the state alerts last announced.
#   intacct_locks          held sync locks, on warehouses with no session lock of their own.
TABLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    STATE_TABLE: (
        ("model_id", "string", True),
        ("row_key", "string", True),
        ("row_hash", "string", False),
        ("status", "string", True),
        ("recordno", "string", False),
        ("intacct_id", "string", False),
        ("version", "int", True),
        ("controlid", "string", False),
        ("action", "string", False),
        ("errorno", "string", False),
        ("error", "string", False),
        ("line_counts", "string", False),
        ("run_id", "string", True),
        ("updated_at", "timestamp", True),
        ("entity", "string", False),  # the entity its record belongs to ('' top level); NULL: no `entity:`
    ),
    LEDGER_TABLE: (
        ("run_id", "string", True),
        ("model_id", "string", True),
        ("row_key", "string", False),
        ("row_hash", "string", False),
        ("event", "string", True),
        ("action", "string", False),
        ("status", "string", True),
        ("controlid", "string", False),
        ("recordno", "string", False),
        ("intacct_id", "string", False),
        ("errorno", "string", False),
        ("message", "string", False),
        ("payload", "string", False),
        ("recorded_at", "timestamp", True),
    ),
    RUNS_TABLE: (
        ("run_id", "string", True),
        ("command", "string", True),
        ("target", "string", False),
        ("status", "string", True),
        ("started_at", "timestamp", True),
        ("finished_at", "timestamp", False),
        ("summary", "string", False),
        ("message", "string", False),
        ("holder", "string", False),  # host:pid:start of the process that ran it; NULL in older rows
        # set when --allow-over-budget let a sync go over the monthly budget: what it planned and the month
        ("budget_override", "string", False),
        ("large_changes_allowed", "int", False),  # 1: --allow-large-changes lifted the guard
        ("plan_id", "string", False),  # the saved plan it applied (`sync --plan`): the plan file's checksum
    ),
    MODEL_RESULTS_TABLE: (
        ("run_id", "string", True),
        ("model_id", "string", True),
        ("name", "string", True),
        ("object", "string", True),
        ("mode", "string", True),
        ("status", "string", True),
        ("message", "string", False),
        ("created", "int", True),
        ("updated", "int", True),
        ("cleared", "int", True),
        ("deleted", "int", True),
        ("unchanged", "int", True),
        ("rejected", "int", True),
        ("failed", "int", True),
        ("pending", "int", True),
        ("dropped", "int", True),
        ("api_transactions", "int", True),
        ("elapsed_seconds", "float", True),
        ("timings", "string", False),  # seconds per phase, JSON (results.PHASES); NULL in older rows
        ("recorded_at", "timestamp", True),
        ("reversed", "int", False),  # posted entries reversed; NULL in older rows
    ),
    API_CALLS_TABLE: (
        ("run_id", "string", True),
        ("sequence", "int", True),
        ("model_id", "string", False),
        ("started_at", "timestamp", True),
        ("duration_ms", "float", True),
        ("url", "string", True),
        ("http_status", "int", False),
        ("outcome", "string", True),
        ("function_count", "int", True),
        ("attempt", "int", True),
        ("fault", "string", False),
        ("error", "string", False),
        ("request_xml", "string", True),
        ("response_xml", "string", False),
    ),
    LOCKS_TABLE: (
        ("lock_name", "string", True),
        ("run_id", "string", True),
        ("holder", "string", True),
        ("heartbeat_at", "timestamp", True),
    ),
    # What `lookup` said of an object, per company: insert-only, read back for a day (sync.company).
    DEFINITIONS_TABLE: (
        ("company_id", "string", True),
        ("object", "string", True),
        ("definition", "string", True),  # JSON: field ID -> [datatype, read-only, custom, valid values]
        ("fetched_at", "timestamp", True),
    ),
    ALERT_STATE_TABLE: (
        ("target", "string", True),
        ("alert", "string", True),
        ("state", "string", True),
        ("run_id", "string", False),
        ("updated_at", "timestamp", True),
    ),
}

DEFAULT_SCHEMA_SUFFIX = "_intacct"


def default_state_schema(target_schema: str) -> str:
    """Where the tool's tables live when neither --state-schema nor intacct.yml names a schema."""
    return f"{target_schema}{DEFAULT_SCHEMA_SUFFIX}"


def columns_of(table: str) -> tuple[str, ...]:
    """The column names of one of the tool's tables, in their order."""
    return tuple(c[0] for c in TABLES[table])


class StateTables:
    """The relations of the tool's tables in one schema of the user's warehouse."""

    def __init__(self, warehouse: Warehouse, schema: str, database: str | None) -> None:
        self.warehouse = warehouse
        self.schema = schema
        self.database = database
        self.state = warehouse.relation(database, schema, STATE_TABLE)
        self.ledger = warehouse.relation(database, schema, LEDGER_TABLE)
        self.runs = warehouse.relation(database, schema, RUNS_TABLE)
        self.model_results = warehouse.relation(database, schema, MODEL_RESULTS_TABLE)
        self.api_calls = warehouse.relation(database, schema, API_CALLS_TABLE)
        self.alert_state = warehouse.relation(database, schema, ALERT_STATE_TABLE)
        self.locks = warehouse.relation(database, schema, LOCKS_TABLE)
        self.definitions = warehouse.relation(database, schema, DEFINITIONS_TABLE)
        from dbt_intacct.state.append import AppendLog

        # 'replace' or 'append' (state.append): how the tables that change are written, by capability.
        self.writes = str(warehouse.render("dbt_intacct__state_writes")).strip()
        if self.writes not in ("replace", "append"):
            raise WarehouseError(f"dbt_intacct__state_writes returned {self.writes!r}: 'replace' or 'append'")
        self.log: AppendLog | None = AppendLog(self) if self.writes == "append" else None

    @classmethod
    def of_target(cls, warehouse: Warehouse, configured: str | None) -> StateTables:
        """The tables in the configured schema, else in the target's default state schema."""
        schema = configured or default_state_schema(warehouse.target_schema)
        return cls(warehouse, schema, warehouse.target_database)

    def ensure(self) -> None:
        """Create the schema and tables on first use, and add what an older version did not have.

        This runs before the sync's lock is taken: two syncs starting together on a new state schema
        both create it, and the one that loses the race gets an error ("already exists", or a unique
        violation in the catalogue on Postgres). Looking again then finds everything in place."""
        try:
            self._ensure()
        except WarehouseError:
            time.sleep(0.2)
            self._ensure()

    def _ensure(self) -> None:
        from dbt_intacct.state.append import KEYED, log_name

        w = self.warehouse
        w.create_schema(self.database, self.schema)
        kinds = w.relation_kinds(self.database, self.schema)  # one listing, not one look-up per table
        if self.log is not None:
            self.log.ensure(kinds)
        for name, columns in TABLES.items():
            relation = w.relation(self.database, self.schema, name)
            if self.log is not None and name in KEYED:
                continue  # a view of its log
            if name in KEYED and log_name(name) in kinds:
                _back_to_replace(self, name)  # append mode wrote it (a view of its log): replace mode now
            self.ensure_table(relation, columns)
        index = w.render(
            "dbt_intacct__state_index_sql",
            relation=self.state
            if self.log is None
            else w.relation(self.database, self.schema, log_name(STATE_TABLE)),
        )
        if index:
            w.execute(index)
        w.commit()

    def compact(self, threshold: float | None = None) -> list[str]:
        """Append mode: compact the logs holding more than `threshold` times as many rows as their
        current rows (state.append); the tables compacted. Nothing in replace mode."""
        if self.log is None:
            return []
        if threshold is None:  # the defaults: COMPACT_FACTOR, and logs of COMPACT_MIN_ROWS at least
            return self.log.maybe_compact()
        return self.log.maybe_compact(threshold, min_rows=0)

    def table_columns(self, table: str) -> tuple[tuple[str, str, bool], ...]:
        """(column, kind, not null) of one of the tool's tables."""
        return TABLES[table]

    def ensure_table(self, relation: Any, columns: tuple[tuple[str, str, bool], ...]) -> None:
        """Create a table with these columns if missing; add the columns an older version lacked."""
        w = self.warehouse
        w.execute(
            w.render("dbt_intacct__create_table_sql", relation=relation, columns=[list(c) for c in columns])
        )
        present = {c.name.lower() for c in w.columns(relation)}
        for column, kind, _ in columns:
            if column not in present:
                w.execute(w.render("dbt_intacct__add_column_sql", relation=relation, name=column, kind=kind))


def _back_to_replace(tables: StateTables, name: str) -> None:
    """A schema append mode wrote, now written in replace mode: each view becomes a table of its current
    rows again and the log is dropped, in one transaction (atomic where DDL is transactional, as on
    Postgres and DuckDB; elsewhere a crash between the steps can leave the view dropped and the log in
    place: append mode's `ensure` makes the view again, PARTIAL)."""
    from dbt_intacct.state.append import log_name

    w = tables.warehouse
    view = w.relation(tables.database, tables.schema, name)
    new = w.relation(tables.database, tables.schema, name + "__new")
    log = w.relation(tables.database, tables.schema, log_name(name))
    w.execute(f"drop table if exists {new}")
    w.execute(w.render("dbt_intacct__create_table_as_sql", relation=new, sql=f"select * from {view}"))
    w.execute(f"drop view {view}")
    w.execute(w.render("dbt_intacct__rename_table_sql", relation=new, new_relation=view))
    w.execute(f"drop table {log}")
    w.commit()


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def now() -> datetime:
    """The time the tool's tables are written with: UTC, without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)
