"""The company's reference data: chart of accounts, journals, dimensions, items, terms, banks,
transaction definitions and custom fields. Built-in JSON ships in the package; ``--reference-data``
or the admin API replaces it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

# Each table: the JSON key, the field that identifies a row, and the read-only object it is served as.
TABLES: dict[str, tuple[str, str]] = {
    "gl_accounts": ("ACCOUNTNO", "GLACCOUNT"),
    "account_labels": ("ACCOUNTLABEL", "ARACCOUNTLABEL"),
    "journals": ("SYMBOL", "GLJOURNAL"),
    "locations": ("LOCATIONID", "LOCATION"),
    # Entities of a multi-entity company (a login's <locationid> names one); shared records live
    # at the top level, which is no entity.
    "entities": ("LOCATIONID", "LOCATIONENTITY"),
    "departments": ("DEPARTMENTID", "DEPARTMENT"),
    "items": ("ITEMID", "ITEM"),
    "payment_terms": ("NAME", "ARTERM"),
    "bank_accounts": ("BANKACCOUNTID", "CHECKINGACCOUNT"),
    "transaction_definitions": ("DOCID", "SODOCUMENTPARAMS"),
}

CUSTOM_FIELD_SCOPES = (
    "CUSTOMER",
    "CONTACT",
    "ARPYMT",
    "GLBATCH",
    "GLENTRY",
    "ARINVOICE",
    "ARINVOICEITEM",
    "ARADJUSTMENTITEM",
    "SODOCUMENT",
    "SODOCUMENTENTRY",
)


class ReferenceDataError(ValueError):
    """The reference data file is not in the expected shape."""


@dataclass(frozen=True)
class ReferenceData:
    """Validated reference data: each table's rows by their identifying value."""

    source: Mapping[str, Any]
    tables: Mapping[str, Mapping[str, Mapping[str, Any]]]
    custom_fields: Mapping[str, tuple[str, ...]]

    def has(self, table: str, key: str) -> bool:
        """Whether a row with this identifying value exists."""
        return key in self.tables[table]

    def row(self, table: str, key: str) -> Mapping[str, Any] | None:
        """The row with this identifying value, or None."""
        return self.tables[table].get(key)

    def entity_name(self, entity_id: str) -> str:
        """The NAME of a declared entity ('' when it has none)."""
        row = self.tables["entities"].get(entity_id) or {}
        return str(row.get("NAME", ""))

    def custom(self, scope: str) -> tuple[str, ...]:
        """Declared custom field IDs (upper case) of an object or line scope."""
        return self.custom_fields.get(scope, ())

    def to_json(self) -> dict[str, Any]:
        """The data as it was given, for the admin API."""
        return dict(self.source)


def parse_reference_data(data: Any) -> ReferenceData:
    """Check the shape of reference data and index its tables."""
    if not isinstance(data, dict):
        raise ReferenceDataError("reference data must be a JSON object")
    tables: dict[str, dict[str, Mapping[str, Any]]] = {}
    for table, (key_field, _object) in TABLES.items():
        rows = data.get(table, [])
        if not isinstance(rows, list):
            raise ReferenceDataError(f"'{table}' must be a list of objects")
        indexed: dict[str, Mapping[str, Any]] = {}
        for position, row in enumerate(rows):
            if not isinstance(row, dict) or not isinstance(row.get(key_field), str) or not row[key_field]:
                raise ReferenceDataError(f"'{table}'[{position}] needs a non-empty string '{key_field}'")
            indexed[row[key_field]] = row
        tables[table] = indexed
    custom = data.get("custom_fields", {})
    if not isinstance(custom, dict):
        raise ReferenceDataError("'custom_fields' must map an object name to a list of field IDs")
    custom_fields: dict[str, tuple[str, ...]] = {}
    for scope, names in custom.items():
        if scope not in CUSTOM_FIELD_SCOPES:
            raise ReferenceDataError(
                f"custom_fields: unknown scope '{scope}'; expected one of {', '.join(CUSTOM_FIELD_SCOPES)}"
            )
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            raise ReferenceDataError(f"custom_fields['{scope}'] must be a list of field IDs")
        custom_fields[scope] = tuple(name.upper() for name in names)
    return ReferenceData(source=data, tables=tables, custom_fields=custom_fields)


def builtin_reference_data() -> ReferenceData:
    """The reference data shipped with the package (documented in docs/emulator.md)."""
    text = resources.files("dbt_intacct.emulator").joinpath("reference_data.json").read_text("utf-8")
    return parse_reference_data(json.loads(text))


def load_reference_data(path: Path) -> ReferenceData:
    """Reference data from a JSON file that replaces the built-in data."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReferenceDataError(f"cannot read reference data {path}: {exc}") from exc
    return parse_reference_data(data)
