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

from dbt_intacct.dbt.manifest import ManifestModel
from dbt_intacct.errors import ConfigError
from dbt_intacct.objects import OBJECTS, IntacctObject, get_object
from dbt_intacct.sync.entities import EntitySource, parse_entity
from dbt_intacct.sync.guard import GuardLimits, parse_limits
from dbt_intacct.sync.sources import (
    ArraySource,
    ColumnSource,
    ReferenceSource,
    Source,
    TemplateSource,
    did_you_mean,
    encode_source,
    parse_source,
    source_columns,
)

# Bump when the payload a row produces changes for the same spec, so that every row is sent again.
PAYLOAD_VERSION = "1"

MODES = ("insert", "update", "upsert")
DELETE_BEHAVIOURS = ("nothing", "clear", "delete", "reverse")
ON_CHANGE = ("ignore", "reverse")
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
    "entity",
    "nulls",
    "max_removals",
    "max_updates",
    "on_change",
    "reverse_date",
)
NULL_POLICIES = ("keep", "clear")


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
    entity: EntitySource | None = None  # the row's entity (`entities`); None: the connection's
    # Mapping keys (custom fields as `custom_fields.ID`) whose NULL an update sends empty (`nulls: clear`);
    # the others leave the field unchanged in Intacct.
    clear_nulls: frozenset[str] = frozenset()
    limits: GuardLimits = field(default_factory=GuardLimits)  # the guard's (`guard`); the model's own
    # What a change to a posted row of an insert-only model does: ignore (nothing is sent), or reverse
    # (the posted entry is reversed and the row posted again). Not part of the fingerprint.
    on_change: str = "ignore"
    reverse_date: str | None = None  # the column dating a changed row's reversal (None: the run date)

    @property
    def reverses(self) -> bool:
        """Whether posted records are reversed (`delete: reverse` or `on_change: reverse`)."""
        return self.delete == "reverse" or self.on_change == "reverse"

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
        if isinstance(self.entity, ColumnSource):
            columns.add(self.entity.column)
        for source in (*self.mapping.values(), *self.custom_fields.values()):
            used = source_columns(source)
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
            hint = did_you_mean(column, relation_columns)
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
    entity = spec.entity
    if isinstance(entity, ColumnSource):
        entity = ColumnSource(real(entity.column, "entity"))
    reverse_date = real(spec.reverse_date, "reverse_date") if spec.reverse_date else None
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
        entity=entity,
        clear_nulls=spec.clear_nulls,
        limits=spec.limits,
        on_change=spec.on_change,
        reverse_date=reverse_date,
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
            problem(key, f"unknown key{did_you_mean(key, KNOWN_KEYS)}")

    object_name = meta.get("object")
    if not isinstance(object_name, str) or not object_name:
        problem("object", f"required; one of {', '.join(sorted(OBJECTS))}")
        return None
    try:
        obj = get_object(object_name)
    except KeyError:
        problem("object", f"unknown object '{object_name}'{did_you_mean(object_name, sorted(OBJECTS))}")
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
        only = " ('reverse' is for journal entries only)" if delete == "reverse" else ""
        problem(
            "delete", f"{obj.name} does not allow delete behaviour '{delete}'{only}; it allows: {allowed}"
        )

    on_change = meta.get("on_change", "ignore")
    if on_change not in ON_CHANGE:
        problem("on_change", f"must be one of {', '.join(ON_CHANGE)}, got {on_change!r}")
        on_change = "ignore"
    elif on_change == "reverse" and not obj.reversible:
        problem("on_change", f"'reverse' is for journal entries only; {obj.name} records cannot be reversed")
    elif on_change == "reverse" and mode != "insert":
        problem("on_change", f"'reverse' is for insert-only models (mode insert), not mode '{mode}'")
    reverse_date = meta.get("reverse_date")
    if reverse_date is not None and (not isinstance(reverse_date, str) or not reverse_date):
        problem("reverse_date", "must name a date column of the model (leave it out for the run date)")
        reverse_date = None
    elif reverse_date is not None and on_change != "reverse" and delete != "reverse":
        problem("reverse_date", "dates reversals: set delete: reverse or on_change: reverse with it")

    connection = meta.get("connection", "default")
    if not isinstance(connection, str) or not connection:
        problem("connection", "must be the name of a connection in intacct.yml")
        connection = "default"

    batch_size = meta.get("batch_size")
    if batch_size is not None and (not isinstance(batch_size, int) or not 1 <= batch_size <= 500):
        problem("batch_size", f"must be a whole number from 1 to 500, got {batch_size!r}")
        batch_size = None

    default_nulls = meta.get("nulls", "keep")
    if default_nulls not in NULL_POLICIES:
        problem("nulls", f"must be keep or clear, got {default_nulls!r}")
        default_nulls = "keep"
    clear_nulls: set[str] = set()

    def without_nulls(key: str, raw: Any) -> Any:
        """A mapping entry without its own `nulls:`; the key goes in clear_nulls when NULL clears it."""
        policy = default_nulls
        if isinstance(raw, Mapping) and "nulls" in raw:
            policy = raw["nulls"]
            raw = {k: v for k, v in raw.items() if k != "nulls"}
            if policy not in NULL_POLICIES:
                problem(f"{key}.nulls", f"must be keep or clear, got {policy!r}")
            elif "array" in raw or "value" in raw:
                problem(f"{key}.nulls", "applies to a column, a template or a record_of, not here")
        if policy == "clear":
            clear_nulls.add(key)
        return raw

    raw_mapping = meta.get("mapping")
    mapping: dict[str, Source] = {}
    if not isinstance(raw_mapping, Mapping) or not raw_mapping:
        problem("mapping", "required: a mapping of Intacct field -> column, {value: ...} or {template: ...}")
    else:
        for key, raw in raw_mapping.items():
            raw = without_nulls(f"mapping.{key}", raw)
            source = parse_source(str(key), raw, obj, problem, in_lines=None, known=known)
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
            raw = without_nulls(f"custom_fields.{key}", raw)
            source = parse_source(
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
    entity = parse_entity(meta.get("entity"), problem)
    limits = parse_limits(meta, problem)

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
        entity=entity,
        clear_nulls=frozenset(clear_nulls),
        limits=limits,
        on_change=str(on_change),
        reverse_date=reverse_date,
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
            f"'{field_name}' is not a field of {obj.intacct_object}{did_you_mean(field_name, matchable)}",
        )
        return None
    return RecordMatch(column=str(raw["column"]), field=field_name)


def _with_fingerprint(spec: SyncSpec) -> SyncSpec:
    document = {
        "v": PAYLOAD_VERSION,
        "object": spec.object.name,
        "mode": spec.mode,
        "mapping": {k: encode_source(v) for k, v in spec.mapping.items()},
        "custom_fields": {k: encode_source(v) for k, v in spec.custom_fields.items()},
    }
    if spec.entity is not None:  # left out otherwise, so that models without one keep their fingerprint
        document["entity"] = encode_source(spec.entity)
    if spec.clear_nulls:  # likewise: changing what a NULL does sends the rows again
        document["clear_nulls"] = sorted(spec.clear_nulls)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return SyncSpec(**{**spec.__dict__, "fingerprint": digest})
