"""The company check: before a run writes an object, its definition as the company has it (Intacct's
`lookup`: standard and custom fields, types, read-only) is read, once per object per run and cached in
the state schema for a day, and every mapped field and custom field is checked against it.

Checked: a custom field the company does not have; a field the company has as read-only; a constant
(`{value: ...}`) that does not fit the field's type or valid values. Standard fields of the legacy
functions (lower-case element names) have no counterpart in the definition and are not checked; their
custom fields are. A definition spends no API transaction (the emulator bills none for it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from dbt_intacct.client import IntacctClient
from dbt_intacct.errors import ConfigError, IntacctError, LoginRefused, TerminalIntacctError
from dbt_intacct.objects.layout import Style
from dbt_intacct.state import StateTables
from dbt_intacct.state.tables import now
from dbt_intacct.sync.model import PreparedModel
from dbt_intacct.sync.sources import ConstantSource, Source
from dbt_intacct.xml.request import Function

CACHE_FOR = timedelta(days=1)


@dataclass(frozen=True)
class FieldDefinition:
    id: str
    datatype: str
    readonly: bool
    custom: bool
    valid_values: tuple[str, ...] = ()


Definition = dict[str, FieldDefinition]


def parse_definition(data: etree._Element | None) -> Definition:
    """The fields of a `lookup` answer's `<Type>`, by ID."""
    fields: Definition = {}
    if data is None:
        return fields
    for field in data.iterfind(".//Type/Fields/Field"):
        field_id = (field.findtext("ID") or "").strip()
        if not field_id:
            continue
        fields[field_id] = FieldDefinition(
            id=field_id,
            datatype=(field.findtext("DATATYPE") or "TEXT").strip().upper(),
            readonly=(field.findtext("READONLY") or "").strip().lower() == "true",
            custom=(field.findtext("ISCUSTOM") or "").strip().lower() == "true",
            valid_values=tuple((v.text or "") for v in field.iterfind("VALIDVALUES/VALIDVALUE")),
        )
    return fields


def _encode(definition: Definition) -> str:
    fields = {k: [f.datatype, f.readonly, f.custom, list(f.valid_values)] for k, f in definition.items()}
    return json.dumps(fields)


def _decode(text: str) -> Definition:
    return {
        k: FieldDefinition(k, str(v[0]), bool(v[1]), bool(v[2]), tuple(v[3]))
        for k, v in json.loads(text).items()
    }


class CompanyDefinitions:
    """Object definitions by (company, object): from this run, else the state's cache (a day), else
    Intacct's `lookup` (then cached)."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables
        self._seen: dict[tuple[str, str], Definition] = {}
        self.looked_up = 0  # lookups sent to Intacct by this run

    def get(self, company: str, object_name: str, client: Callable[[], IntacctClient]) -> Definition:
        key = (company, object_name)
        if key not in self._seen:
            cached = self._cached(company, object_name)
            self._seen[key] = cached if cached is not None else self._look_up(company, object_name, client())
        return self._seen[key]

    def _cached(self, company: str, object_name: str) -> Definition | None:
        w = self.tables.warehouse
        rows = w.fetch_small(
            f"select definition from {self.tables.definitions} where company_id = {w.literal(company)} "
            f"and object = {w.literal(object_name)} and fetched_at >= {w.literal(now() - CACHE_FOR)} "
            "order by fetched_at desc",
            limit=1,
        )
        return _decode(str(rows[0][0])) if rows else None

    def _look_up(self, company: str, object_name: str, client: IntacctClient) -> Definition:
        body = etree.Element("lookup")
        etree.SubElement(body, "object").text = object_name
        function = Function(controlid=f"lookup-{object_name}", body=body)
        result = client.execute([function], uniqueid=False)[function.controlid]
        self.looked_up += 1
        if not result.ok:
            raise TerminalIntacctError(
                f"Intacct could not describe object {object_name}: {result.message or 'lookup failed'}",
                result.errornos[0] if result.errornos else None,
            )
        definition = parse_definition(result.data)
        w = self.tables.warehouse
        w.insert_rows(
            self.tables.definitions,
            ["company_id", "object", "definition", "fetched_at"],
            [(company, object_name, _encode(definition), now())],
        )
        w.commit()
        return definition


def check_model(model: PreparedModel, definition: Definition) -> list[str]:
    """Every mapped field and custom field of one model the company's definition refuses."""
    spec = model.spec
    problems: list[str] = []
    where = f"model '{spec.name}'"
    company = spec.object.intacct_object

    def problem(key: str, text: str) -> None:
        problems.append(f"{where}, key '{key}': {text}")

    for field_id, source in spec.custom_fields.items():
        found = definition.get(field_id)
        if found is None:
            customs = sorted(f.id for f in definition.values() if f.custom)
            have = ", ".join(customs) if customs else "none"
            problem(
                f"custom_fields.{field_id}",
                f"the company has no custom field {field_id} on {company} (its custom fields: {have})",
            )
            continue
        for text in _field_problems(found, source):
            problem(f"custom_fields.{field_id}", text)
    if spec.object.create.style is Style.GENERIC:  # mapping keys are the definition's field IDs
        for key, source in spec.mapping.items():
            found = definition.get(key)
            if found is not None:
                for text in _field_problems(found, source):
                    problem(f"mapping.{key}", text)
    return problems


