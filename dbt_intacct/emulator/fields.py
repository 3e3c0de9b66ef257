"""Field trees of Intacct objects, and the values they hold.

A stored record is a nested dict: a leaf field maps to its text, a container (``DISPLAYCONTACT``)
to a dict, and a collection (``ENTRIES``) to ``{"GLENTRY": [line, line, ...]}``, which is exactly
the element structure Intacct reads back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any

Record = dict[str, Any]

# The dimensions a transaction line can carry, in Intacct's order: location and department, which every
# company has, then the others. Legacy lines list location and department apart, before the others;
# GL entries name them LOCATION and DEPARTMENT.
LOCATION_DEPARTMENT = ("LOCATIONID", "DEPARTMENTID")
OTHER_DIMENSIONS = (
    "PROJECTID",
    "TASKID",
    "COSTTYPEID",
    "CUSTOMERID",
    "VENDORID",
    "EMPLOYEEID",
    "ITEMID",
    "CLASSID",
    "CONTRACTID",
    "WAREHOUSEID",
)
DIMENSIONS = LOCATION_DEPARTMENT + OTHER_DIMENSIONS
# An Order Entry line has its item and warehouse among its own fields, before its dimensions.
SO_LINE_DIMENSIONS = tuple(name for name in OTHER_DIMENSIONS if name not in ("ITEMID", "WAREHOUSEID"))


class Kind(Enum):
    """How a field's text is read, checked and compared."""

    TEXT = "text"
    DATE = "date"  # MM/DD/YYYY
    TIMESTAMP = "timestamp"  # MM/DD/YYYY HH:MM:SS
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CONTAINER = "container"
    COLLECTION = "collection"


@dataclass(frozen=True)
class Field:
    """One element of an object: a leaf with a kind, a container of fields, or a collection of items."""

    name: str
    kind: Kind = Kind.TEXT
    children: tuple[Field, ...] = ()
    item: str = ""  # the repeated element of a collection, e.g. GLENTRY
    choices: tuple[str, ...] = ()
    readonly: bool = False

    @cached_property
    def by_name(self) -> dict[str, Field]:
        """Children by element name."""
        return {child.name: child for child in self.children}

    @property
    def is_leaf(self) -> bool:
        """A field that holds text rather than elements."""
        return self.kind not in (Kind.CONTAINER, Kind.COLLECTION)


def text(*names: str) -> tuple[Field, ...]:
    """Plain text fields."""
    return tuple(Field(name) for name in names)


def of_kind(kind: Kind, *names: str) -> tuple[Field, ...]:
    """Leaf fields of one kind."""
    return tuple(Field(name, kind) for name in names)


def container(name: str, *children: Field) -> Field:
    """A nested group of fields (``DISPLAYCONTACT``, ``MAILADDRESS``)."""
    return Field(name, Kind.CONTAINER, children)


def collection(name: str, item: str, *children: Field) -> Field:
    """A list of line items (``ENTRIES`` of ``GLENTRY``)."""
    return Field(name, Kind.COLLECTION, children, item=item)


def readonly(*fields_: Field) -> tuple[Field, ...]:
    """The same fields, marked as written by Intacct only."""
    return tuple(Field(f.name, f.kind, f.children, f.item, f.choices, readonly=True) for f in fields_)


def with_readonly_paths(fields_: Iterable[Field], paths: Iterable[str]) -> tuple[Field, ...]:
    """Fields plus read-only ones at dotted paths (``CONTACT.MAILADDRESS.CITY``), making the containers
    they need; paths already there are left as they are."""
    out = list(fields_)
    for path in paths:
        out = _add_path(out, path.split("."))
    return tuple(out)


def _add_path(fields_: list[Field], parts: list[str]) -> list[Field]:
    name = parts[0]
    position = next((i for i, f in enumerate(fields_) if f.name == name), None)
    if position is None:
        if len(parts) == 1:
            return [*fields_, Field(name, readonly=True)]
        return [*fields_, Field(name, Kind.CONTAINER, tuple(_add_path([], parts[1:])), readonly=True)]
    existing = fields_[position]
    if len(parts) > 1 and existing.kind is Kind.CONTAINER:
        children = tuple(_add_path(list(existing.children), parts[1:]))
        fields_[position] = Field(name, Kind.CONTAINER, children, readonly=existing.readonly)
    return fields_


def with_extra_leaves(fields_: Iterable[Field], names: Iterable[str]) -> tuple[Field, ...]:
    """Fields plus custom text fields, skipping any name already there."""
    base = tuple(fields_)
    known = {f.name for f in base}
    return base + tuple(Field(name) for name in names if name not in known)


@dataclass(frozen=True)
class ValueProblem:
    """Why a leaf's text is not acceptable for its kind."""

    value: str
    expected: str


_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIMESTAMP = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2}):(\d{2}))?$")
_INTEGER = re.compile(r"^-?\d+$")
_BOOLEANS = {"true": "true", "false": "false", "t": "true", "f": "false"}


