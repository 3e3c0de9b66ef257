"""What a NULL does in an update: `nulls: keep` (the default) leaves the field out, so Intacct keeps its
value; `nulls: clear` sends the field empty. Per model, and per mapping entry or custom field."""

from __future__ import annotations

from dbt_intacct.sync.mapping import MappedRow
from dbt_intacct.sync.sources import ArraySource
from dbt_intacct.sync.spec import SyncSpec


def apply_nulls(spec: SyncSpec, mapped: MappedRow) -> tuple[MappedRow, list[str]]:
    """The values an update sends, NULLs to clear made empty; and the fields a NULL leaves unchanged
    (mapping keys; custom fields as `custom_fields.ID`). Line arrays are never cleared by a NULL."""
    obj = spec.object
    values = dict(mapped.values)
    custom = dict(mapped.custom_fields)
    kept: list[str] = []
    for key, value in mapped.values.items():
        if value is not None or isinstance(spec.mapping.get(key), ArraySource):
            continue
        if f"mapping.{key}" in spec.clear_nulls and obj.clearable_fields([key]):
            values[key] = ""
        else:
            kept.append(key)
    for key, value in mapped.custom_fields.items():
        if value is not None:
            continue
        if f"custom_fields.{key}" in spec.clear_nulls and obj.update_takes_custom_fields():
            custom[key] = ""
        else:
            kept.append(f"custom_fields.{key}")
    return MappedRow(values=values, custom_fields=custom), kept


def kept_note(kept: list[str]) -> str:
    """The row outcome's note for the fields a NULL left unchanged."""
    return "left unchanged (NULL, nulls: keep): " + ", ".join(kept)
