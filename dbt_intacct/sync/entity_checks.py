"""The checks a row written in an entity must pass: its entity is one a login can name and the one its
record belongs to; and, when Intacct refuses an upsert's create as a duplicate the row's entity cannot
see, which entity owns that record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef
from dbt_intacct.sync.entities import EntitySource, entity_label, entity_problem
from dbt_intacct.sync.lookups import RecordLookups, match_key
from dbt_intacct.sync.planned import CREATE, PlannedFunction
from dbt_intacct.sync.spec import SyncSpec


def check_row_entity(source: EntitySource, row: Mapping[str, Any], entity: str | None) -> None:
    """Reject a row whose entity a login cannot name, or whose record belongs to another entity (the
    state's `__entity`): a record cannot move between entities."""
    column = getattr(source, "column", "entity")
    problem = entity_problem(entity)
    if problem is not None:
        raise RowRejected(column, problem)
    previous = row.get("__entity")
    if previous is None or previous == entity or not (row["__recordno"] or row["__intacct_id"]):
        return
    raise RowRejected(
        column,
        f"the row's entity changed from {entity_label(previous)} to {entity_label(entity)}, but its "
        f"Intacct record (RECORDNO {row['__recordno'] or '?'}) belongs to {entity_label(previous)}: a "
        "record cannot move between entities. Put the row back in its entity, or give the row in the "
        "new entity a new primary key (and let the old one leave the model).",
    )


def unseen_owners(
    lookups: RecordLookups,
    spec: SyncSpec,
    follow_ups: Sequence[PlannedFunction],
    found: Mapping[tuple[str | None, str], RecordRef],
) -> dict[str, str]:
    """Upsert creates refused as duplicates of a record their entity cannot see (not in `found`): the
    entity that owns each, by match value (one top-level query with private records shown)."""
    match = spec.match
    if spec.entity is None or match is None:
        return {}
    unseen = {
        match_key(p.match_value)
        for p in follow_ups
        if p.action == CREATE and (p.entity, match_key(p.match_value)) not in found
    }
    return lookups.owners(match.field, sorted(unseen)) if unseen else {}


def owned_elsewhere(entity: str | None, owner: str | None) -> str:
    """What a duplicate's message adds when the record belongs to another entity ("" otherwise)."""
    if owner is None or owner == entity:
        return ""
    return (
        f" in {entity_label(entity)}: that record belongs to {entity_label(owner)}, private to it, and IDs "
        "are unique across the company. A record cannot move between entities: write the row in "
        f"{entity_label(owner)}, or give it another ID"
    )
