"""Where a mapped value comes from: a column, a constant, a template, a line array or another model's record.

`parse_source` turns one mapping entry of a meta.intacct block into a `Source`, reporting every mistake
through the caller's `problem(where, what)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from dbt_intacct.objects import IntacctObject, closest
from dbt_intacct.sync.templates import TEMPLATE_ENV


@dataclass(frozen=True)
class ColumnSource:
    column: str


@dataclass(frozen=True)
class ConstantSource:
    value: Any


@dataclass(frozen=True)
class TemplateSource:
    template: str
    # Columns the template reads through `row.x` / `row['x']`; None when it uses `row` some other way.
    columns: frozenset[str] | None


@dataclass(frozen=True)
class ArraySource:
    column: str
    mapping: Mapping[str, Source]


@dataclass(frozen=True)
class ReferenceSource:
    """The Intacct RECORDNO (or ID) that another synced model's row got, found by that row's key.

    `{record_of: intacct_invoices, key: invoice_number}` gives the RECORDNO of the invoice that
    model `intacct_invoices` created for the row whose primary key is this row's `invoice_number`.
    """

    model_id: str
    model_name: str
    column: str
    field: str  # "recordno" | "id"


Source = ColumnSource | ConstantSource | TemplateSource | ArraySource | ReferenceSource


def parse_source(
    key: str,
    raw: Any,
    obj: IntacctObject,
    problem: Any,
    *,
    in_lines: str | None,
    known: Mapping[str, str],
    plain: bool = False,
) -> Source | None:
    where = f"mapping.{key}" if not key.startswith("custom_fields.") else key
    if isinstance(raw, Mapping) and "record_of" in raw:
        return parse_reference(where, raw, known, problem)
    if isinstance(raw, str):
        if not raw:
            problem(where, "an empty column name; use {value: ''} for an empty constant")
            return None
        return ColumnSource(raw)
    if isinstance(raw, Mapping):
        kinds = [k for k in ("value", "template", "array", "column") if k in raw]
        if (
            len(kinds) != 1
            or (kinds[0] == "array" and set(raw) - {"array", "mapping"})
            or (kinds[0] != "array" and len(raw) != 1)
        ):
            problem(
                where,
                "a mapping value is a column name, {value: ...}, {template: '... [[ row.column ]] ...'}, "
                "{record_of: <model>, key: <column>}"
                + ("" if plain or in_lines else ", or {array: column, mapping: {...}} for lines"),
            )
            return None
        kind = kinds[0]
        if kind == "column":
            return ColumnSource(str(raw["column"]))
        if kind == "value":
            return ConstantSource(raw["value"])
        if kind == "template":
            return parse_template(where, raw["template"], problem, line=in_lines is not None)
        if plain or in_lines is not None:
            problem(where, "line arrays cannot be nested or used for custom fields")
            return None
        lines_spec = obj.lines.get(key)
        if lines_spec is None:
            arrays = ", ".join(obj.lines) or "none"
            problem(where, f"{obj.name} has no line array '{key}' (line arrays: {arrays})")
            return None
        sub_raw = raw.get("mapping")
        if not isinstance(raw["array"], str) or not isinstance(sub_raw, Mapping) or not sub_raw:
            problem(where, "an array mapping needs `array: <column>` and a non-empty `mapping:`")
            return None
        sub: dict[str, Source] = {}
        for sub_key, sub_value in sub_raw.items():
            # Line field names are checked with the rest of the mapping (`check_mapping` knows lines,
            # their custom fields and nested groups such as taxentries).
            parsed = parse_source(f"{key}.{sub_key}", sub_value, obj, problem, in_lines=key, known=known)
            if parsed is not None:
                sub[str(sub_key)] = parsed
        return ArraySource(raw["array"], sub)
    if isinstance(raw, bool | int | float) or raw is None:
        problem(where, f"{raw!r} is not a column name; write {{value: {raw!r}}} for a constant")
        return None
    problem(where, f"cannot use {type(raw).__name__} here")
    return None


def parse_reference(
    where: str, raw: Mapping[str, Any], known: Mapping[str, str], problem: Any
) -> ReferenceSource | None:
    extra = set(raw) - {"record_of", "key", "field"}
    if extra or not isinstance(raw.get("key"), str) or not raw.get("key"):
        problem(where, "write {record_of: <model>, key: <column holding that model's primary key>}")
        return None
    name = str(raw["record_of"])
    if name not in known:
        problem(where, f"record_of: no model '{name}' has an intacct block{did_you_mean(name, known)}")
        return None
    field_name = str(raw.get("field", "recordno")).lower()
    if field_name not in {"recordno", "id"}:
        problem(where, f"record_of field must be recordno or id, got {raw.get('field')!r}")
        return None
    return ReferenceSource(model_id=known[name], model_name=name, column=str(raw["key"]), field=field_name)


def parse_template(where: str, text: Any, problem: Any, *, line: bool) -> TemplateSource | None:
    if not isinstance(text, str):
        problem(where, "a template must be a string")
        return None
    try:
        tree = TEMPLATE_ENV.parse(text)
    except TemplateSyntaxError as exc:
        problem(where, f"template syntax error: {exc.message}")
        return None
    allowed_names = {"row", "line"} if line else {"row"}
    columns: set[str] = set()
    whole_row = False
    for name_node in tree.find_all(nodes.Name):
        if name_node.ctx == "load" and name_node.name not in allowed_names:
            assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"}
            if name_node.name not in assigned:
                problem(
                    where,
                    f"template uses '{name_node.name}'; templates see only "
                    + " and ".join(sorted(allowed_names)),
                )
                return None
    row_uses = 0
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if isinstance(target, nodes.Name) and target.name == "row":
            row_uses += 1
            if isinstance(node, nodes.Getattr):
                columns.add(node.attr)
            elif (
                isinstance(node, nodes.Getitem)
                and isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str)
            ):
                columns.add(node.arg.value)
            else:
                whole_row = True
    total_row_names = sum(1 for n in tree.find_all(nodes.Name) if n.name == "row")
    if total_row_names > row_uses:
        whole_row = True
    return TemplateSource(text, None if whole_row else frozenset(columns))


def source_columns(source: Source) -> set[str] | None:
    if isinstance(source, ColumnSource):
        return {source.column}
    if isinstance(source, TemplateSource):
        return None if source.columns is None else set(source.columns)
    if isinstance(source, ArraySource):
        return {source.column}
    if isinstance(source, ReferenceSource):
        return {source.column}
    return set()


def encode_source(source: Source) -> Any:
    """The source as plain data, for fingerprints."""
    if isinstance(source, ColumnSource):
        return {"column": source.column}
    if isinstance(source, ConstantSource):
        return {"value": source.value}
    if isinstance(source, TemplateSource):
        return {"template": source.template}
    if isinstance(source, ReferenceSource):
        return {"record_of": source.model_id, "key": source.column, "field": source.field}
    return {"array": source.column, "mapping": {k: encode_source(v) for k, v in source.mapping.items()}}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    found = closest(name, choices)
    return f"; did you mean {' or '.join(repr(f) for f in found)}?" if found else ""
