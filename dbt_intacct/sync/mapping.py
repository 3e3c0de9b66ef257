"""Turning one warehouse row into the Intacct field values its spec maps it to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Template

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef
from dbt_intacct.sync.entities import can_reference, entity_label
from dbt_intacct.sync.sources import (
    ArraySource,
    ColumnSource,
    ConstantSource,
    ReferenceSource,
    Source,
    TemplateSource,
)
from dbt_intacct.sync.spec import SyncSpec
from dbt_intacct.sync.template_budget import TemplateLimitExceeded
from dbt_intacct.sync.templates import TEMPLATE_ENV, render_template

# What other models' rows became in Intacct, by (model unique_id, row key): for `record_of`.
References = Mapping[tuple[str, str], "ReferencedRecord"]


@dataclass(frozen=True)
class ReferencedRecord:
    ref: RecordRef
    status: str
    entity: str | None = None  # the entity its record belongs to ("" top level; None: no `entity:`)


@dataclass(frozen=True)
class MappedRow:
    """The values a row gives each mapped Intacct field (None = leave the field out)."""

    values: dict[str, Any]
    custom_fields: dict[str, Any]


# In a plan, a `record_of` whose row is not synced yet (it will be, earlier in the same run) is
# priced and shown with this placeholder RECORDNO.
UNRESOLVED_IN_PLAN = "0"


def map_row(
    spec: SyncSpec,
    row: Mapping[str, Any],
    references: References | None = None,
    *,
    plan: bool = False,
    entity: str | None = None,
) -> MappedRow:
    """Evaluate the spec's mapping over a row; a row-level problem raises RowRejected naming the field.
    `entity` is the entity the row is written in: a `record_of` may not name another entity's record."""
    refs: References = references or {}
    if plan:
        refs = _PlanReferences(refs)
    scope = _Scope(refs, entity)
    values = {key: _evaluate(key, source, row, None, scope) for key, source in spec.mapping.items()}
    custom = {
        key: _evaluate(f"custom_fields.{key}", source, row, None, scope)
        for key, source in spec.custom_fields.items()
    }
    return MappedRow(values=values, custom_fields=custom)


