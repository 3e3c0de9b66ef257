"""The state the tool keeps in the user's warehouse: current row state, the append-only ledger, runs.

All SQL comes from the package's macros (`dbt_intacct/dbt_project/macros`); this module decides when to
run it and turns Python values into the rows it writes.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from dbt_intacct.dbt.warehouse import Warehouse
from dbt_intacct.errors import WarehouseError

STATE_TABLE = "intacct_state"
LEDGER_TABLE = "intacct_ledger"
RUNS_TABLE = "intacct_runs"
MODEL_RESULTS_TABLE = "intacct_model_results"
API_CALLS_TABLE = "intacct_api_calls"
ALERT_STATE_TABLE = "intacct_alert_state"
LOCKS_TABLE = "intacct_locks"
LOCK_STALE_AFTER = timedelta(minutes=10)

# Statuses a state row can have.
OK, FAILED, REJECTED, PENDING, DELETED, CLEARED, DROPPED = (
    "ok",
    "failed",
    "rejected",
    "pending",
    "deleted",
    "cleared",
    "dropped",
)
# Statuses after which the row counts as written: its version moves on when a function was sent.
WRITTEN = frozenset({OK, DELETED, CLEARED})

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
    ALERT_STATE_TABLE: (
        ("target", "string", True),
        ("alert", "string", True),
        ("state", "string", True),
        ("run_id", "string", False),
        ("updated_at", "timestamp", True),
    ),
}
_STATE_COLUMNS = tuple(c[0] for c in TABLES[STATE_TABLE])
_LEDGER_COLUMNS = tuple(c[0] for c in TABLES[LEDGER_TABLE])
_WRITE_CHUNK = 500
_temp_names = itertools.count(1)
# The most shared or NULL keys a diff takes back from a count run aside (`StateStore.diff`).
_ASIDE_KEY_ROWS = 10_000


@dataclass(frozen=True)
class Intent:
    """A function about to leave for Intacct, recorded before the request is sent."""

    row_key: str
    row_hash: str | None
    action: str
    controlid: str
    payload: str
    version: int
    recordno: str | None
    intacct_id: str | None
    line_counts: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one row in this run."""

    row_key: str
    row_hash: str | None
    action: str
    status: str
    version: int
    recordno: str | None = None
    intacct_id: str | None = None
    controlid: str | None = None
    errorno: str | None = None
    message: str | None = None
    line_counts: str | None = None  # JSON {line array: lines in Intacct}, for positional line updates


@dataclass(frozen=True)
class KeyProblems:
    """Rows with a NULL key, and keys shared by several rows: how many keys, and how many rows they have.

    The shared keys themselves are read from the diff by `StateStore.shared_keys`."""

    null_rows: int
    duplicate_keys: int = 0
    duplicate_rows: int = 0


@dataclass(frozen=True)
class DiffCheck:
    """What `dbt_intacct__diff_check_sql` counts: the relation's rows and the state's, with checksums."""

    rows: int
    keyed_rows: int
    relation_xor: int | None
    ok_rows: int
    ok_xor: int | None
    legacy: int
    attention: int
    key_xor: int | None
    state_rows: int
    state_key_xor: int | None
    compares_rows: bool  # false: the keys only were checked (the rows' XORs are not taken)

    @property
    def same_keys(self) -> bool:
        """True when the relation holds exactly the state's keys, each once (and no NULL key)."""
        return self.rows == self.keyed_rows == self.state_rows and self.key_xor == self.state_key_xor

    @property
    def unchanged(self) -> bool:
        """True when the full diff would find nothing: no candidate, no removal, no key problem."""
        return (
            self.compares_rows
            and self.rows == self.keyed_rows == self.ok_rows
            and self.relation_xor == self.ok_xor
            and not self.legacy
            and not self.attention
        )


@dataclass(frozen=True)
class Diff:
    """A model compared with its state: a temporary table of the keys that need something.

    `counts` has how many keys of each kind: null (one for all NULL-key rows), duplicate, candidate, gone.
    """

    name: str
    model_id: str
    relation: Any
    counts: dict[str, int]
    key_problems: KeyProblems
    scheme: str = "md5"  # the row hash (macro dbt_intacct__row_hash)
    # "full join"; "join": the check proved that the keys agree (no key count, an inner join);
    # "checksum": the check proved the model unchanged (no join at all).
    method: str = "full join"
    rows: int | None = None  # the relation's row count, when the check counted it
    rehashed: int = 0  # md5 row hashes carried over to hash64 by this diff (once per model)


