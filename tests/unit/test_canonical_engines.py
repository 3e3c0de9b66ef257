"""The canonical row text on Spark (macros/dialects/spark_hash.sql), run on a real local SparkSession,
against the canonical text as docs and macros/canonical.sql define it (`reference_text` here).

The same logical values, in Spark's own types (an integer as INT, BIGINT or TINYINT, a decimal at scale
2, 3 or 9, a zero at scale 9, a tiny decimal Java would write in scientific notation, a double, a
boolean, a date, TIMESTAMP and TIMESTAMP_NTZ, Unicode text, NULLs), must give the reference's text and
the reference's row hash. tests/functional/test_one_plan.py checks that DuckDB's and Postgres's row
hashes are the reference's too, through a real dbt build and plan on each.

Spark's macros are rendered with dbt's dispatch order for dbt-spark (`spark__`, then `default__`); for
what this branch has no `spark__` macro of (its column types, `||`, md5: the Spark adapter's own
macros), Databricks', which are the same Spark SQL. Every rendered statement also parses with sqlglot's
Spark and Databricks dialects.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from tests.support import dialects
from tests.support.dialects import MacroRenderer

pyspark = pytest.importorskip("pyspark", reason="pyspark is the Spark extra's (dbt-intacct[spark])")

FINGERPRINT = "f1a2"

# name, kind, Spark type, values (the same logical value in each row's position as in the reference).
COLUMNS: list[tuple[str, str, str, list[Any]]] = [
    ("i_int", "int", "int", [42, -7, None, 0]),
    ("i_big", "int", "bigint", [9007199254740993, -1, 0, None]),
    ("i_tiny", "int", "tinyint", [1, None, -128, 127]),
    ("d_2", "decimal", "decimal(12,2)", [Decimal("12.50"), Decimal("0.00"), None, Decimal("-1234567.10")]),
    ("d_3", "decimal", "decimal(20,3)", [Decimal("100.000"), Decimal("-0.250"), Decimal("7.001"), None]),
    ("d_9", "decimal", "decimal(38,9)", [Decimal("0E-9"), Decimal("1E-7"), Decimal("123.456789012"), None]),
    ("d_0", "decimal", "decimal(38,0)", [Decimal("12345678901234567890123456789012345678"), Decimal(0), None,
                                         Decimal(-5)]),
    ("f_d", "float", "double", [0.1, 2.5, None, -1234.5]),
    ("f_zero", "float", "double", [0.0, 1e-7, 1e20, None]),
    ("b", "bool", "boolean", [True, False, None, False]),
    ("dt", "date", "date", [date(2024, 1, 15), date(1999, 12, 31), None, date(2026, 2, 28)]),
    ("ts", "timestamp", "timestamp_ntz", [datetime(2024, 1, 5, 1, 2, 3, 500000), datetime(2026, 12, 5),
                                           None, datetime(2000, 2, 29, 23, 59, 59, 999999)]),
    ("t", "text", "string", ["Zoë Ångström", "", None, "日本語 \x1f 'quote' \\ 😀"]),
    ("t_n", "text", "string", ["N", "0:", "\x1fN", None]),
    ("lines", "json", "array<struct<account:string,amount:decimal(18,2),memo:string,qty:int>>", [
        [{"account": "6500", "amount": Decimal("1250.50"), "memo": "Salaries", "qty": 3},
         {"account": "2000", "amount": Decimal("-1250.50"), "memo": None, "qty": None}],
        [],
        None,
        [{"account": "\"6500\":\"", "amount": Decimal("0.00"), "memo": 'Zoë "quoted" 日本', "qty": -1}],
    ]),
]  # fmt: skip
ROWS = len(COLUMNS[0][3])


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def value_text(kind: str, value: Any) -> str:
    """One value's canonical text (macros/canonical.sql, the top of the file)."""
    if kind == "int":
        return str(int(value))
    if kind == "decimal":
        return _decimal_text(Decimal(value))
    if kind == "float":
        # Rounded half up to 9 places, as a cast to DECIMAL(38, 9) rounds (below 10^28 only: see the macro).
        exact = Decimal(float(value))
        return _decimal_text(
            exact.quantize(Decimal("1E-9"), rounding=ROUND_HALF_UP, context=Context(prec=80))
        )
    if kind == "bool":
        return "true" if value else "false"
    if kind == "date":
        return str(value.isoformat())
    if kind == "timestamp":
        return str(value.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    if kind == "json":
        return "".join("\x1d" + _fields_text(element) for element in value)
    return str(value)


def _fields_text(element: dict[str, Any]) -> str:
    """A line's fields in name order: each name and value length-prefixed, 'N' for NULL, a number as a
    decimal (rounded to 9 places) without trailing zeros, anything else as its text."""
    text = ""
    for name in sorted(element, key=lambda n: n.encode("utf-8")):
        value = element[name]
        if value is None:
            written = "N"
        else:
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                value = _decimal_text(Decimal(value).quantize(Decimal("1E-9"), context=Context(prec=80)))
            written = f"{len(str(value))}:{value}"
        text += f"\x1f{len(name)}:{name}\x1f{written}"
    return text


def reference_text(row: dict[str, tuple[str, Any]], fingerprint: str = FINGERPRINT) -> str:
    """The canonical row text: the fingerprint, then each column in name order: the unit separator, then
    'N' for NULL or the value's length in characters, ':' and its text."""
    text = fingerprint
    for name in sorted(row):
        kind, value = row[name]
        if value is None:
            text += "\x1fN"
        else:
            value_str = value_text(kind, value)
            text += f"\x1f{len(value_str)}:{value_str}"
    return text


def reference_hash(row: dict[str, tuple[str, Any]], fingerprint: str = FINGERPRINT) -> str:
    return "c1:" + hashlib.md5(reference_text(row, fingerprint).encode("utf-8")).hexdigest()


def _row(i: int) -> dict[str, tuple[str, Any]]:
    return {name: (kind, values[i]) for name, kind, _, values in COLUMNS}


@pytest.fixture(scope="module")
def spark_renderer() -> Iterator[MacroRenderer]:
    saved = dict(dialects.PREFIXES), dict(dialects.QUOTES)
    dialects.PREFIXES.setdefault("spark", ("spark", "databricks", "default"))
    dialects.QUOTES.setdefault("spark", "`")
    try:
        yield MacroRenderer("spark")
    finally:
        dialects.PREFIXES.clear()
        dialects.PREFIXES.update(saved[0])
        dialects.QUOTES.clear()
        dialects.QUOTES.update(saved[1])


@pytest.fixture(scope="module")
def spark() -> Any:
    """The process's SparkSession (the one the Spark fixtures started, when they did), in UTC."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.conf.set("spark.sql.session.timeZone", "UTC")
    schema = ", ".join(f"{name} {spark_type}" for name, _, spark_type, _ in COLUMNS)
    rows = [tuple([i, *(values[i] for _, _, _, values in COLUMNS)]) for i in range(ROWS)]
    session.createDataFrame(rows, f"row_no int, {schema}").createOrReplaceTempView("canonical_values")
    return session


def _columns() -> list[dict[str, str]]:
    return [{"name": name, "kind": kind} for name, kind, _, _ in COLUMNS]


def _parses(sql: str) -> None:
    for dialect in ("spark", "databricks"):
        tree = sqlglot.parse_one(sql, read=dialect)
        assert not isinstance(tree, exp.Command), f"{dialect}: parsed as an opaque command:\n{sql}"


def test_each_value_is_written_as_the_reference_writes_it(spark_renderer: MacroRenderer, spark: Any) -> None:
    selected = [
        spark_renderer.render("dbt_intacct__canonical_text", column=f"`{name}`", kind=kind) + f" as {name}"
        for name, kind, _, _ in COLUMNS
    ]
    sql = f"select row_no, {', '.join(selected)} from canonical_values order by row_no"
    _parses(sql)
    got = [r.asDict() for r in spark.sql(sql).collect()]
    mismatches = []
    for i, row in enumerate(got):
        for name, kind, spark_type, values in COLUMNS:
            want = None if values[i] is None else value_text(kind, values[i])
            if row[name] != want:
                mismatches.append(
                    f"{name} ({spark_type}) {values[i]!r}: Spark {row[name]!r}, reference {want!r}"
                )
    assert not mismatches, "\n".join(mismatches)


def test_the_row_hash_is_the_reference_hash(spark_renderer: MacroRenderer, spark: Any) -> None:
    hashed = spark_renderer.render("dbt_intacct__canonical_hash", columns=_columns(), fingerprint=FINGERPRINT)
    sql = f"select row_no, {hashed} as h from canonical_values order by row_no"
    _parses(sql)
    got = [r["h"] for r in spark.sql(sql).collect()]
    assert got == [reference_hash(_row(i)) for i in range(ROWS)]
    assert len(set(got)) == ROWS


def test_a_timestamp_with_a_time_zone_is_written_in_utc(spark_renderer: MacroRenderer, spark: Any) -> None:
    text = spark_renderer.render("dbt_intacct__canonical_text", column="ts", kind="timestamptz")
    sql = f"select {text} as v from (select timestamp'2026-12-05 10:30:00.25' as ts)"
    _parses(sql)
    for zone, want in (("UTC", "2026-12-05T10:30:00.250000"), ("Europe/Paris", "2026-12-05T09:30:00.250000")):
        spark.conf.set("spark.sql.session.timeZone", zone)
        try:
            assert spark.sql(sql).collect()[0]["v"] == want, zone
        finally:
            spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_the_catalogue_gives_each_columns_kind(spark_renderer: MacroRenderer, spark: Any) -> None:
    from dbt_intacct.state.canonical import column_kind

    sql = spark_renderer.render("dbt_intacct__column_types_sql", relation="canonical_values", names={})
    types = {str(r[0]): str(r[1]) for r in spark.sql(sql).collect()}
    assert {name: column_kind(types[name]) for name, _, _, _ in COLUMNS} == {
        name: kind for name, kind, _, _ in COLUMNS
    }
