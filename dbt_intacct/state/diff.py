"""A model compared with its state, in the warehouse: the change set and the removals, as tables.

Only keys that need something cross into Python, page by page; the comparison itself is SQL from the
package's macros (`dbt_intacct__diff_*`), run through the dbt adapter.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from dbt_intacct.state.canonical import HashedColumn
from dbt_intacct.state.tables import StateTables

_temp_names = itertools.count(1)
# The most shared or NULL keys a diff takes back from a count run aside (`Differ.diff`).
_ASIDE_KEY_ROWS = 10_000


@dataclass(frozen=True)
class KeyProblems:
    """Rows with a NULL key, and keys shared by several rows: how many keys, and how many rows they have.

    The shared keys themselves are read from the diff by `Differ.shared_key_table`."""

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
    scheme: str = "canonical"  # the row hash (macro dbt_intacct__row_hash)
    # "full join"; "join": the check proved that the keys agree (no key count, an inner join);
    # "checksum": the check proved the model unchanged (no join at all).
    method: str = "full join"
    rows: int | None = None  # the relation's row count, when the check counted it
    rehashed: int = 0  # older versions' row hashes carried over to canonical ones (once per model)


@dataclass(frozen=True)
class ChangeTable:
    """A materialised change set: a temporary table numbered 1..size by `__seq`."""

    name: str
    size: int
    counts: dict[str, int]
    kind: str = "changes"  # changes | removals | shared


class Differ:
    """Compares models with their state in one state schema, and reads the results page by page."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables

    def diff(
        self,
        *,
        relation: Any,
        model_id: str,
        key_columns: Sequence[str],
        hash_columns: Sequence[HashedColumn],
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

        `carry_over` (a sync, which may write the state): row hashes an older version wrote (md5, or
        hash64 on Postgres) are carried over to canonical ones first, nothing sent. Without it (a plan),
        such a model is diffed with the older version's hash (`dbt_intacct__legacy_hash_scheme`).
        """
        w = self.tables.warehouse
        name = self._scratch_name("diff")
        scheme = w.render("dbt_intacct__hash_scheme").strip()
        arguments = {
            "relation": relation,
            "state": self.tables.state,
            "model_literal": w.literal(model_id),
            "key_columns": list(key_columns),
            "hash_columns": list(hash_columns),
            "fingerprint": fingerprint,
        }
        check = None if send_all else self._check(arguments, send_changes)
        rehashed = 0
        if check is not None and check.legacy:
            # The carry-over rewrites state rows in place (UPDATE): not in append mode, whose diff
            # then keeps the older version's hash as the model's own (correct, but not engine-free).
            if carry_over and self.tables.log is None:
                self._carry_over(arguments)
                rehashed = check.legacy
            else:
                scheme = w.render("dbt_intacct__legacy_hash_scheme").strip()
            check = None  # counted before the carry-over, or over md5 hashes: it proves nothing

        def create_diff(**variant: Any) -> None:
            self._drop_leftover(name)
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
        w = self.tables.warehouse
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
        """Rewrite a model's older row hashes as canonical ones, in one committed transaction."""
        w = self.tables.warehouse
        w.execute_script(
            [w.render("dbt_intacct__rehash_sql", leftover=x, **arguments) for x in (False, True)]
        )
        w.commit()

    def change_table(
        self,
        diff: Diff,
        *,
        key_columns: Sequence[str],
        hash_columns: Sequence[HashedColumn],
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
        name = self._scratch_name(kind)
        if not expected:
            return ChangeTable(name=name, size=0, counts={}, kind=kind)
        self._drop_leftover(name)
        sql = self.tables.warehouse.render(
            macro,
            target_name=name,
            diff_name=diff.name,
            state=self.tables.state,
            model_literal=self.tables.warehouse.literal(diff.model_id),
            **arguments,
        )
        return self._materialise(name, sql, count_by, kind)

    def _scratch_name(self, kind: str) -> str:
        """The name of a new diff table (`dbt_intacct__scratch_name`): a temporary table's, or where the
        warehouse has none (Spark, BigQuery), a table's in the state schema."""
        return self.tables.warehouse.render(
            "dbt_intacct__scratch_name",
            schema=self.tables.schema,
            name=f"dbt_intacct_{kind}_{next(_temp_names)}",
        ).strip()

    def _drop_leftover(self, name: str) -> None:
        """A diff table kept in the state schema may be left by a run that crashed: it is dropped first."""
        if "." in name:
            self.tables.warehouse.execute(f"drop table if exists {name}")

    def _materialise(self, name: str, sql: str, count_by: str, kind: str) -> ChangeTable:
        w = self.tables.warehouse
        w.execute(sql)
        column = w.quote(count_by)
        counts = {
            str(k): int(n)
            for k, n in w.fetch_small(f"select {column}, count(*) from {name} group by {column}")
        }
        return ChangeTable(name=name, size=sum(counts.values()), counts=counts, kind=kind)

    def pages(self, table: ChangeTable, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Read a change table in key order, one bounded query per page."""
        seq = self.tables.warehouse.quote("__seq")
        for start in range(1, table.size + 1, page_size):
            end = start + page_size - 1
            yield self.tables.warehouse.read_page(
                f"select * from {table.name} where {seq} between {start} and {end} order by {seq}",
                page_size,
            )

    def drop(self, table: ChangeTable | Diff) -> None:
        self.tables.warehouse.execute(f"drop table if exists {table.name}")

    def rows_for_keys(
        self, relation: Any, key_columns: Sequence[str], data_columns: Sequence[str], keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """A few rows of a model read again by key (the rare upsert follow-up), by key."""
        w = self.tables.warehouse
        key_sql = w.render("dbt_intacct__row_key", columns=list(key_columns))
        wanted = ", ".join(w.literal(k) for k in keys)
        columns = ", ".join(w.quote(c) for c in data_columns)
        rows = w.read_page(
            f"select {key_sql} as {w.quote('__key')}, {columns} from {relation} "
            f"where {key_sql} in ({wanted})",
            max(len(keys), 1),
        )
        return {str(r["__key"]): r for r in rows}

    def count_keys(self, source: Any, keys: Sequence[str], key_columns: Sequence[str] = ()) -> int:
        """How many of `keys` are in a model's relation (keyed by `key_columns`) or in a change table (its
        `__key`, or a removal table's `row_key`); one query per 1,000 keys."""
        w = self.tables.warehouse
        if isinstance(source, ChangeTable):
            if not source.size:
                return 0
            name, key_sql = source.name, ("row_key" if source.kind == "removals" else w.quote("__key"))
        else:
            name, key_sql = source, w.render("dbt_intacct__row_key", columns=list(key_columns))
        found = 0
        ordered = sorted(keys)
        for start in range(0, len(ordered), 1000):
            wanted = ", ".join(w.literal(k) for k in ordered[start : start + 1000])
            rows = w.fetch_small(f"select count(*) from {name} where {key_sql} in ({wanted})")
            found += int(rows[0][0]) if rows else 0
        return found

    def row_count(self, relation: Any) -> int:
        """How many rows a model's relation has."""
        rows = self.tables.warehouse.fetch_small(f"select count(*) from {relation}")
        return int(rows[0][0]) if rows else 0