@dataclass(frozen=True)
class ChangeTable:
    """A materialised change set: a temporary table numbered 1..size by `__seq`."""

    name: str
    size: int
    counts: dict[str, int]


class StateStore:
    """Reads and writes the tool's tables in one schema of the user's warehouse."""

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
        w = self.warehouse
        w.create_schema(self.database, self.schema)
        for name, columns in TABLES.items():
            relation = w.relation(self.database, self.schema, name)
            w.execute(
                w.render(
                    "dbt_intacct__create_table_sql", relation=relation, columns=[list(c) for c in columns]
                )
            )
            present = {c.name.lower() for c in w.columns(relation)}
            for column, kind, _ in columns:
                if column not in present:
                    w.execute(
                        w.render("dbt_intacct__add_column_sql", relation=relation, name=column, kind=kind)
                    )
        index = w.render("dbt_intacct__state_index_sql", relation=self.state)
        if index:
            w.execute(index)
        w.commit()

    # -- runs ---------------------------------------------------------------------------------------------
    def start_run(self, run_id: str, command: str, target: str) -> None:
        w = self.warehouse
        columns = ["run_id", "command", "target", "status", "started_at"]
        w.insert_rows(self.runs, columns, [(run_id, command, target, "running", _now())])
        w.commit()

    def finish_run(self, run_id: str, status: str, summary: str, message: str | None = None) -> None:
        w = self.warehouse
        w.execute(
            f"update {self.runs} set status = {w.literal(status)}, finished_at = {w.literal(_now())}, "
            f"summary = {w.literal(summary)}, message = {w.literal(message)} "
            f"where run_id = {w.literal(run_id)}"
        )
        w.commit()

    def record_model_result(self, run_id: str, row: Mapping[str, Any]) -> None:
        """One model's counts for the run (columns as in TABLES[MODEL_RESULTS_TABLE], but run_id)."""
        columns = [c[0] for c in TABLES[MODEL_RESULTS_TABLE]]
        values = {**row, "run_id": run_id, "recorded_at": _now()}
        self.warehouse.insert_rows(self.model_results, columns, [tuple(values[c] for c in columns)])
        self.warehouse.commit()

    def record_api_calls(self, run_id: str, calls: Sequence[Mapping[str, Any]]) -> None:
        """HTTP exchanges with Intacct (already redacted), in the order they happened."""
        if not calls:
            return
        columns = [c[0] for c in TABLES[API_CALLS_TABLE]]
        rows = [tuple({**call, "run_id": run_id}[c] for c in columns) for call in calls]
        for chunk in _chunks(rows, 100):
            self.warehouse.insert_rows(self.api_calls, columns, chunk)
        self.warehouse.commit()

    def prune(self, keep_days: int) -> None:
        """Forget API calls older than the retention; the ledger is the audit trail and is kept."""
        w = self.warehouse
        cutoff = _now() - timedelta(days=keep_days)
        w.execute(f"delete from {self.api_calls} where started_at < {w.literal(cutoff)}")
        w.commit()

    # -- one sync at a time ---------------------------------------------------------------------------
    def try_lock(self, lock_name: str, run_id: str) -> str | None:
        """Take the sync lock; None when taken, else a description of who holds it.

        Postgres uses a session advisory lock (the server releases it if this process dies); DuckDB's file
        is locked by whoever has it open; elsewhere a lock row with a heartbeat is used, taken over when it
        is older than LOCK_STALE_AFTER.
        """
        w = self.warehouse
        rows = w.fetch_small(w.render("dbt_intacct__try_lock_sql", lock_name=lock_name))
        taken = rows[0][0] if rows else None
        w.commit()
        if taken is True:
            return None
        if taken is False:
            return "another dbt-intacct sync holds the lock (a Postgres advisory lock)"
        return self._try_lock_row(lock_name, run_id)

    def _try_lock_row(self, lock_name: str, run_id: str) -> str | None:
        w = self.warehouse
        holder = f"{socket.gethostname()}:{os.getpid()}"
        stale = _now() - LOCK_STALE_AFTER
        w.execute(
            f"delete from {self.locks} where lock_name = {w.literal(lock_name)} "
            f"and heartbeat_at < {w.literal(stale)}"
        )
        rows = w.fetch_small(
            f"select run_id, holder, heartbeat_at from {self.locks} where lock_name = {w.literal(lock_name)}"
        )
        if rows:
            other_run, other_holder, heartbeat = rows[0]
            w.commit()
            return f"run {other_run} on {other_holder} (last heartbeat {heartbeat})"
        columns = [c[0] for c in TABLES[LOCKS_TABLE]]
        w.insert_rows(self.locks, columns, [(lock_name, run_id, holder, _now())])
        w.commit()
        # Two runs may have inserted at once: the earliest row wins.
        rows = w.fetch_small(
            f"select run_id from {self.locks} where lock_name = {w.literal(lock_name)} "
            "order by heartbeat_at, run_id"
        )
        if rows and str(rows[0][0]) != run_id:
            self.unlock(lock_name, run_id)
            return f"run {rows[0][0]}"
        return None

    def unlock(self, lock_name: str, run_id: str) -> None:
        w = self.warehouse
        w.fetch_small(w.render("dbt_intacct__unlock_sql", lock_name=lock_name))
        if w.relation_exists(self.locks):
            w.execute(
                f"delete from {self.locks} where lock_name = {w.literal(lock_name)} "
                f"and run_id = {w.literal(run_id)}"
            )
        w.commit()

    # -- alert states ------------------------------------------------------------------------------------
    def alert_states(self, target: str) -> dict[str, str]:
        w = self.warehouse
        rows = w.fetch_small(
            f"select alert, state from {self.alert_state} where target = {w.literal(target)}"
        )
        return {str(alert): str(state) for alert, state in rows}

    def save_alert_states(self, target: str, run_id: str, states: Mapping[str, str]) -> None:
        if not states:
            return
        w = self.warehouse
        names = ", ".join(w.literal(name) for name in states)
        w.execute(f"delete from {self.alert_state} where target = {w.literal(target)} and alert in ({names})")
        now = _now()
        columns = [c[0] for c in TABLES[ALERT_STATE_TABLE]]
        w.insert_rows(
            self.alert_state, columns, [(target, name, state, run_id, now) for name, state in states.items()]
        )
        w.commit()

    # -- diffing ------------------------------------------------------------------------------------------
    def diff(
        self,
        *,
        relation: Any,
        model_id: str,
        key_columns: Sequence[str],
        hash_columns: Sequence[str],
        fingerprint: str,
        send_changes: bool,
        removal_statuses: Sequence[str],
        send_all: bool = False,
        carry_over: bool = False,
    ) -> Diff:
        """Compare the model with its state; materialise the keys that need something.

        Where the warehouse has one, a check comes first: counts and checksums of the rows' hashes
        (Postgres) and of their keys' hashes, relation against state (`dbt_intacct__diff_check_sql`;
        DuckDB checks the keys only); when they prove the model
        unchanged, the diff is made empty without the join, and when they prove that the relation holds
        exactly the state's keys, the keys are not counted and the join need not be a full one.
        Otherwise one statement finds the candidates
        and the removals (one pass over the relation and the state), one the keys shared by several rows
        and the NULL keys (a narrow pass over the key columns; on Postgres on a second connection, at the
        same time as the first). Key problems are read at once; the change set and the removals are
        materialised from the diff by `change_table` and `removal_table`.

        `carry_over` (a sync, which may write the state): md5 row hashes of an older version are carried
        over to the warehouse's row hash first. Without it (a plan), such a model is diffed with md5.
        """
        w = self.warehouse
        name = f"dbt_intacct_diff_{next(_temp_names)}"
        scheme = w.render("dbt_intacct__hash_scheme").strip()
        arguments = {
            "relation": relation,
            "state": self.state,
            "model_id": model_id,
            "key_columns": list(key_columns),
            "hash_columns": list(hash_columns),
            "fingerprint": fingerprint,
        }
        check = None if send_all else self._check(arguments, send_changes)
        rehashed = 0
        if check is not None and check.legacy:
            if carry_over:
                self._carry_over(arguments)
                rehashed = check.legacy
            else:
                scheme = "md5"
            check = None  # counted before the carry-over, or over md5 hashes: it proves nothing

        def create_diff(**variant: Any) -> None:
            w.execute(
                w.render(
                    "dbt_intacct__diff_sql",
                    target_name=name,
                    send_changes=send_changes,
                    removal_statuses=list(removal_statuses),
                    scheme=scheme,
                    **variant,
                    **arguments,
                )
            )

        if check is not None and check.unchanged:
            create_diff(send_all=False, unchanged=True)
            return Diff(
                name=name,
                model_id=model_id,
                relation=relation,
                counts={},
                key_problems=KeyProblems(null_rows=0),
                scheme=scheme,
                method="checksum",
                rows=check.rows,
            )
        settings, reset = (w.render("dbt_intacct__diff_settings_sql", reset=r) for r in (False, True))
        # When the check proved that the relation holds the state's keys, each once, no key needs counting.
        # Otherwise, where the warehouse runs two connections at once (Postgres), the keys are counted on
        # a second one while this one diffs: the two scans use two cores. The shared keys come back as
        # rows (almost always none) and are added to the diff here; beyond a bound, the count is run
        # again in the ordinary way, straight into the diff.
        same_keys = check is not None and check.same_keys
        aside = None
        if not same_keys:
            aside = w.fetch_aside(
                w.render(
                    "dbt_intacct__diff_keys_select_sql", relation=relation, key_columns=list(key_columns)
                ),
                _ASIDE_KEY_ROWS + 1,
                settings=w.render("dbt_intacct__diff_keys_aside_settings_sql"),
            )
        try:
            if settings:
                w.execute(settings)
            create_diff(send_all=send_all, same_keys=same_keys)
        except BaseException:
            if aside is not None:
                aside.exception()  # waited for; the diff's own error is the one reported
            raise
        shared = aside.result() if aside is not None else None
        kind, copies = w.quote("__diff"), w.quote("__copies")
        if same_keys:
            pass  # no key is shared and none is NULL: nothing to add
        elif shared is not None and len(shared) <= _ASIDE_KEY_ROWS:
            w.insert_rows(name, [w.quote("__key"), kind, copies, w.quote("__hash")], shared)
        else:
            w.execute(
                w.render(
                    "dbt_intacct__diff_keys_sql",
                    target_name=name,
                    relation=relation,
                    key_columns=list(key_columns),
                )
            )
        if reset:
            w.execute(reset)
        counts: dict[str, int] = {}
        rows_of: dict[str, int] = {}
        for found, keys, rows in w.fetch_small(
            f"select {kind}, count(*), sum({copies}) from {name} group by {kind}"
        ):
            counts[str(found)] = int(keys)
            rows_of[str(found)] = int(rows or 0)
        problems = KeyProblems(
            null_rows=rows_of.get("null", 0),
            duplicate_keys=counts.get("duplicate", 0),
            duplicate_rows=rows_of.get("duplicate", 0),
        )
        return Diff(
            name=name,
            model_id=model_id,
            relation=relation,
            counts=counts,
            key_problems=problems,
            scheme=scheme,
            method="join" if same_keys else "full join",
            rows=check.rows if check is not None else None,
            rehashed=rehashed,
        )

    def _check(self, arguments: dict[str, Any], send_changes: bool) -> DiffCheck | None:
        """The counts and checksums that can prove a model unchanged (None where the warehouse has none)."""
        w = self.warehouse
        sql = w.render("dbt_intacct__diff_check_sql", send_changes=send_changes, **arguments).strip()
        if not sql:
            return None
        settings, reset = (w.render("dbt_intacct__diff_settings_sql", reset=r) for r in (False, True))
        if settings:
            w.execute(settings)
        try:
            found = w.fetch_small(sql)
        finally:
            if reset:
                w.execute(reset)
        # The statement's columns are DiffCheck's fields, in order; the counts are never NULL, an XOR is
        # when it had no row.
        values: dict[str, Any] = {
            f.name: v if v is None or isinstance(v, bool) else int(v)
            for f, v in zip(fields(DiffCheck), found[0], strict=True)
        }
        return DiffCheck(**values)

    def _carry_over(self, arguments: dict[str, Any]) -> None:
        """Rewrite a model's md5 row hashes as the warehouse's own, in one committed transaction."""
        w = self.warehouse
        w.execute_script(
            [w.render("dbt_intacct__rehash_sql", leftover=x, **arguments) for x in (False, True)]
        )
        w.commit()

    def change_table(
        self,
        diff: Diff,
        *,
        key_columns: Sequence[str],
        hash_columns: Sequence[str],
        data_columns: Sequence[str],
        fingerprint: str,
        send_changes: bool,
    ) -> ChangeTable:
        """Materialise the change set (new, changed, retry, pending, cleared rows) with the rows' columns."""
        return self._from_diff(
            "changes",
            diff,
            diff.counts.get("candidate", 0),
            "dbt_intacct__diff_changes_sql",
            "__change",
            relation=diff.relation,
            key_columns=list(key_columns),
            hash_columns=list(hash_columns),
            data_columns=list(data_columns),
            fingerprint=fingerprint,
            send_changes=send_changes,
            scheme=diff.scheme,
        )

    def shared_key_table(self, diff: Diff) -> ChangeTable:
        """Materialise the keys shared by several rows, numbered in key order, with how many rows share
        each and what the state holds for those synced before (version, RECORDNO, ID)."""
        return self._from_diff(
            "shared", diff, diff.key_problems.duplicate_keys, "dbt_intacct__diff_shared_sql", "copies"
        )

    def removal_table(self, diff: Diff, *, statuses: Sequence[str]) -> ChangeTable:
        """Materialise the rows that have left the model and that the delete behaviour acts on."""
        return self._from_diff(
            "removals",
            diff,
            diff.counts.get("gone", 0),
            "dbt_intacct__diff_removals_sql",
            "status",
            statuses=list(statuses),
        )

    def _from_diff(
        self, kind: str, diff: Diff, expected: int, macro: str, count_by: str, **arguments: Any
    ) -> ChangeTable:
        """A numbered table made from a diff by `macro` (none when the diff has no key of its kind)."""
        name = f"dbt_intacct_{kind}_{next(_temp_names)}"
        if not expected:
            return ChangeTable(name=name, size=0, counts={})
        sql = self.warehouse.render(
            macro,
            target_name=name,
            diff_name=diff.name,
            state=self.state,
            model_id=diff.model_id,
            **arguments,
        )
        return self._materialise(name, sql, count_by)

    def _materialise(self, name: str, sql: str, count_by: str) -> ChangeTable:
        w = self.warehouse
        w.execute(sql)
        column = w.quote(count_by)
        counts = {
            str(k): int(n)
            for k, n in w.fetch_small(f"select {column}, count(*) from {name} group by {column}")
        }
        return ChangeTable(name=name, size=sum(counts.values()), counts=counts)

    def pages(self, table: ChangeTable, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Read a change table in key order, one bounded query per page."""
        seq = self.warehouse.quote("__seq")
        for start in range(1, table.size + 1, page_size):
            end = start + page_size - 1
            yield self.warehouse.read_page(
                f"select * from {table.name} where {seq} between {start} and {end} order by {seq}",
                page_size,
            )

    def drop(self, table: ChangeTable | Diff) -> None:
        self.warehouse.execute(f"drop table if exists {table.name}")

    # -- intents and outcomes ---------------------------------------------------------------------------
    def pending_rows(self, model_id: str, limit: int) -> list[dict[str, Any]]:
        """State rows whose last intent has no recorded outcome (the run that sent it stopped)."""
        w = self.warehouse
        return w.read_page(
            "select row_key, row_hash, recordno, intacct_id, version, controlid, line_counts "
            f"from {self.state} where model_id = {w.literal(model_id)} and status = 'pending' "
            f"order by row_key limit {int(limit)}",
            limit,
        )

    def pending_payloads(self, model_id: str, controlids: Sequence[str]) -> dict[str, str]:
        """The function XML recorded with each still-open intent, by controlid."""
        if not controlids:
            return {}
        w = self.warehouse
        found: dict[str, str] = {}
        for chunk in _chunks(list(controlids), _WRITE_CHUNK):
            sql = (
                f"select controlid, payload from {self.ledger} where model_id = {w.literal(model_id)} "
                f"and event = 'intent' and controlid in ({', '.join(w.literal(c) for c in chunk)})"
            )
            for controlid, payload in w.fetch_small(sql, len(chunk) * 2):
                found[str(controlid)] = str(payload)
        return found

    def record_intents(self, run_id: str, model_id: str, intents: Sequence[Intent]) -> None:
        """Write intents (state -> pending, ledger -> intent) and commit, before the request leaves."""
        if not intents:
            return
        now = _now()
        state_rows = [
            (
                model_id,
                i.row_key,
                i.row_hash,
                PENDING,
                i.recordno,
                i.intacct_id,
                i.version,
                i.controlid,
                i.action,
                None,
                None,
                i.line_counts,
                run_id,
                now,
            )
            for i in intents
        ]
        ledger_rows = [
            (
                run_id,
                model_id,
                i.row_key,
                i.row_hash,
                "intent",
                i.action,
                PENDING,
                i.controlid,
                i.recordno,
                i.intacct_id,
                None,
                None,
                i.payload,
                now,
            )
            for i in intents
        ]
        self._write(model_id, state_rows, ledger_rows)

    def record_outcomes(self, run_id: str, model_id: str, outcomes: Sequence[Outcome]) -> None:
        """Write what Intacct answered (or why a row was not sent) and commit."""
        if not outcomes:
            return
        now = _now()
        state_rows = [
            (
                model_id,
                o.row_key,
                o.row_hash,
                o.status,
                o.recordno,
                o.intacct_id,
                o.version + 1 if o.status in WRITTEN and o.action != "none" else o.version,
                o.controlid,
                o.action,
                o.errorno,
                o.message,
                o.line_counts,
                run_id,
                now,
            )
            for o in outcomes
        ]
        ledger_rows = [
            (
                run_id,
                model_id,
                o.row_key,
                o.row_hash,
                "outcome",
                o.action,
                o.status,
                o.controlid,
                o.recordno,
                o.intacct_id,
                o.errorno,
                o.message,
                None,
                now,
            )
            for o in outcomes
        ]
        self._write(model_id, state_rows, ledger_rows)

    def _write(
        self, model_id: str, state_rows: Sequence[tuple[Any, ...]], ledger_rows: Sequence[tuple[Any, ...]]
    ) -> None:
        w = self.warehouse
        for chunk in _chunks(list(state_rows), _WRITE_CHUNK):
            keys = ", ".join(w.literal(row[1]) for row in chunk)
            w.execute(
                f"delete from {self.state} where model_id = {w.literal(model_id)} and row_key in ({keys})"
            )
            w.insert_rows(self.state, _STATE_COLUMNS, chunk)
        for chunk in _chunks(list(ledger_rows), _WRITE_CHUNK):
            w.insert_rows(self.ledger, _LEDGER_COLUMNS, chunk)
        w.commit()

    def referenced_records(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str | None, str | None, str]]:
        """RECORDNO, ID and status of other models' rows, by (model unique_id, row key): for `record_of`."""
        w = self.warehouse
        by_model: dict[str, list[str]] = {}
        for model_id, row_key in pairs:
            by_model.setdefault(model_id, []).append(row_key)
        found: dict[tuple[str, str], tuple[str | None, str | None, str]] = {}
        for model_id, keys in sorted(by_model.items()):
            for chunk in _chunks(sorted(set(keys)), _WRITE_CHUNK):
                sql = (
                    f"select row_key, recordno, intacct_id, status from {self.state} "
                    f"where model_id = {w.literal(model_id)} "
                    f"and row_key in ({', '.join(w.literal(k) for k in chunk)})"
                )
                for row_key, recordno, intacct_id, status in w.fetch_small(sql, len(chunk) + 1):
                    found[(model_id, str(row_key))] = (recordno, intacct_id, str(status))
        return found

    # -- reading back ---------------------------------------------------------------------------------
    def state_rows(self, model_id: str, limit: int = 100_000) -> list[dict[str, Any]]:
        """The model's current state rows (for tests, `show` and small inspections)."""
        w = self.warehouse
        return w.read_page(
            f"select * from {self.state} where model_id = {w.literal(model_id)} order by row_key", limit
        )


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
