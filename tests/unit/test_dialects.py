"""The macros of the warehouses that cannot run here (Snowflake, BigQuery, Databricks, Redshift).

Each statement the package renders is rendered for each of them, with dbt's dispatch resolution
(tests/support/dialects.py), and parsed by sqlglot in the warehouse's dialect. What can be checked
without the warehouse is checked by running the statement, translated by sqlglot, on DuckDB: the row
hash is the md5 of the canonical text as lower-case hex, and the checksum before the diff is the same
whatever the order of the rows and changes when a row does.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from dbt_intacct.dbt.warehouse import MAX_STATEMENT_CHARS, DbtArgs, Warehouse
from dbt_intacct.state.canonical import KINDS, HashedColumn
from tests.support.dialects import DIALECTS, SQLGLOT_DIALECT, MacroRenderer, dispatched_names, statements

KEYS = {"single": ["id"], "composite": ["id", "line"]}
HASHED = [HashedColumn("name", "text"), HashedColumn("amount", "text")]
FINGERPRINT = "f1a2"
MODEL = "model.finance.customers"
REMOVAL_STATUSES = ["ok", "failed"]
STATE_COLUMNS = [
    ["model_id", "string", True],
    ["row_key", "string", True],
    ["row_hash", "string", False],
    ["version", "int", True],
    ["copies", "bigint", False],
    ["elapsed_seconds", "float", True],
    ["updated_at", "timestamp", True],
]


@pytest.fixture(scope="module", params=DIALECTS)
def renderer(request: pytest.FixtureRequest) -> MacroRenderer:
    return _renderer(request.param)


def _render_all(r: MacroRenderer) -> dict[str, str]:
    """Every statement the Python side renders, with each variant of its arguments that changes the SQL."""
    state = r.relation("intacct_state")
    relation = r.relation("customers", schema="analytics")
    model = r.literal(MODEL)
    scheme = r.render("dbt_intacct__hash_scheme")
    out: dict[str, str] = {
        "create_table": r.render("dbt_intacct__create_table_sql", relation=state, columns=STATE_COLUMNS),
        "add_column": r.render("dbt_intacct__add_column_sql", relation=state, name="entity", kind="string"),
        "state_index": r.render("dbt_intacct__state_index_sql", relation=state),
        "try_lock": r.render("dbt_intacct__try_lock_sql", lock_literal=r.literal("sync")),
        "unlock": r.render("dbt_intacct__unlock_sql", lock_literal=r.literal("sync")),
        "diff_settings": r.render("dbt_intacct__diff_settings_sql", reset=False),
        "diff_settings_reset": r.render("dbt_intacct__diff_settings_sql", reset=True),
        "aside_settings": r.render("dbt_intacct__diff_keys_aside_settings_sql"),
    }
    # The state design's own statements (append-only state, compaction, scratch tables), where present.
    scratch = "dbt_intacct_diff_1"
    if "dbt_intacct__scratch_name" in r.sources:
        scratch = r.render("dbt_intacct__scratch_name", schema="analytics_intacct", name=scratch)
        out["create_scratch"] = r.render("dbt_intacct__create_scratch_sql", name=scratch) + " select 1 as x"
    if "dbt_intacct__current_view_sql" in r.sources:
        out["current_view"] = r.render(
            "dbt_intacct__current_view_sql", view=r.relation("intacct_state_current"), relation=state,
            keys=["model_id", "row_key"], columns=["model_id", "row_key", "status", "seq"],
            tombstone="status = 'forgotten'",
        )  # fmt: skip
    if "dbt_intacct__create_table_as_sql" in r.sources:
        out["create_table_as"] = r.render(
            "dbt_intacct__create_table_as_sql", relation=r.relation("intacct_state__new"),
            sql=f"select model_id, row_key from {state}",
        )  # fmt: skip
    if "dbt_intacct__rename_table_sql" in r.sources:
        out["rename"] = r.render(
            "dbt_intacct__rename_table_sql", relation=state, new_relation=r.relation("intacct_state__old")
        )
    out["column_types"] = r.render(
        "dbt_intacct__column_types_sql", relation=relation,
        names={"relation": r.literal("analytics.customers"), "schema": r.literal("analytics"),
               "identifier": r.literal("customers")},
    )  # fmt: skip
    every_kind = [HashedColumn(f"c_{kind}", kind) for kind in KINDS]
    out["canonical_every_kind"] = (
        "select "
        + r.render("dbt_intacct__row_hash", columns=every_kind, fingerprint=FINGERPRINT)
        + f" from {relation}"
    )
    for key_name, keys in KEYS.items():
        common = {
            "relation": relation,
            "state": state,
            "model_literal": model,
            "key_columns": keys,
            "hash_columns": HASHED,
            "fingerprint": FINGERPRINT,
        }
        for send_changes in (True, False):
            tag = f"{key_name}_{'changes' if send_changes else 'insert_only'}"
            out[f"diff_check_{tag}"] = r.render(
                "dbt_intacct__diff_check_sql", send_changes=send_changes, **common
            )
            for variant in ({}, {"send_all": True}, {"same_keys": True}, {"unchanged": True}):
                name = "_".join(["diff", tag, *variant])
                out[name] = r.render(
                    "dbt_intacct__diff_sql",
                    target_name=scratch,
                    send_changes=send_changes,
                    send_all=variant.get("send_all", False),
                    removal_statuses=REMOVAL_STATUSES,
                    scheme=scheme,
                    unchanged=variant.get("unchanged", False),
                    same_keys=variant.get("same_keys", False),
                    **common,
                )
            out[f"changes_{tag}"] = r.render(
                "dbt_intacct__diff_changes_sql",
                target_name="dbt_intacct_changes_2",
                diff_name=scratch,
                data_columns=["id", "name", "amount"],
                send_changes=send_changes,
                scheme=scheme,
                **common,
            )
        if "dbt_intacct__plan_fingerprint_sql" in r.sources:
            out[f"plan_fingerprint_{key_name}"] = r.render(
                "dbt_intacct__plan_fingerprint_sql", scheme=scheme, **common
            )
        out[f"diff_keys_{key_name}"] = r.render(
            "dbt_intacct__diff_keys_sql",
            target_name=scratch,
            relation=relation,
            key_columns=keys,
        )
        out[f"row_key_{key_name}"] = (
            "select " + r.render("dbt_intacct__row_key", columns=keys) + f" from {relation}"
        )
    out["shared"] = r.render(
        "dbt_intacct__diff_shared_sql", target_name="dbt_intacct_shared_3", diff_name=scratch,
        state=state, model_literal=model,
    )  # fmt: skip
    for statuses in (["ok", "cleared"], []):
        out[f"removals_{len(statuses)}"] = r.render(
            "dbt_intacct__diff_removals_sql", target_name="dbt_intacct_removals_4",
            diff_name=scratch, state=state, model_literal=model, statuses=statuses,
        )  # fmt: skip
    return out


RENDERED: dict[str, dict[str, str]] = {}
RENDERERS: dict[str, MacroRenderer] = {}


def _renderer(dialect: str) -> MacroRenderer:
    if dialect not in RENDERERS:
        RENDERERS[dialect] = MacroRenderer(dialect)
    return RENDERERS[dialect]


def rendered(dialect: str) -> dict[str, str]:
    if dialect not in RENDERED:
        RENDERED[dialect] = _render_all(_renderer(dialect))
    return RENDERED[dialect]


def test_every_statement_parses_in_its_dialect(renderer: MacroRenderer) -> None:
    dialect = renderer.adapter_type
    failures = []
    parsed = 0
    for name, sql in rendered(dialect).items():
        for statement in statements(sql):
            try:
                tree = sqlglot.parse_one(statement, read=SQLGLOT_DIALECT[dialect])
            except sqlglot.errors.ParseError as exc:
                failures.append(f"{name}: {exc}\n{statement}")
                continue
            assert not isinstance(tree, exp.Command), f"{name} parsed as an opaque command:\n{statement}"
            parsed += 1
    assert not failures, "\n\n".join(failures)
    assert parsed > 30


def test_every_dispatched_macro_has_an_implementation_for_each_dialect(renderer: MacroRenderer) -> None:
    for name in dispatched_names():
        renderer.resolve(name)  # raises when neither the dialect, its parents nor default__ has one


def test_redshift_inherits_nothing_from_postgres() -> None:
    # dbt-redshift dispatches to postgres__ macros before default__: hashtextextended, advisory locks,
    # CREATE INDEX, FILTER and Postgres session settings do not exist on Redshift.
    r = MacroRenderer("redshift")
    inherited = [name for name in dispatched_names() if r.resolve(name).startswith("postgres__")]
    assert not inherited, f"redshift would run postgres__ macros: {inherited}"
    text = "\n".join(rendered("redshift").values()).lower()
    for word in ("hashtext", "pg_try_advisory_lock", "filter (where", "create index", "parallel_"):
        assert word not in text


def test_redshift_text_is_never_a_bare_varchar() -> None:
    # A VARCHAR without a length is VARCHAR(256) on Redshift: keys and hashed text would be cut or refused.
    text = "\n".join(rendered("redshift").values()).lower()
    assert re.findall(r"varchar(?!\(65535\))", text) == []
    assert "varchar(65535)" in text


def test_redshift_checksum_cannot_overflow() -> None:
    # Redshift has no bitwise-XOR aggregate; a SUM of BIGINT hashes would overflow, not one of DECIMAL(38,0).
    check = rendered("redshift")["diff_check_single_changes"].lower()
    assert check.count("sum(cast(") == 4 and check.count("as decimal(38, 0)))") == 4


def test_bigquery_makes_no_temporary_table() -> None:
    # CREATE TEMP TABLE needs a script or a session on BigQuery; dbt-bigquery runs single statements.
    r = MacroRenderer("bigquery")
    if "create_scratch_sql" not in dispatched_names():
        pytest.skip("the scratch tables are not dispatched on this branch")
    head = r.render(
        "dbt_intacct__create_scratch_sql", name=r.render("dbt_intacct__scratch_name", schema="s", name="t")
    )
    assert "temp" not in head.lower()
    assert "expiration_timestamp" in head


def test_databricks_tables_are_delta() -> None:
    # dbt-databricks falls back to dbt-spark's macros, which make parquet tables (no DELETE, no MERGE).
    if "create_table_sql" not in dispatched_names():
        pytest.skip("table creation is not dispatched on this branch")
    for sql in rendered("databricks").values():
        assert "parquet" not in sql.lower()
    assert "using delta" in rendered("databricks")["create_table"]


def test_the_dialects_need_no_dbt_cross_database_macro() -> None:
    # The renderer refuses dbt.*() for adapters that are not installed; rendering every statement for every
    # dialect (above) proves the package names its own types and functions there. This checks the refusal.
    r = MacroRenderer("snowflake")
    with pytest.raises(AssertionError, match=r"dbt\.type_string"):
        r.context["dbt"].type_string()


# -- run on DuckDB, translated by sqlglot ----------------------------------------------------------


def _duckdb() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("attach ':memory:' as db")
    con.execute("create schema db.analytics")
    con.execute("create schema db.analytics_intacct")
    # The 64-bit hashes of the four warehouses, played by DuckDB's own: what is checked is how the
    # statement combines them, not the hash function.
    for name in ("hash64_stand_in", "farm_fingerprint", "xxhash64", "fnv_hash"):
        con.execute(f"create or replace macro {name}(x) as hash(x)")
    return con


def _on_duckdb(dialect: str, sql: str) -> str:
    translated = sqlglot.transpile(sql, read=SQLGLOT_DIALECT[dialect], write="duckdb")
    assert len(translated) == 1
    return translated[0]


def _canonical_text(row: dict[str, str | None]) -> str:
    """The canonical text the row hash hashes: the fingerprint, then each hashed column in name order
    (chr(31), then 'N' for NULL or the value's length, ':' and the value)."""
    text = FINGERPRINT
    for column in sorted(c.name for c in HASHED):
        value = row[column]
        text += "\x1fN" if value is None else f"\x1f{len(value)}:{value}"
    return text


def _row_hash(row: dict[str, str | None]) -> str:
    return "c1:" + hashlib.md5(_canonical_text(row).encode()).hexdigest()


def _row_key(row: dict[str, str | None], keys: list[str]) -> str:
    """A row's key: one column as it is; several escaped and joined by the unit separator."""
    if len(keys) == 1:
        return str(row[keys[0]])
    return "\x1f".join(str(row[k]).replace("\x1e", "\x1e\x1e").replace("\x1f", "\x1e\x1f") for k in keys)


ROWS: list[dict[str, str | None]] = [
    {"id": "C-1", "line": "1", "name": "Zoë Ångström", "amount": "12.50"},
    {"id": "C-2", "line": "1", "name": None, "amount": "0"},
    {"id": "C-3", "line": "2", "name": "", "amount": None},
    {"id": "C\x1f4", "line": "\x1e", "name": "tab\tand 'quote'", "amount": "-7.125"},
    {"id": "C-5", "line": "1", "name": "日本語", "amount": "1e3"},
]


def _load(con: duckdb.DuckDBPyConnection, rows: list[dict[str, str | None]]) -> None:
    con.execute(
        "create or replace table db.analytics.customers "
        "(id varchar, line varchar, name varchar, amount varchar)"
    )
    con.executemany(
        "insert into db.analytics.customers values (?, ?, ?, ?)",
        [[r["id"], r["line"], r["name"], r["amount"]] for r in rows],
    )


@pytest.mark.parametrize("keys", list(KEYS.values()), ids=list(KEYS))
def test_row_hash_is_lower_case_md5_hex_of_the_canonical_text(
    renderer: MacroRenderer, keys: list[str]
) -> None:
    dialect = renderer.adapter_type
    con = _duckdb()
    _load(con, ROWS)
    key_sql = renderer.render("dbt_intacct__row_key", columns=keys)
    hash_sql = renderer.render(
        "dbt_intacct__row_hash", columns=HASHED, fingerprint=FINGERPRINT, key_columns=keys,
        scheme=renderer.render("dbt_intacct__hash_scheme"),
    )  # fmt: skip
    relation = renderer.relation("customers", schema="analytics")
    sql = _on_duckdb(dialect, f"select {key_sql} as k, {hash_sql} as h from {relation}")
    got = sorted(con.execute(sql).fetchall())
    want = sorted((_row_key(r, keys), _row_hash(r)) for r in ROWS)
    assert got == want
    assert all(re.fullmatch(r"c1:[0-9a-f]{32}", h) for _, h in got)


def _check(
    dialect: str, con: duckdb.DuckDBPyConnection, keys: list[str], send_changes: bool
) -> tuple[object, ...]:
    r = _renderer(dialect)
    sql = r.render(
        "dbt_intacct__diff_check_sql", relation=r.relation("customers", schema="analytics"),
        state=r.relation("intacct_state"), model_literal=r.literal(MODEL), key_columns=keys,
        hash_columns=HASHED, fingerprint=FINGERPRINT, send_changes=send_changes,
    )  # fmt: skip
    row = con.execute(_on_duckdb(dialect, sql)).fetchone()
    assert row is not None
    return tuple(row)


def _state(con: duckdb.DuckDBPyConnection, rows: list[dict[str, str | None]], keys: list[str]) -> None:
    con.execute(
        "create or replace table db.analytics_intacct.intacct_state "
        "(model_id varchar, row_key varchar, row_hash varchar, status varchar)"
    )
    con.executemany(
        "insert into db.analytics_intacct.intacct_state values (?, ?, ?, 'ok')",
        [[MODEL, _row_key(r, keys), _row_hash(r)] for r in rows],
    )


# Columns of the check (state/diff.py DiffCheck): rows, keyed_rows, relation_xor, ok_rows, ok_xor, legacy,
# attention, key_xor, state_rows, state_key_xor, compares_rows.
def _unchanged(c: tuple[object, ...]) -> bool:
    return bool(c[10]) and c[0] == c[1] == c[3] and c[2] == c[4] and not c[5] and not c[6]


def _same_keys(c: tuple[object, ...]) -> bool:
    return c[0] == c[1] == c[8] and c[7] == c[9]


@pytest.mark.parametrize("keys", list(KEYS.values()), ids=list(KEYS))
def test_checksum_is_order_independent_and_sees_a_change(renderer: MacroRenderer, keys: list[str]) -> None:
    dialect = renderer.adapter_type
    con = _duckdb()
    check: Callable[[bool], tuple[object, ...]] = lambda send: _check(dialect, con, keys, send)  # noqa: E731
    _state(con, ROWS, keys)
    results = set()
    for seed in range(4):
        shuffled = ROWS[:]
        random.Random(seed).shuffle(shuffled)
        _load(con, shuffled)
        first = check(True)
        assert _unchanged(first), first
        assert _same_keys(first), first
        assert _same_keys(check(False)) and _unchanged(check(False))
        results.add(first)
    assert len(results) == 1, "the checksum depends on the order of the rows"

    changed = [dict(r) for r in ROWS]
    changed[2]["name"] = "changed"
    _load(con, changed)
    after = check(True)
    assert not _unchanged(after) and _same_keys(after)
    assert _unchanged(check(False)), "insert-only models compare keys only"

    # Two rows swapping their values: the same multiset of hashes without the key, another with it.
    swapped = [dict(r) for r in ROWS]
    swapped[0]["name"], swapped[4]["name"] = swapped[4]["name"], swapped[0]["name"]
    _load(con, swapped)
    assert not _unchanged(check(True))

    _load(con, [*ROWS, ROWS[1]])  # a key twice
    assert not _unchanged(check(True)) and not _same_keys(check(True))
    _load(con, ROWS[1:])  # a key gone
    assert not _unchanged(check(True)) and not _same_keys(check(True))


# -- the tool's own writes: literals and inserts -----------------------------------------------------

TEXTS = ["O'Brien", "back\\slash", "\\'", "''", "a\\\\'b\\", "tab\there\nnewline", "Zoë 日本語", "%_", ""]


class _Captured(Warehouse):
    """A warehouse of an adapter type that is not installed: statements are kept, not run."""

    def __init__(self, adapter_type: str) -> None:
        super().__init__(DbtArgs(project_dir=Path(".")))
        self._adapter = type("Adapter", (), {"type": staticmethod(lambda: adapter_type)})()
        self.statements: list[str] = []

    def execute(self, sql: str) -> None:
        self.statements.append(sql)


@pytest.mark.parametrize("dialect", [*DIALECTS, "spark"])
def test_a_string_literal_reads_back_as_the_same_text(dialect: str) -> None:
    # BigQuery refuses '' in a literal; Spark and Databricks read 'a''b' as 'a' 'b' concatenated, so a
    # quote doubled the standard way would be lost there.
    w = _Captured(dialect)
    con = duckdb.connect()
    for text in TEXTS:
        sql = f"select {w.literal(text)} as v"
        tree = sqlglot.parse_one(sql, read=dialect)
        assert tree.find(exp.Concat) is None or "\\" in text, f"{dialect}: {sql} is not one literal"
        row = con.execute(tree.sql(dialect="duckdb")).fetchone()
        assert row is not None and row[0] == text, f"{dialect}: {sql} reads back as {row!r}"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_tools_inserts_parse(dialect: str) -> None:
    w = _Captured(dialect)
    r = _renderer(dialect)
    state = r.relation("intacct_ledger")
    rows = [
        ["run-1", MODEL, "C'1", None, 3, 1.5, Decimal("12.50"), datetime(2026, 12, 5, 8, 0, 1, 250000), text]
        for text in TEXTS
    ]
    columns = ["run_id", "model_id", "row_key", "row_hash", "version", "elapsed", "amount", "at", "message"]
    w.insert_rows(state, columns, rows)
    (sql,) = w.statements
    tree = sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[dialect])
    assert isinstance(tree, exp.Insert)
    values = tree.find(exp.Values)
    assert values is not None and len(values.expressions) == len(rows)


