"""A model's `meta.intacct` block, validated into a `SyncSpec`.

Every mistake is reported with the model's name, the key at fault and what would be right, and all of them
are collected before anything is sent (`SpecProblems`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from dbt_intacct.dbt.manifest import ManifestModel
from dbt_intacct.errors import ConfigError
from dbt_intacct.objects import OBJECTS, IntacctObject, closest, get_object
from dbt_intacct.sync.templates import TEMPLATE_ENV

# Bump when the payload a row produces changes for the same spec, so that every row is sent again.
PAYLOAD_VERSION = "1"

MODES = ("insert", "update", "upsert")
DELETE_BEHAVIOURS = ("nothing", "clear", "delete")
KNOWN_KEYS = (
    "object",
    "mode",
    "primary_key",
    "match",
    "mapping",
    "custom_fields",
    "delete",
    "connection",
    "batch_size",
)


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


@dataclass(frozen=True)
class RecordMatch:
    """Record matching: a model column compared with an Intacct field of the object."""

    column: str
    field: str


@dataclass(frozen=True)
class SyncSpec:
    model: ManifestModel
    object: IntacctObject
    mode: str
    primary_key: tuple[str, ...]
    match: RecordMatch | None
    mapping: Mapping[str, Source]
    custom_fields: Mapping[str, Source]
    delete: str
    connection: str
    batch_size: int | None
    fingerprint: str = field(default="")

    @property
    def model_id(self) -> str:
        return self.model.unique_id

    @property
    def name(self) -> str:
        return self.model.name

    def referenced_columns(self) -> set[str] | None:
        """Model columns the payload depends on; None when a template reads the whole row."""
        columns: set[str] = set(self.primary_key)
        if self.match is not None:
            columns.add(self.match.column)
        for source in (*self.mapping.values(), *self.custom_fields.values()):
            used = _source_columns(source)
            if used is None:
                return None
            columns |= used
        return columns


class SpecProblems(ConfigError):
    """Every problem found in the selected models' meta blocks."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the models' meta.intacct blocks"
        super().__init__(header + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class ParsedSpecs:
    """Every selected model's spec and every problem in their blocks.

    A model with problems still has a spec when its object is known, so that its columns can be
    checked against its relation too: the user hears of every mistake in one run.
    """

    specs: list[SyncSpec]
    problems: list[str]
    invalid: frozenset[str]  # the unique_ids of the models whose blocks have problems


def read_specs(
    models: Iterable[ManifestModel], all_models: Iterable[ManifestModel] | None = None
) -> ParsedSpecs:
    """Validate every model's block, collecting every problem (none raised).

    `all_models` are every model with an intacct block (selected or not): `record_of` may name any.
    """
    models = list(models)
    known = {m.name: m.unique_id for m in (all_models if all_models is not None else models)}
    specs: list[SyncSpec] = []
    problems: list[str] = []
    invalid: set[str] = set()
    for model in models:
        found: list[str] = []
        spec = _parse(model, found, known)
        problems.extend(found)
        if found:
            invalid.add(model.unique_id)
        if spec is not None:
            specs.append(spec)
    return ParsedSpecs(specs=specs, problems=problems, invalid=frozenset(invalid))


def parse_specs(
    models: Iterable[ManifestModel], all_models: Iterable[ManifestModel] | None = None
) -> list[SyncSpec]:
    """Validate every model's block; raise SpecProblems listing all mistakes at once."""
    parsed = read_specs(models, all_models)
    if parsed.problems:
        raise SpecProblems(parsed.problems)
    return parsed.specs


def check_columns(spec: SyncSpec, relation_columns: Sequence[str]) -> tuple[SyncSpec, list[str]]:
    """Match the spec's columns with the built relation's real ones (case-insensitively).

    Returns the spec with column names spelled as the relation spells them, and the problems.
    """
    by_lower = {c.lower(): c for c in relation_columns}
    problems: list[str] = []

    def real(column: str, key: str) -> str:
        found = by_lower.get(column.lower())
        if found is None:
            hint = _did_you_mean(column, relation_columns)
            problems.append(
                f"model '{spec.name}', key '{key}': column '{column}' is not in the relation{hint}"
            )
            return column
        return found

    def fix(source: Source, key: str) -> Source:
        if isinstance(source, ColumnSource):
            return ColumnSource(real(source.column, key))
        if isinstance(source, ArraySource):
            return ArraySource(real(source.column, key), source.mapping)
        if isinstance(source, ReferenceSource):
            return replace(source, column=real(source.column, key))
        if isinstance(source, TemplateSource) and source.columns is not None:
            return TemplateSource(source.template, frozenset(real(c, key) for c in sorted(source.columns)))
        return source

    primary_key = tuple(real(c, "primary_key") for c in spec.primary_key)
    match = (
        RecordMatch(real(spec.match.column, "match.column"), spec.match.field)
        if spec.match is not None
        else None
    )
    mapping = {k: fix(s, f"mapping.{k}") for k, s in spec.mapping.items()}
    custom = {k: fix(s, f"custom_fields.{k}") for k, s in spec.custom_fields.items()}
    fixed = SyncSpec(
        model=spec.model,
        object=spec.object,
        mode=spec.mode,
        primary_key=primary_key,
        match=match,
        mapping=mapping,
        custom_fields=custom,
        delete=spec.delete,
        connection=spec.connection,
        batch_size=spec.batch_size,
        fingerprint=spec.fingerprint,
    )
    return fixed, problems


# -- parsing -------------------------------------------------------------------------------------------


def _parse(model: ManifestModel, problems: list[str], known: Mapping[str, str]) -> SyncSpec | None:
    meta = model.meta

    def problem(key: str, text: str) -> None:
        problems.append(f"model '{model.name}', key '{key}': {text}")

    if "__invalid__" in meta:
        problem("meta.intacct", "must be a mapping (object, mode, primary_key, mapping, ...)")
        return None
    if "__invalid_defaults__" in meta:
        problem("meta.intacct_defaults", "must be a mapping")
        return None
    for key in meta:
        if key not in KNOWN_KEYS:
            problem(key, f"unknown key{_did_you_mean(key, KNOWN_KEYS)}")

    object_name = meta.get("object")
    if not isinstance(object_name, str) or not object_name:
        problem("object", f"required; one of {', '.join(sorted(OBJECTS))}")
        return None
    try:
        obj = get_object(object_name)
    except KeyError:
        problem("object", f"unknown object '{object_name}'{_did_you_mean(object_name, sorted(OBJECTS))}")
        return None

    mode = meta.get("mode", _default_mode(obj))
    if mode not in obj.modes:
        allowed = ", ".join(m for m in MODES if m in obj.modes)
        problem("mode", f"{obj.name} does not allow mode '{mode}'; it allows: {allowed}")

    primary_key = _column_list(meta.get("primary_key"))
    if not primary_key:
        problem(
            "primary_key",
            "required: the model column(s) that identify a row from run to run (unique, not null)",
        )

    delete = meta.get("delete", "nothing")
    if delete not in obj.delete_behaviours:
        allowed = ", ".join(d for d in DELETE_BEHAVIOURS if d in obj.delete_behaviours)
        problem("delete", f"{obj.name} does not allow delete behaviour '{delete}'; it allows: {allowed}")

    connection = meta.get("connection", "default")
    if not isinstance(connection, str) or not connection:
        problem("connection", "must be the name of a connection in intacct.yml")
        connection = "default"

    batch_size = meta.get("batch_size")
    if batch_size is not None and (not isinstance(batch_size, int) or not 1 <= batch_size <= 500):
        problem("batch_size", f"must be a whole number from 1 to 500, got {batch_size!r}")
        batch_size = None

    raw_mapping = meta.get("mapping")
    mapping: dict[str, Source] = {}
    if not isinstance(raw_mapping, Mapping) or not raw_mapping:
        problem("mapping", "required: a mapping of Intacct field -> column, {value: ...} or {template: ...}")
    else:
        for key, raw in raw_mapping.items():
            source = _parse_source(str(key), raw, obj, problem, in_lines=None, known=known)
            if source is not None:
                mapping[str(key)] = source

    raw_custom = meta.get("custom_fields") or {}
    custom: dict[str, Source] = {}
    if raw_custom and obj.custom_fields is None:
        problem("custom_fields", f"{obj.name} does not take custom fields")
    elif not isinstance(raw_custom, Mapping):
        problem("custom_fields", "must be a mapping of custom field ID -> column")
    else:
        for key, raw in raw_custom.items():
            source = _parse_source(
                f"custom_fields.{key}", raw, obj, problem, in_lines=None, plain=True, known=known
            )
            if source is not None:
                custom[str(key)] = source

    if mapping and mode in obj.modes:
        keys = [*mapping.keys()]
        for key, source in mapping.items():
            if isinstance(source, ArraySource):
                keys.extend(f"{key}.{sub_key}" for sub_key in source.mapping)
        for text in obj.check_mapping(keys, custom.keys(), mode):
            problem("mapping", text)

    match = _parse_match(meta.get("match"), obj, mode, mapping, problem)

    spec = SyncSpec(
        model=model,
        object=obj,
        mode=str(mode),
        primary_key=tuple(primary_key),
        match=match,
        mapping=mapping,
        custom_fields=custom,
        delete=str(delete),
        connection=connection,
        batch_size=batch_size,
    )
    return _with_fingerprint(spec)


def _default_mode(obj: IntacctObject) -> str:
    return "upsert" if "upsert" in obj.modes else "insert"


def _column_list(value: Any) -> list[str]:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    return []


def _parse_source(
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
        return _parse_reference(where, raw, known, problem)
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
            return _parse_template(where, raw["template"], problem, line=in_lines is not None)
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
            parsed = _parse_source(f"{key}.{sub_key}", sub_value, obj, problem, in_lines=key, known=known)
            if parsed is not None:
                sub[str(sub_key)] = parsed
        return ArraySource(raw["array"], sub)
    if isinstance(raw, bool | int | float) or raw is None:
        problem(where, f"{raw!r} is not a column name; write {{value: {raw!r}}} for a constant")
        return None
    problem(where, f"cannot use {type(raw).__name__} here")
    return None


def _parse_reference(
    where: str, raw: Mapping[str, Any], known: Mapping[str, str], problem: Any
) -> ReferenceSource | None:
    extra = set(raw) - {"record_of", "key", "field"}
    if extra or not isinstance(raw.get("key"), str) or not raw.get("key"):
        problem(where, "write {record_of: <model>, key: <column holding that model's primary key>}")
        return None
    name = str(raw["record_of"])
    if name not in known:
        problem(where, f"record_of: no model '{name}' has an intacct block{_did_you_mean(name, known)}")
        return None
    field_name = str(raw.get("field", "recordno")).lower()
    if field_name not in {"recordno", "id"}:
        problem(where, f"record_of field must be recordno or id, got {raw.get('field')!r}")
        return None
    return ReferenceSource(model_id=known[name], model_name=name, column=str(raw["key"]), field=field_name)


def _parse_template(where: str, text: Any, problem: Any, *, line: bool) -> TemplateSource | None:
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


def _parse_match(
    raw: Any,
    obj: IntacctObject,
    mode: Any,
    mapping: Mapping[str, Source],
    problem: Any,
) -> RecordMatch | None:
    if raw is None:
        if mode not in {"update", "upsert"}:
            return None
        # Default: match on the object's ID field, fed by whichever column the mapping gives it.
        id_key = obj.id_mapping_key
        source = mapping.get(id_key) if id_key else None
        if obj.id_field and isinstance(source, ColumnSource):
            return RecordMatch(column=source.column, field=obj.id_field)
        problem(
            "match",
            f"mode '{mode}' needs record matching: add match: {{column: <model column>, field: "
            f"<{obj.intacct_object} field>}}",
        )
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"column", "field"}:
        problem("match", "must be {column: <model column>, field: <Intacct field>}")
        return None
    field_name = str(raw["field"])
    matchable = obj.matchable_fields()
    if field_name not in matchable:
        problem(
            "match.field",
            f"'{field_name}' is not a field of {obj.intacct_object}{_did_you_mean(field_name, matchable)}",
        )
        return None
    return RecordMatch(column=str(raw["column"]), field=field_name)


def _source_columns(source: Source) -> set[str] | None:
    if isinstance(source, ColumnSource):
        return {source.column}
    if isinstance(source, TemplateSource):
        return None if source.columns is None else set(source.columns)
    if isinstance(source, ArraySource):
        return {source.column}
    if isinstance(source, ReferenceSource):
        return {source.column}
    return set()


def _with_fingerprint(spec: SyncSpec) -> SyncSpec:
    def encode(source: Source) -> Any:
        if isinstance(source, ColumnSource):
            return {"column": source.column}
        if isinstance(source, ConstantSource):
            return {"value": source.value}
        if isinstance(source, TemplateSource):
            return {"template": source.template}
        if isinstance(source, ReferenceSource):
            return {"record_of": source.model_id, "key": source.column, "field": source.field}
        return {"array": source.column, "mapping": {k: encode(v) for k, v in source.mapping.items()}}

    document = {
        "v": PAYLOAD_VERSION,
        "object": spec.object.name,
        "mode": spec.mode,
        "mapping": {k: encode(v) for k, v in spec.mapping.items()},
        "custom_fields": {k: encode(v) for k, v in spec.custom_fields.items()},
    }
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return SyncSpec(**{**spec.__dict__, "fingerprint": digest})


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    found = closest(name, choices)
    return f"; did you mean {' or '.join(repr(f) for f in found)}?" if found else ""