def parse_us_date(value: str) -> date | None:
    """``MM/DD/YYYY`` (month and day padded or not) as a date, or None."""
    match = _DATE.match(value.strip())
    if not match:
        return None
    month, day, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_us_timestamp(value: str) -> datetime | None:
    """``MM/DD/YYYY`` or ``MM/DD/YYYY HH:MM:SS`` as a datetime, or None."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return None
    month, day, year = (int(part) for part in match.groups()[:3])
    hour, minute, second = (int(part) if part else 0 for part in match.groups()[3:])
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def us_date(value: date) -> str:
    """A date as Intacct writes it: ``MM/DD/YYYY``."""
    return value.strftime("%m/%d/%Y")


def us_timestamp(value: datetime) -> str:
    """A timestamp as Intacct writes it: ``MM/DD/YYYY HH:MM:SS``."""
    return value.strftime("%m/%d/%Y %H:%M:%S")


_DECIMAL = re.compile(r"^[-+]?\d{1,15}(?:\.\d{1,10})?$")


def parse_decimal(value: str) -> Decimal | None:
    """A plain decimal number (no exponent, below 10^15, at most 10 decimals), or None."""
    text = value.strip()
    return Decimal(text) if _DECIMAL.match(text) else None


def money(value: Decimal) -> str:
    """An amount Intacct computed, with two decimals."""
    return str(value.quantize(Decimal("0.01")))


def normalise_leaf(spec: Field, raw: str) -> str | ValueProblem:
    """The stored form of a leaf's text, or why it is not acceptable. Empty text is kept as empty."""
    value = raw if spec.kind is Kind.TEXT else raw.strip()
    if value == "":
        return ""
    if spec.choices:
        for choice in spec.choices:
            if value.lower() == choice.lower():
                return choice
        return ValueProblem(value, "one of " + ", ".join(spec.choices))
    if spec.kind is Kind.DATE:
        parsed = parse_us_date(value)
        return us_date(parsed) if parsed else ValueProblem(value, "a date as MM/DD/YYYY")
    if spec.kind is Kind.TIMESTAMP:
        stamp = parse_us_timestamp(value)
        return us_timestamp(stamp) if stamp else ValueProblem(value, "a date-time as MM/DD/YYYY HH:MM:SS")
    if spec.kind is Kind.DECIMAL:
        return (
            value if parse_decimal(value) is not None else ValueProblem(value, "a decimal number below 10^15")
        )
    if spec.kind is Kind.INTEGER:
        return value if _INTEGER.match(value) else ValueProblem(value, "a whole number")
    if spec.kind is Kind.BOOLEAN:
        flag = _BOOLEANS.get(value.lower())
        return flag if flag else ValueProblem(value, "true or false")
    return value


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``DISPLAYCONTACT.EMAIL1``), or None."""
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def is_blank(value: Any) -> bool:
    """Nothing there: missing, empty text or an empty group."""
    return value is None or value == "" or value == {} or value == []


def field_at(fields_: Mapping[str, Field], path: str) -> Field | None:
    """The field a dotted path names in a field tree (through containers and collections), or None."""
    parts = path.split(".")
    current = fields_.get(parts[0])
    for part in parts[1:]:
        if current is None:
            return None
        if current.kind is Kind.COLLECTION and part == current.item:
            continue
        current = current.by_name.get(part)
    return current


def merge_update(existing: Record, changes: Record, fields_: Mapping[str, Field]) -> Record:
    """An update applied to a stored record.

    Omitted elements stay as they are, an empty leaf clears the field, an empty container changes
    nothing (the PHP SDK always sends ``<DISPLAYCONTACT/>``), and a collection is replaced whole.
    """
    merged = dict(existing)
    for name, value in changes.items():
        spec = fields_.get(name)
        if spec is not None and spec.kind is Kind.CONTAINER:
            inner = merged.get(name)
            merged[name] = merge_update(inner if isinstance(inner, dict) else {}, value, spec.by_name)
            if not merged[name]:
                del merged[name]
        elif value == "":
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def drop_blanks(record: Record) -> Record:
    """A record without empty leaves or empty groups: what a create stores."""
    out: Record = {}
    for name, value in record.items():
        if isinstance(value, dict):
            inner = {
                key: [drop_blanks(item) for item in items] if isinstance(items, list) else items
                for key, items in drop_blanks(value).items()
            }
            if inner:
                out[name] = inner
        elif not is_blank(value):
            out[name] = value
    return out


@dataclass(frozen=True)
class FieldSelection:
    """The fields a read asks for: everything, or a list of dotted paths."""

    everything: bool
    paths: tuple[str, ...] = field(default=())


def project(record: Record, selection: FieldSelection) -> Record:
    """The part of a record a read returns, in the order the fields were asked for."""
    if selection.everything:
        return record
    out: Record = {}
    for path in selection.paths:
        value = get_path(record, path)
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = "" if value is None else value
    return out
