"""Values between the tool and a warehouse's driver: bounded reads from any dbt cursor, rows as the
engine gives them (structs, upper-case names), and string literals in each warehouse's escaping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbt_intacct.errors import WarehouseError


def fetch_bounded(cursor: Any, limit: int) -> Sequence[Any]:
    """At most `limit` rows of a cursor's result, never the whole of it.

    dbt-spark's cursor wrappers have no `fetchmany` (and the session one's `fetchone` returns one row
    only): the wrapped cursor is read instead, a DataFrame (`take`) in the session method, a DB-API
    cursor (`fetchmany`) in the thrift and ODBC methods."""
    fetchmany = getattr(cursor, "fetchmany", None)
    if fetchmany is not None:
        return list(fetchmany(limit))
    wrapped = getattr(cursor, "_cursor", None)
    frame = getattr(wrapped, "_df", None)
    if frame is not None:
        return list(frame.take(limit))
    if wrapped is not None and hasattr(wrapped, "fetchmany"):
        return list(wrapped.fetchmany(limit))
    raise WarehouseError(f"cannot read a bounded result from a {type(cursor).__name__} cursor")


# Warehouses whose driver returns a STRUCT as a tuple with field names (pyspark's Row): an
# ARRAY<STRUCT<...>> line array is read as a list of dicts, as DuckDB's and Postgres' drivers give it.
STRUCTS_AS_ROWS = frozenset({"spark", "databricks"})


def plain(value: Any) -> Any:
    """A value with each struct in it (a pyspark Row, at any depth of lists) as a dict of its fields."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    as_dict = getattr(value, "asDict", None)
    if isinstance(value, tuple) and as_dict is not None:
        return {str(k): plain(v) for k, v in as_dict(recursive=False).items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def bindable(value: Any) -> Any:
    # The same text `literal` writes: NUL is dropped (a warehouse string cannot hold it everywhere).
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    return value


# Warehouses whose string literals treat a backslash as an escape character, and take a quote as \'
# only: BigQuery refuses '' inside a literal, and Spark and Databricks read 'a''b' as two adjacent
# literals, concatenated ('ab': the quote would be lost).
BACKSLASH_ESCAPING = frozenset({"snowflake", "bigquery", "databricks", "spark", "mysql"})
# Warehouses where whether a backslash escapes depends on the server's settings or version (Redshift
# parses literals as PostgreSQL 8 did): a backslash is written as chr(92), which means one either way.
BACKSLASH_AS_CHR = frozenset({"redshift"})


# Warehouses that store an unquoted identifier in upper case, and so name a result column: the tool's
# own columns (`row_key`, `status`, ...) come back as ROW_KEY, STATUS.
UPPER_CASE_FOLDING = frozenset({"snowflake"})


class FoldedRow(dict[str, Any]):
    """A result row whose columns are also found by another case of their name (`row["row_key"]` finds
    ROW_KEY), for warehouses that fold unquoted identifiers to upper case. Its keys stay the names the
    warehouse gave: a model's own columns are looked up by their real names, which the exact key finds."""

    def __missing__(self, key: str) -> Any:
        folded = key.casefold()
        for name, value in self.items():
            if name.casefold() == folded:
                return value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if super().__contains__(key):
            return True
        return isinstance(key, str) and any(name.casefold() == key.casefold() for name in self)


def string_literal(text: str, adapter_type: str) -> str:
    """A SQL string literal of `text` for the warehouse (NUL already removed)."""
    if adapter_type in BACKSLASH_ESCAPING:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    escaped = text.replace("'", "''")
    if adapter_type in BACKSLASH_AS_CHR and "\\" in escaped:
        return "(" + " || chr(92) || ".join(f"'{part}'" for part in escaped.split("\\")) + ")"
    return f"'{escaped}'"
