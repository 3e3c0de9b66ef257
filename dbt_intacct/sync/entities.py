"""Multi-entity companies: which entity each row of a model is written in.

`entity:` in a model's `meta.intacct` names a column (or `{value: ...}`) holding the row's entity ID;
NULL or empty is the top level. The row's function is sent through a session logged in to that entity,
and the record it creates belongs to that entity for good: a row whose entity changes is rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dbt_intacct.objects.formatting import InvalidValue, check_xml_text
from dbt_intacct.sync.sources import ColumnSource, ConstantSource

EntitySource = ColumnSource | ConstantSource
TOP_LEVEL = ""


def parse_entity(raw: Any, problem: Callable[[str, str], None]) -> EntitySource | None:
    """The `entity:` key: a column name, `{column: name}` or `{value: ENTITY_ID}`."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw:
        return ColumnSource(raw)
    if isinstance(raw, Mapping) and len(raw) == 1:
        if isinstance(raw.get("column"), str) and raw["column"]:
            return ColumnSource(raw["column"])
        if "value" in raw and (raw["value"] is None or isinstance(raw["value"], str | int)):
            return ConstantSource(raw["value"])
    problem(
        "entity",
        "must name the column holding each row's entity ID (NULL = top level), or be "
        "{value: ENTITY_ID} for a model written in one entity",
    )
    return None


def entity_of(source: EntitySource | None, row: Mapping[str, Any]) -> str | None:
    """The entity ID a row is written in: "" for the top level; None when the model has no `entity:`
    (the connection's own entity_id applies)."""
    if source is None:
        return None
    value = source.value if isinstance(source, ConstantSource) else row.get(source.column)
    return TOP_LEVEL if value is None else str(value).strip()


def entity_problem(entity: str | None) -> str | None:
    """Why an entity ID cannot be sent as a login's locationid, or None."""
    if not entity:
        return None
    try:
        check_xml_text(entity)
    except InvalidValue as exc:
        return f"the entity ID {exc.reason}"
    return None


def entity_label(entity: str | None) -> str:
    """How messages and the plan name an entity."""
    if entity is None:
        return "the connection's entity"
    return f"entity {entity}" if entity else "the top level"


def can_reference(entity: str | None, owner: str | None) -> bool:
    """Whether a row written in `entity` may name a record that belongs to `owner`.

    A record private to an entity is seen (and may be named) in that entity only; top-level records are
    seen everywhere. A model without `entity:` (None) writes in the connection's entity, which the
    check cannot know: Intacct decides.
    """
    return not owner or entity is None or entity == owner