def _field_problems(field: FieldDefinition, source: Source) -> Iterable[str]:
    if field.readonly:
        yield f"{field.id} is read-only in the company; Intacct would refuse every row that sets it"
    if isinstance(source, ConstantSource) and source.value is not None:
        text = source.value
        if field.valid_values and str(text).lower() not in {v.lower() for v in field.valid_values}:
            yield f"{text!r} is not a valid value of {field.id} (valid: {', '.join(field.valid_values)})"
        elif not _fits(field.datatype, text):
            yield f"{text!r} does not fit {field.id}, a {field.datatype} field in the company"


def _fits(datatype: str, value: Any) -> bool:
    if datatype in {"DECIMAL", "CURRENCY", "PERCENT", "INTEGER", "NUMBER"}:
        if isinstance(value, bool):
            return False
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return False
        return datatype != "INTEGER" or number == number.to_integral_value()
    if datatype == "BOOLEAN":
        return isinstance(value, bool) or str(value).lower() in {"true", "false"}
    return True


def check_company(
    models: Iterable[PreparedModel],
    definitions: CompanyDefinitions,
    company_of: Callable[[PreparedModel], str],
    client_of: Callable[[PreparedModel], Callable[[], IntacctClient]],
) -> list[str]:
    """Every problem the company's definitions find in the models' mappings (each object read once)."""
    problems: list[str] = []
    for model in models:
        definition = definitions.get(company_of(model), model.spec.object.intacct_object, client_of(model))
        problems.extend(check_model(model, definition))
    return problems


def describe_failure(exc: IntacctError, connection: str) -> str:
    return f"the company check could not read the company's definitions (connection '{connection}'): {exc}"


def run_company_check(
    *,
    tables: StateTables,
    models: Iterable[PreparedModel],
    company_of: Callable[[PreparedModel], str],
    client_of: Callable[[PreparedModel], Callable[[], IntacctClient]],
    plan: bool,
    notice: Callable[[str], None],
) -> None:
    """Check the models against the company; raise SpecProblems (exit 2, nothing sent) naming each model
    and field it refuses. A refused login is a configuration error; Intacct unreachable stops a sync
    (nothing sent) and only skips the check in a plan."""
    definitions = CompanyDefinitions(tables)
    models = list(models)
    try:
        problems = check_company(models, definitions, company_of, client_of)
    except IntacctError as exc:
        connection = models[0].spec.connection if models else "default"
        if isinstance(exc, LoginRefused):
            raise ConfigError(f"connection '{connection}': {exc}") from None
        if plan:
            notice(f"WARNING: {describe_failure(exc, connection)}; the company check was skipped")
            return
        raise type(exc)(
            describe_failure(exc, connection) + "; nothing was sent to Intacct", exc.errorno
        ) from None
    if problems:
        raise CompanyProblems(problems)


class CompanyProblems(ConfigError):
    """What the company's definitions refuse in the models' mappings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} found by the company check (each object's "
            "definition, read from Intacct):\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\n(--no-company-check skips the check)"
        )
