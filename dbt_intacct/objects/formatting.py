"""Turning plain Python values into the text Intacct expects for each field type (API.md section 8).

Every converter raises `InvalidValue` with a reason that says what was expected and what was found; the
layout that called it adds the field's mapping path and turns it into `RowRejected`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from dbt_intacct.objects.fields import FieldSpec, FieldType

MULTISELECT_SEPARATOR = "#~#"
CENT = Decimal("0.01")
# No book holds an amount of a quadrillion; the cap also keeps rounding and sums within Decimal's
# 28-digit precision, where they are exact.
MONEY_LIMIT = Decimal(10) ** 15

# Everything XML 1.0 cannot carry: C0 controls but tab/newline/return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Custom field IDs become element names (generic objects): plain ASCII XML names, no colon (namespaces).
_ELEMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


class InvalidValue(ValueError):
    """A value that cannot become its field's text; `reason` is written for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def describe(value: Any) -> str:
    """A short, readable rendering of a value for an error message."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:56] + "...'"
    text = repr(value)
    if len(text) > 50:
        text = text[:47] + "..."
    return f"{type(value).__name__} {text}"


def check_xml_text(text: str) -> str:
    """Return the text unchanged, or raise if it holds a character XML 1.0 cannot carry."""
    bad = _NOT_XML.search(text)
    if bad is not None:
        char = bad.group()
        kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a character XML 1.0 cannot carry"
        raise InvalidValue(f"contains U+{ord(char):04X}, {kind} (at position {bad.start()})")
    return text


def is_element_name(name: str) -> bool:
    """Whether a custom field ID can be written as an element name."""
    return _ELEMENT_NAME.match(name) is not None


def to_decimal(value: Any, what: str = "a number") -> Decimal:
    """A finite Decimal from int, Decimal, float (via its shortest repr: no binary artefacts) or text."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        raise InvalidValue(f"expected {what}, got {describe(value)}")
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(f"expected {what}, got {describe(value)}")
        return Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidValue(f"expected {what}, got {describe(value)}") from None
    else:
        raise InvalidValue(f"expected {what}, got {describe(value)}")
    if not number.is_finite():
        raise InvalidValue(f"expected {what}, got {describe(value)}")
    return number


def round_money(number: Decimal) -> Decimal:
    """Round half-up to cents when there are more than two decimals; fewer are kept as given."""
    if abs(number) >= MONEY_LIMIT:
        raise InvalidValue(f"{decimal_text(number)} is too large for an amount (the limit is 10^15)")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        number = number.quantize(CENT, rounding=ROUND_HALF_UP)
    return number


def decimal_text(number: Decimal) -> str:
    """Plain positional notation, never an exponent, and never '-0'."""
    if number.is_zero():
        number = abs(number)
    return format(number, "f")


def to_date(value: Any) -> date:
    """A date from date, datetime (its date), 'YYYY-MM-DD[ time]' or 'MM/DD/YYYY'."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) >= 10 and text[4] == "-" and text[7] == "-":
                if len(text) == 10:
                    return date.fromisoformat(text)
                if text[10] in "T ":
                    return datetime.fromisoformat(text).date()
            elif len(text) == 10 and text[2] == "/" and text[5] == "/":
                return date(int(text[6:]), int(text[:2]), int(text[3:5]))
        except ValueError:
            pass
    raise InvalidValue(
        f"expected a date (a DATE or TIMESTAMP, 'YYYY-MM-DD' or 'MM/DD/YYYY'), got {describe(value)}"
    )


def to_datetime(value: Any) -> datetime:
    """A datetime from datetime, date (midnight) or ISO 8601 text; kept in its own wall-clock time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidValue(f"expected a date and time (a TIMESTAMP or ISO 8601 text), got {describe(value)}")


def generic_date(day: date) -> str:
    """MM/DD/YYYY, as the generic functions take dates."""
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def generic_datetime(moment: datetime) -> str:
    """MM/DD/YYYY HH:MM:SS."""
    return f"{generic_date(moment.date())} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"


def _text(spec: FieldSpec, value: Any) -> str:
    if value.__class__ is str:
        # The common case, inline: most mapped fields are text columns.
        if _NOT_XML.search(value) is not None:
            check_xml_text(value)
        if spec.max_length is not None and len(value) > spec.max_length:
            raise InvalidValue(f"{len(value)} characters, the limit is {spec.max_length}")
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        raise InvalidValue(f"expected text, got {describe(value)}")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal | float):
        text = decimal_text(to_decimal(value, "text"))
    else:
        raise InvalidValue(f"expected text, got {describe(value)}")
    return _checked_length(spec, check_xml_text(text))


