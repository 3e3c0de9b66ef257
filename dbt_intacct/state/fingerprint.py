"""A model's fingerprint for a saved plan: its rows (key and row hash, as hashed in the warehouse) and its
state, each as a row count and an order-independent checksum (`dbt_intacct__plan_fingerprint_sql`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dbt_intacct.state.canonical import HashedColumn
from dbt_intacct.state.tables import StateTables


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    rows_checksum: str | None
    state_rows: int
    state_checksum: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        return cls(
            rows=int(data["rows"]),
            rows_checksum=data.get("rows_checksum"),
            state_rows=int(data["state_rows"]),
            state_checksum=data.get("state_checksum"),
        )


def fingerprint(
    tables: StateTables,
    *,
    relation: Any,
    model_id: str,
    key_columns: Sequence[str],
    hash_columns: Sequence[HashedColumn],
    spec_fingerprint: str,
) -> Fingerprint:
    """The model's fingerprint now: one statement, one pass over the relation and one over its state."""
    w = tables.warehouse
    scheme = w.render("dbt_intacct__hash_scheme").strip()
    sql = w.render(
        "dbt_intacct__plan_fingerprint_sql",
        relation=relation,
        state=tables.state,
        model_literal=w.literal(model_id),
        key_columns=list(key_columns),
        hash_columns=list(hash_columns),
        fingerprint=spec_fingerprint,
        scheme=scheme,
    )
    rows, rows_checksum, state_rows, state_checksum = w.fetch_small(sql)[0]
    return Fingerprint(
        rows=int(rows or 0),
        rows_checksum=None if rows_checksum is None else str(rows_checksum),
        state_rows=int(state_rows or 0),
        state_checksum=None if state_checksum is None else str(state_checksum),
    )