class _Cursor:
    description = [("ROW_KEY",), ("STATUS",), ("CUSTOMER_ID",), ("__seq",)]

    def fetchmany(self, limit: int) -> list[tuple[object, ...]]:
        return [("C-1", "ok", 7, 1)]


def test_snowflake_rows_are_read_by_the_tools_lower_case_names() -> None:
    # Snowflake names the result column of `select row_key` ROW_KEY; the tool reads row["row_key"].
    for dialect, folded in (("snowflake", True), ("duckdb", False)):
        w = _Captured(dialect)
        connections = type(
            "Connections", (), {"add_query": staticmethod(lambda sql, auto_begin: (None, _Cursor()))}
        )
        w._adapter.connections = connections()
        (row,) = w.read_page('select row_key, status, customer_id, 1 as "__seq" from t', 10)
        assert list(row) == ["ROW_KEY", "STATUS", "CUSTOMER_ID", "__seq"]
        assert row["CUSTOMER_ID"] == 7 and row["__seq"] == 1
        if folded:
            assert row["row_key"] == "C-1" and row.get("status") == "ok" and "status" in row
            assert row.get("missing") is None and "missing" not in row
        else:
            assert "row_key" not in row


@pytest.mark.parametrize("dialect", DIALECTS)
def test_large_inserts_are_split_under_the_statement_limit(dialect: str) -> None:
    # A batch of journal entries' functions can pass BigQuery's 1 MB limit on a query's text.
    w = _Captured(dialect)
    payload = "<GLENTRY>" + "x" * 29_000 + "</GLENTRY>"
    rows = [[f"K-{i}", payload] for i in range(50)]
    w.insert_rows(_renderer(dialect).relation("intacct_ledger"), ["row_key", "payload"], rows)
    assert len(w.statements) > 1
    assert all(len(sql) <= MAX_STATEMENT_CHARS for sql in w.statements)
    inserted = [
        len(values.expressions)
        for sql in w.statements
        for values in [sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[dialect]).find(exp.Values)]
        if values is not None
    ]
    assert sum(inserted) == len(rows)
