"""Turning one warehouse row into the Intacct field values its spec maps it to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError
from jinja2.exceptions import SecurityError

from dbt_intacct.errors import RowRejected
from dbt_intacct.sync.spec import (
    TEMPLATE_ENV,
    ArraySource,
    ColumnSource,
    ConstantSource,
    Source,
    SyncSpec,
    TemplateSource,
)


@dataclass(frozen=True)
class MappedRow:
    """The values a row gives each mapped Intacct field (None = leave the field out)."""

    values: dict[str, Any]
    custom_fields: dict[str, Any]


def map_row(spec: SyncSpec, row: Mapping[str, Any]) -> MappedRow:
    """Evaluate the spec's mapping over a row; a row-level problem raises RowRejected naming the field."""
    values = {key: _evaluate(key, source, row, None) for key, source in spec.mapping.items()}
    custom = {
        key: _evaluate(f"custom_fields.{key}", source, row, None)
        for key, source in spec.custom_fields.items()
    }
    return MappedRow(values=values, custom_fields=custom)


def _evaluate(key: str, source: Source, row: Mapping[str, Any], line: Mapping[str, Any] | None) -> Any:
    if isinstance(source, ColumnSource):
        if line is not None:
            return _line_value(key, line, source.column)
        return row[source.column]
    if isinstance(source, ConstantSource):
        return source.value
    if isinstance(source, TemplateSource):
        return _render(key, source.template, row, line)
    return _lines(key, source, row)


def _lines(key: str, source: ArraySource, row: Mapping[str, Any]) -> list[dict[str, Any]] | None:
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
                sub_key: _evaluate(f"{key}[{index}].{sub_key}", sub_source, row, item)
                for sub_key, sub_source in source.mapping.items()
            }
        )
    return lines


def _as_list(key: str, column: str, raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
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
        rendered = _compiled(text).render(context)
    except (TemplateError, SecurityError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise RowRejected(key, f"template failed: {exc}") from None
    return rendered


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