def reference_keys(spec: SyncSpec, row: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (model, row key) pairs a row's `record_of` mappings point at, lines included."""
    wanted: set[tuple[str, str]] = set()
    for key, source in spec.mapping.items():
        if isinstance(source, ReferenceSource) and row.get(source.column) is not None:
            wanted.add((source.model_id, _key_text(row[source.column])))
        elif isinstance(source, ArraySource) and row.get(source.column) is not None:
            subs = [s for s in source.mapping.values() if isinstance(s, ReferenceSource)]
            if not subs:
                continue
            try:
                items = _as_list(key, source.column, row[source.column])
            except RowRejected:
                continue  # reported when the row is mapped
            for item in items:
                if isinstance(item, Mapping):
                    for sub in subs:
                        value = _find(item, sub.column)
                        if value is not None:
                            wanted.add((sub.model_id, _key_text(value)))
    for source in spec.custom_fields.values():
        if isinstance(source, ReferenceSource) and row.get(source.column) is not None:
            wanted.add((source.model_id, _key_text(row[source.column])))
    return wanted


@dataclass(frozen=True)
class _Scope:
    """What `record_of` mappings resolve against: the references read, and the row's entity."""

    refs: References
    entity: str | None


def _evaluate(
    key: str,
    source: Source,
    row: Mapping[str, Any],
    line: Mapping[str, Any] | None,
    scope: _Scope,
) -> Any:
    if isinstance(source, ColumnSource):
        if line is not None:
            return _line_value(key, line, source.column)
        return row[source.column]
    if isinstance(source, ConstantSource):
        return source.value
    if isinstance(source, TemplateSource):
        return _render(key, source.template, row, line)
    if isinstance(source, ReferenceSource):
        value = _line_value(key, line, source.column) if line is not None else row[source.column]
        return _resolve(key, source, value, scope)
    return _lines(key, source, row, scope)


def _resolve(key: str, source: ReferenceSource, value: Any, scope: _Scope) -> str | None:
    if value is None:
        return None
    refs = scope.refs
    found = refs.get((source.model_id, _key_text(value)))
    wanted = "RECORDNO" if source.field == "recordno" else "ID"
    if found is not None and not can_reference(scope.entity, found.entity):
        raise RowRejected(
            key,
            f"the row {_key_text(value)!r} of model '{source.model_name}' is written in "
            f"{entity_label(found.entity)}, and its record is private to that entity; this row is written "
            f"in {entity_label(scope.entity)}, and Intacct refuses a reference to another entity's private "
            f"record. Write this row in {entity_label(found.entity)}, or write the referenced row at the top "
            "level (a NULL entity), where every entity sees it",
        )
    if isinstance(refs, _PlanReferences):
        known = (
            None if found is None else (found.ref.recordno if source.field == "recordno" else found.ref.id)
        )
        return known or UNRESOLVED_IN_PLAN
    if found is None:
        raise RowRejected(
            key,
            f"model '{source.model_name}' has no synced row with key {_key_text(value)!r}; "
            "this row is retried once that row reaches Intacct",
        )
    result = found.ref.recordno if source.field == "recordno" else found.ref.id
    if not result:
        raise RowRejected(
            key,
            f"the row {_key_text(value)!r} of model '{source.model_name}' has no Intacct {wanted} yet "
            f"(its status is {found.status}); this row is retried once it has one",
        )
    return result


class _PlanReferences(dict[tuple[str, str], ReferencedRecord]):
    """References for a plan: a row not synced yet resolves to a placeholder instead of a rejection."""


def _key_text(value: Any) -> str:
    return str(value)


def _find(line: Mapping[str, Any], name: str) -> Any:
    if name in line:
        return line[name]
    lowered = {str(k).lower(): k for k in line}
    return line[lowered[name.lower()]] if name.lower() in lowered else None


def _lines(
    key: str, source: ArraySource, row: Mapping[str, Any], scope: _Scope
) -> list[dict[str, Any]] | None:
    raw = row[source.column]
    if raw is None:
        return None
    items = _as_list(key, source.column, raw)
    lines: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise RowRejected(
                f"{key}[{index}]",
                f"each element of column '{source.column}' must be a struct/object, got {_describe(item)}",
            )
        lines.append(
            {
                sub_key: _evaluate(f"{key}[{index}].{sub_key}", sub_source, row, item, scope)
                for sub_key, sub_source in source.mapping.items()
            }
        )
    return lines


def _as_list(key: str, column: str, raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str):
        try:
            # Decimal, not float: amounts keep their cents exactly (1250.50, never 1250.4999...).
            parsed = json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise RowRejected(
                key, f"column '{column}' must hold a list of lines; its text is not JSON"
            ) from None
        if isinstance(parsed, list):
            return parsed
        raise RowRejected(key, f"column '{column}' must hold a JSON array of lines, got {_describe(parsed)}")
    raise RowRejected(key, f"column '{column}' must hold a list of lines, got {_describe(raw)}")


def _line_value(key: str, line: Mapping[str, Any], name: str) -> Any:
    if name in line:
        return line[name]
    lowered = {str(k).lower(): k for k in line}
    if name.lower() in lowered:
        return line[lowered[name.lower()]]
    have = ", ".join(sorted(str(k) for k in line)) or "nothing"
    raise RowRejected(key, f"the line has no key '{name}' (it has: {have})")


class _Row(Mapping[str, Any]):
    """The `row` a template sees: columns by name; a missing column is an error, not a silent blank."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    return TEMPLATE_ENV.from_string(text)


def _render(key: str, text: str, row: Mapping[str, Any], line: Mapping[str, Any] | None) -> str:
    context: dict[str, Any] = {"row": _Row(row)}
    if line is not None:
        context["line"] = _Row(line)
    try:
        rendered = render_template(_compiled(text), context)
    except TemplateLimitExceeded as exc:
        raise RowRejected(key, f"template exceeds a limit: {exc}") from None
    except Exception as exc:  # a template is the user's code: whatever it raises is this row's error
        detail = str(exc) or type(exc).__name__
        raise RowRejected(key, f"template failed: {detail}") from None
    return rendered


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
