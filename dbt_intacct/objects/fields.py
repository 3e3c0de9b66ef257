"""The vocabulary of the object catalogue: field types, field specs, line arrays, record references."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class FieldType(enum.Enum):
    """How a value is checked and written (API.md section 8)."""

    TEXT = "text"
    DECIMAL = "decimal"  # money: rounded half-up to cents
    QUANTITY = "quantity"  # a decimal written as given (quantities, unit prices, rates)
    INTEGER = "integer"
    BOOLEAN = "boolean"  # true / false
    DATE = "date"  # MM/DD/YYYY in generic objects, <year><month><day> in legacy functions
    DATETIME = "datetime"  # MM/DD/YYYY HH:MM:SS
    STATUS = "status"  # active / inactive
    ENUM = "enum"  # one of FieldSpec.choices
    MULTISELECT = "multiselect"  # a list, joined with '#~#'


# An empty element clears a value; a checkbox, a status or a pick list has no "empty" to go back to,
# so by default those are never cleared (the `clear` delete behaviour leaves them as they are).
_NEVER_EMPTY = frozenset({FieldType.BOOLEAN, FieldType.STATUS, FieldType.ENUM})


@dataclass(frozen=True)
class FieldSpec:
    """One field of an Intacct function body, named by its mapping key (dots for nesting)."""

    path: str
    type: FieldType
    required_on_create: bool = False
    max_length: int | None = None
    identifying: bool = False  # part of the record's identity: never cleared
    clearable: bool = True
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def name(self) -> str:
        """The last segment of the path: the element name in most layouts."""
        return self.path.rpartition(".")[2]


def spec(
    path: str,
    type: FieldType,
    *,
    required: bool = False,
    max_length: int | None = None,
    identifying: bool = False,
    clearable: bool | None = None,
    choices: tuple[str, ...] = (),
    doc: str = "",
) -> FieldSpec:
    """A FieldSpec whose `clearable` defaults to what is safe for its type and requiredness."""
    if clearable is None:
        clearable = not required and not identifying and type not in _NEVER_EMPTY
    return FieldSpec(
        path=path,
        type=type,
        required_on_create=required,
        max_length=max_length,
        identifying=identifying,
        clearable=clearable,
        choices=choices,
        doc=doc,
    )


_NO_LINES: Mapping[str, LineArraySpec] = MappingProxyType({})


@dataclass(frozen=True)
class LineArraySpec:
    """A repeated element fed by a list of dicts (journal lines, invoice items, payment details)."""

    key: str  # the mapping key, e.g. "ENTRIES" or "invoiceitems"
    fields: Mapping[str, FieldSpec]  # every key a line dict may carry
    min_lines: int = 1
    max_lines: int | None = None
    lines: Mapping[str, LineArraySpec] = field(default_factory=lambda: _NO_LINES)  # arrays in a line
    custom_fields: bool = False  # a line may carry `customfields` ({ID: value})


@dataclass(frozen=True)
class RecordRef:
    """How Intacct knows a record: its RECORDNO and/or its natural ID (CUSTOMERID, CONTACTNAME, DOCID ...)."""

    recordno: str | None = None
    id: str | None = None
    # The invoice's externalid, for `update_invoice key=... externalkey="true"` when no RECORDNO is known.
    external_id: str | None = None


@dataclass(frozen=True)
class NaturalKey:
    """A field that finds an object's record again, and where a create carries its value.

    `field` is named as the object's query knows it (CUSTOMERID, RECORDID, DOCID ...); its value is the
    create's mapping keys `parts`, joined by `joiner` (a DOCID is `<transactiontype>-<documentno>`).
    """

    field: str
    parts: tuple[str, ...]
    joiner: str = "-"

    def value_in(self, values: Mapping[str, object]) -> str | None:
        """The key's value among a create's values (mapping key -> value), or None when one is missing."""
        found = [values.get(part) for part in self.parts]
        if any(value is None or value == "" for value in found):
            return None
        return self.joiner.join(str(value) for value in found)
