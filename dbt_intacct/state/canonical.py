"""The kind of each hashed column, which says how its values are written in the canonical row text that
the row hash is the md5 of (macros/canonical.sql; docs/row-hashes.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dbt_intacct.dbt.warehouse import Warehouse
from dbt_intacct.errors import WarehouseError

KINDS = ("int", "decimal", "float", "bool", "date", "timestamp", "timestamptz", "json", "text")

# Type names as the warehouses report them (DuckDB's DESCRIBE, Postgres's format_type, Spark's DESCRIBE,
# information_schema elsewhere), lower-cased, without their parameters; the first pattern that matches
# the start of the name wins.
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("json", r"json|super|variant|object|struct|map|union|array|.*\]$"),
        ("text", r"interval|point"),
        ("bool", r"bool"),
        (
            "int",
            r"(u?(tiny|small|big|huge)?int(eger)?|int[1248]|int64|u?hugeint|long|short|byte|(big|small)?serial)\b",
        ),
        ("decimal", r"(numeric|decimal|number|bignumeric|bigdecimal)\b"),
        ("float", r"(float[48]?|float64|double|real)\b"),
        ("timestamptz", r"(timestamp with time zone|timestamptz|timestamp_tz|timestamp_ltz)\b"),
        ("timestamp", r"(timestamp|datetime|timestamp_ntz)\b"),
        ("date", r"date\b"),
    )
)


@dataclass(frozen=True)
class HashedColumn:
    """A column of a model's row hash: its name and how its values are written (one of KINDS)."""

    name: str
    kind: str


def column_kind(type_name: str) -> str:
    """The canonical kind of a warehouse type name ('DECIMAL(18,3)' -> 'decimal'); text when unknown."""
    name = type_name.strip().lower()
    for kind, pattern in _KIND_PATTERNS:
        if pattern.match(name):
            return kind
    return "text"


def hashed_columns(warehouse: Warehouse, relation: Any, names: Sequence[str]) -> tuple[HashedColumn, ...]:
    """The named columns of a relation with their kinds, read from the warehouse's catalogue."""
    literals = {
        "relation": warehouse.literal(str(relation.include(database=False))),
        "schema": warehouse.literal(relation.schema),
        "identifier": warehouse.literal(relation.identifier),
    }
    sql = warehouse.render("dbt_intacct__column_types_sql", relation=relation, names=literals)
    # The first two columns of each row (Spark's DESCRIBE has a third, the comment).
    types = {str(row[0]): str(row[1]) for row in warehouse.fetch_small(sql)}
    folded = {name.lower(): type_name for name, type_name in types.items()}
    found: list[HashedColumn] = []
    for name in names:
        type_name = types.get(name, folded.get(name.lower()))
        if type_name is None:
            raise WarehouseError(f"the catalogue of {relation} does not list its column {name!r}")
        found.append(HashedColumn(name=name, kind=column_kind(type_name)))
    return tuple(found)
