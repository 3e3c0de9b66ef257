"""Append mode: the tool's tables written insert-only, for warehouses without row DELETE/UPDATE.

The write strategy comes from the dispatched macro `dbt_intacct__state_writes()` ('replace' or
'append'; the project var `dbt_intacct_state_writes` forces one). In append mode each keyed table
(`KEYED`) is an insert-only log, `<table>_log`, with two more columns: `seq`, increasing with every row
written, and `tombstone` (1: the key was deleted). The table's own name is then a view of the latest row
per key without tombstones, so that everything that reads the state reads it as in replace mode.

`seq` is the log's largest seq, read once per process and table, plus one per row written; rows of one
key are written by the process holding the sync lock, so a key's rows are ordered. Compaction rewrites
a log with its current rows only (`compact`) when the log holds more than COMPACT_FACTOR times as many
rows as its view (and at least COMPACT_MIN_ROWS): the new table is made, the log renamed away, the new
table renamed in, the old one dropped. `StateTables.ensure` finishes or undoes a swap a crash
interrupted (`recover_swap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# `tables` imports this module (StateTables.log), so nothing of it is imported here: the table names
# are spelled out and their columns asked of the StateTables (`table_columns`).
STATE_TABLE, RUNS_TABLE, LOCKS_TABLE, ALERT_STATE_TABLE = (
    "intacct_state",
    "intacct_runs",
    "intacct_locks",
    "intacct_alert_state",
)

APPEND, REPLACE = "append", "replace"
LOG_SUFFIX = "_log"
NEW_SUFFIX, OLD_SUFFIX = "__new", "__old"
# The keys of the tables whose rows change: in append mode, a log and a view of its current rows.
KEYED: dict[str, tuple[str, ...]] = {
    STATE_TABLE: ("model_id", "row_key"),
    RUNS_TABLE: ("run_id",),
    LOCKS_TABLE: ("lock_name", "run_id"),
    ALERT_STATE_TABLE: ("target", "alert"),
}
LOG_COLUMNS: tuple[tuple[str, str, bool], ...] = (("seq", "bigint", False), ("tombstone", "int", False))
TOMBSTONE = "coalesce(tombstone, 0) = 1"  # the condition of a tombstone row (a deleted key)
COMPACT_FACTOR = 4
COMPACT_MIN_ROWS = 10_000


def log_name(table: str) -> str:
    return table + LOG_SUFFIX


class AppendLog:
    """Writes and maintains the insert-only logs of one state schema."""

    def __init__(self, tables: Any) -> None:  # a StateTables
        self.tables = tables
        self._next: dict[str, int] = {}

    def relation(self, identifier: str) -> Any:
        t = self.tables
        return t.warehouse.relation(t.database, t.schema, identifier)

    # -- writing --------------------------------------------------------------------------------------
    def seqs(self, table: str, count: int) -> range:
        """`count` new seqs for rows of `table`'s log, increasing."""
        log = log_name(table)
        if log not in self._next:
            w = self.tables.warehouse
            rows = w.fetch_small(f"select max(seq) from {self.relation(log)}")
            self._next[log] = int(rows[0][0] or 0) + 1 if rows else 1
        start = self._next[log]
        self._next[log] = start + count
        return range(start, start + count)

    def append(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows (live, in order) into `table`'s log."""
        if not rows:
            return
        seqs = self.seqs(table, len(rows))
        self.tables.warehouse.insert_rows(
            self.relation(log_name(table)),
            [*columns, "seq", "tombstone"],
            [(*row, seq, 0) for row, seq in zip(rows, seqs, strict=True)],
        )

    def change(self, table: str, where_sql: str, changes: dict[str, Any], *, tombstone: bool = False) -> int:
        """Append, for each current row of `table` matching `where_sql`, the row with `changes` applied
        (or its tombstone); how many rows."""
        w = self.tables.warehouse
        columns = [c[0] for c in self.tables.table_columns(table)]
        found = w.read_page(f"select * from {self.relation(table)} where {where_sql}", 10_000_000)
        rows = [tuple(changes[c] if c in changes else row[c] for c in columns) for row in found]
        if rows:
            seqs = self.seqs(table, len(rows))
            w.insert_rows(
                self.relation(log_name(table)),
                [*columns, "seq", "tombstone"],
                [(*row, seq, int(tombstone)) for row, seq in zip(rows, seqs, strict=True)],
            )
        return len(rows)

    # -- ensure ---------------------------------------------------------------------------------------
    def ensure(self, kinds: dict[str, str]) -> None:
        """Create the logs and views, carrying over tables replace mode made, and finish any swap.
        `kinds`: the schema's relations (`Warehouse.relation_kinds`), kept up to date here."""
        w = self.tables.warehouse
        for table, keys in KEYED.items():
            log = log_name(table)
            self.recover_swap(log, kinds)
            view = self.relation(table)
            if kinds.get(table) == "table" and log not in kinds:
                # Made by replace mode (an earlier version, or before append was chosen): its rows
                # become the log's oldest rows (no seq, no tombstone).
                w.execute(
                    w.render("dbt_intacct__rename_table_sql", relation=view, new_relation=self.relation(log))
                )
                w.commit()
                kinds[log] = kinds.pop(table)
            columns = (*self.tables.table_columns(table), *LOG_COLUMNS)
            self.tables.ensure_table(self.relation(log), columns)
            kinds[log] = "table"
            self.ensure_view(table, keys, kinds.get(table))
        self.recover_swap(self.tables.api_calls.identifier, kinds)
        w.commit()

    def ensure_view(self, table: str, keys: tuple[str, ...], kind: str | None = None) -> None:
        """Make the view of a log's current rows, unless it is there with the right columns (`kind`:
        what the schema holds under the table's name; None: nothing, or not known)."""
        w = self.tables.warehouse
        view = self.relation(table)
        wanted = [c[0] for c in self.tables.table_columns(table)]
        if kind == "view" and [c.name.lower() for c in w.columns(view)] == wanted:
            return
        w.execute(f"drop view if exists {view}")
        w.execute(
            w.render(
                "dbt_intacct__current_view_sql",
                view=view,
                relation=self.relation(log_name(table)),
                keys=list(keys),
                columns=wanted,
                tombstone=TOMBSTONE,
            )
        )
        w.commit()

    # -- compaction -----------------------------------------------------------------------------------
    def maybe_compact(self, threshold: float = COMPACT_FACTOR, min_rows: int | None = None) -> list[str]:
        """Compact each log holding more than `threshold` times as many rows as its current rows (and at
        least `min_rows`: COMPACT_MIN_ROWS, none when the threshold is 0); the tables compacted."""
        if min_rows is None:
            min_rows = COMPACT_MIN_ROWS if threshold else 0
        w = self.tables.warehouse
        done = []
        for table in KEYED:
            rows = w.fetch_small(
                f"select (select count(*) from {self.relation(log_name(table))}), "
                f"(select count(*) from {self.relation(table)})"
            )
            total, current = (int(rows[0][0] or 0), int(rows[0][1] or 0)) if rows else (0, 0)
            if total >= min_rows and total > threshold * current:
                self.compact(table)
                done.append(table)
        return done

    def compact(self, table: str) -> None:
        """Rewrite `table`'s log with its current rows only (their seqs kept), under the sync lock."""
        w = self.tables.warehouse
        keys = KEYED[table]
        log = self.relation(log_name(table))
        columns = [*(c[0] for c in self.tables.table_columns(table)), "seq", "tombstone"]
        latest = w.render(
            "dbt_intacct__current_rows_sql",
            relation=log,
            keys=list(keys),
            columns=[*(c[0] for c in self.tables.table_columns(table)), "seq"],
            tombstone=TOMBSTONE,
        )
        select = f"select {', '.join(columns[:-1])}, 0 as tombstone from ({latest}) current_rows"
        # The view is bound to the log's table on some warehouses (Postgres): dropped, made again.
        w.execute(f"drop view if exists {self.relation(table)}")
        w.commit()
        self.swap(log_name(table), select)
        self.ensure_view(table, keys)

    def swap(self, identifier: str, select_sql: str) -> None:
        """Replace a table by what `select_sql` returns: new table, rename old away, rename new in,
        drop old, each step committed. `recover_swap` finishes or undoes an interrupted swap."""
        w = self.tables.warehouse
        table, new, old = (self.relation(identifier + s) for s in ("", NEW_SUFFIX, OLD_SUFFIX))
        w.execute(f"drop table if exists {new}")
        w.execute(w.render("dbt_intacct__create_table_as_sql", relation=new, sql=select_sql))
        w.commit()
        self._rename(table, identifier + OLD_SUFFIX)
        self._rename(new, identifier)
        w.execute(f"drop table if exists {old}")
        w.commit()

    def _rename(self, relation: Any, new_identifier: str) -> None:
        w = self.tables.warehouse
        w.execute(
            w.render(
                "dbt_intacct__rename_table_sql", relation=relation, new_relation=self.relation(new_identifier)
            )
        )
        w.commit()

    def recover_swap(self, identifier: str, kinds: dict[str, str]) -> None:
        """Finish a swap that got as far as renaming the table away; undo one that did not. `kinds`:
        the schema's relations by name, updated."""
        w = self.tables.warehouse
        new, old = (self.relation(identifier + s) for s in (NEW_SUFFIX, OLD_SUFFIX))
        has_table, has_new, has_old = (identifier + s in kinds for s in ("", NEW_SUFFIX, OLD_SUFFIX))
        if not (has_new or has_old):
            return
        for s in (NEW_SUFFIX, OLD_SUFFIX):
            kinds.pop(identifier + s, None)
        kinds[identifier] = "table"
        if has_new and not has_table:
            self._rename(new, identifier)  # the table was renamed away: its replacement goes in
            has_table, has_new = True, False
        if has_old and not has_table:
            self._rename(old, identifier)  # cannot happen without a new table, but never lose rows
            has_table, has_old = True, False
        if has_new:
            w.execute(f"drop table if exists {new}")  # the table was never renamed away: undone
        if has_old:
            w.execute(f"drop table if exists {old}")  # the swap was done but for this
        w.commit()