def _checked_length(spec: FieldSpec, text: str) -> str:
    if spec.max_length is not None and len(text) > spec.max_length:
        raise InvalidValue(f"{len(text)} characters, the limit is {spec.max_length}")
    return text


def _money(spec: FieldSpec, value: Any) -> str:
    return decimal_text(round_money(to_decimal(value, "an amount")))


def _quantity(spec: FieldSpec, value: Any) -> str:
    return decimal_text(to_decimal(value, "a number"))


def _integer(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return str(int(value.strip()))
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        number = to_decimal(value, "a whole number")
        if number == number.to_integral_value():
            return str(int(number))
    raise InvalidValue(f"expected a whole number, got {describe(value)}")


def _boolean(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value in (0, 1):
        return "true" if value else "false"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return "true"
        if lowered in _FALSE:
            return "false"
    raise InvalidValue(f"expected a boolean (true or false), got {describe(value)}")


def _status(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, bool):
        return "active" if value else "inactive"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("active", "inactive"):
            return lowered
        if lowered in _TRUE:
            return "active"
        if lowered in _FALSE:
            return "inactive"
    raise InvalidValue(f"expected a status (active or inactive, or a boolean), got {describe(value)}")


def _choice(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, str):
        wanted = value.strip().lower()
        for choice in spec.choices:
            if choice.lower() == wanted:
                return choice
    raise InvalidValue(f"expected one of {', '.join(spec.choices)}, got {describe(value)}")


def _multiselect(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, str):
        items = value.split(MULTISELECT_SEPARATOR) if value else []
    elif isinstance(value, list | tuple):
        items = []
        for item in value:
            if item is None:
                continue
            if isinstance(item, bool) or not isinstance(item, str | int | Decimal):
                raise InvalidValue(f"expected a list of values, got an element {describe(item)}")
            text = str(item)
            if MULTISELECT_SEPARATOR in text:
                raise InvalidValue(
                    f"a value of the list contains '{MULTISELECT_SEPARATOR}': {describe(text)}"
                )
            items.append(text)
    else:
        raise InvalidValue(f"expected a list of values (or '#~#'-joined text), got {describe(value)}")
    if spec.choices:
        items = [_choice(spec, item) for item in items]
    return _checked_length(spec, check_xml_text(MULTISELECT_SEPARATOR.join(items)))


def _generic_date(spec: FieldSpec, value: Any) -> str:
    return generic_date(to_date(value))


def _generic_datetime(spec: FieldSpec, value: Any) -> str:
    return generic_datetime(to_datetime(value))


# Dates are written by the layout (split elements in legacy functions); these cover the generic form.
_FORMATTERS: Mapping[FieldType, Callable[[FieldSpec, Any], str]] = {
    FieldType.TEXT: _text,
    FieldType.DECIMAL: _money,
    FieldType.QUANTITY: _quantity,
    FieldType.INTEGER: _integer,
    FieldType.BOOLEAN: _boolean,
    FieldType.STATUS: _status,
    FieldType.ENUM: _choice,
    FieldType.MULTISELECT: _multiselect,
    FieldType.DATE: _generic_date,
    FieldType.DATETIME: _generic_datetime,
}


def formatter_for(field_type: FieldType) -> Callable[[FieldSpec, Any], str]:
    """The converter of a field type (layouts keep it per field: enum hashing is slow in the hot loop)."""
    return _FORMATTERS[field_type]


def format_value(spec: FieldSpec, value: Any) -> str:
    """The element text for a non-empty value of this field (dates in their generic MM/DD/YYYY form)."""
    return _FORMATTERS[spec.type](spec, value)


def format_custom_value(value: Any) -> str:
    """A custom field's text: its type is the company's, so the Python type decides the form."""
    if isinstance(value, str):
        return check_xml_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return decimal_text(to_decimal(value))
    if isinstance(value, datetime):
        return generic_datetime(value)
    if isinstance(value, date):
        return generic_date(value)
    if isinstance(value, list | tuple):
        return _multiselect(FieldSpec(path="", type=FieldType.MULTISELECT), value)
    raise InvalidValue(f"expected text, a number, a boolean, a date or a list, got {describe(value)}")
