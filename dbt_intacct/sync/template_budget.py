"""What a template may compute and how many steps a row may take: the checks `templates` calls.

Every check runs before an operation that could allocate more than its operands' size says (`*`, `**`,
`+`, `%`, str methods, filters), or measures a result as soon as it exists; `charge` counts steps against
the row's budget. See `templates` for the limits in words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, TypeVar

from markupsafe import Markup

MAX_TEMPLATE_CHARS = 100_000
# Python's own limit for printing an int; multiplying bigger ones costs far more than their size says.
MAX_TEMPLATE_DIGITS = 4_300
MAX_TEMPLATE_STEPS = 50_000
CHARS_PER_STEP = 100


class TemplateLimitExceeded(Exception):
    """A template would compute a value over MAX_TEMPLATE_CHARS or take over MAX_TEMPLATE_STEPS on a row."""


def value_size(value: Any, cap: int = MAX_TEMPLATE_CHARS) -> int:
    """Characters in a value: text its length, a number its digits, a list or dict one per item plus its
    items' own sizes; counted up to just past `cap`."""
    if type(value) is str:
        return len(value)
    total = 0
    pending = [value]
    while pending and total <= cap:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int):
            total += _digits(item)
        elif isinstance(item, Decimal):
            total += max(1, abs(item.adjusted())) if item.is_finite() else 1
        elif isinstance(item, Mapping):
            pending += (item.keys(), item.values())
        elif isinstance(item, _COLLECTIONS):
            # One per item first: a list longer than the cap is over it without a look inside.
            total += len(item)
            if total > cap:
                break
            kinds = set(map(type, item))
            # Lists of plain values, the usual case, are measured at C speed.
            if kinds <= _TEXT_TYPES:
                total += sum(map(len, item))
            elif kinds <= _INT_TYPES:
                total += sum(map(int.bit_length, item)) * 30103 // 100000
            elif not kinds <= _ONE_CHARACTER_TYPES:
                pending.extend(item)
        else:
            total += 1
    return total


_COLLECTIONS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
_TEXT_TYPES = frozenset({str, bytes, Markup})
_INT_TYPES = frozenset({int, bool})
_ONE_CHARACTER_TYPES = frozenset({float, type(None)})


class Budget:
    """The steps one row's rendering has left."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_TEMPLATE_STEPS


BUDGET: ContextVar[Budget | None] = ContextVar("dbt_intacct_template_budget", default=None)


def charge(steps: int) -> None:
    budget = BUDGET.get()
    if budget is None:
        return  # constant folding while compiling: bounded by the template's own text
    budget.left -= steps
    if budget.left < 0:
        raise too_many_steps()


def too_many_steps() -> TemplateLimitExceeded:
    return TemplateLimitExceeded(
        f"rendering this row takes more than {MAX_TEMPLATE_STEPS:,} steps (loop iterations, calls, filters, "
        "operators)"
    )


def _too_big(what: str) -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"{what} would make a value of more than {MAX_TEMPLATE_CHARS:,} characters")


def allow(size: int, what: str) -> None:
    if size > MAX_TEMPLATE_CHARS:
        raise _too_big(what)


_Value = TypeVar("_Value")


def produced(value: _Value, what: str) -> _Value:
    size = value_size(value)
    allow(size, what)
    charge(1 + size // CHARS_PER_STEP)
    return value


def handled(*values: Any) -> int:
    """The steps it takes to look through `values` (one per CHARS_PER_STEP characters)."""
    return sum(value_size(v) for v in values) // CHARS_PER_STEP


def _digits(number: int) -> int:
    return number.bit_length() * 30103 // 100000 + 1  # log10(2) = 0.30103


def argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], position: int, name: str, default: Any) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


def count(value: Any) -> int:
    """A width or count argument as a number, 0 when it is not one (the callee then refuses it)."""
    return value if isinstance(value, int) else 0


# -- checks made before an operation allocates ----------------------------------------------------------


def _check_width(digits: str, what: str) -> None:
    if len(digits) > len(str(MAX_TEMPLATE_CHARS)) or (digits and int(digits) > MAX_TEMPLATE_CHARS):
        raise _too_big(what)


_DIGIT_RUN = re.compile(r"[0-9]+")


def check_format_spec(spec: str) -> None:
    for digits in _DIGIT_RUN.findall(spec):
        _check_width(digits, f"the format spec {spec[:20]!r}")


def check_percent_format(text: str, values: Any) -> None:
    """Refuse a `%` format whose result would pass the size limit, counted from its conversions' widths
    and the sizes of the values they print, before Python builds it in one go."""
    total = len(text)
    position = 0
    for key, width, conversion in _percent_conversions(text):
        if conversion == "%":
            continue
        if key is not None:
            value = values.get(key) if isinstance(values, Mapping) else None
        else:
            value = values[position] if isinstance(values, tuple) and position < len(values) else values
            position += 1
        # repr() and other types' str() may be several times their size; 400 covers any float.
        printed = value_size(value) * (1 if isinstance(value, str) and conversion == "s" else 10)
        total += width + 400 + printed
        allow(total, "a %-format")


def _percent_conversions(text: str) -> Iterator[tuple[str | None, int, str]]:
    """Each conversion of a `%` format: its mapping key, its widest width or precision, its type."""
    position = text.find("%")
    while position != -1:
        i, key, width = position + 1, None, 0
        if text.startswith("(", i):  # a mapping key, whose parentheses may nest
            depth, start = 1, i + 1
            i = start
            while i < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            key = text[start : i - 1]
        while i < len(text) and text[i] in "-+ #0":
            i += 1
        for _ in range(2):  # the width, then the precision after a "."
            if text.startswith("*", i):
                raise TemplateLimitExceeded(
                    "a '*' width or precision in a %-format is not available in templates"
                )
            start = i
            while i < len(text) and text[i] in "0123456789":
                i += 1
            _check_width(text[start:i], "a width or precision in a %-format")
            width = max(width, int(text[start:i] or 0))
            if not text.startswith(".", i):
                break
            i += 1
        while i < len(text) and text[i] in "hlL":
            i += 1
        yield key, width, text[i : i + 1]
        position = text.find("%", i + 1)


def check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(times, int) and isinstance(sequence, str | bytes | list | tuple):
            allow(value_size(sequence) * max(times, 0), "'*'")
    if isinstance(left, int) and isinstance(right, int):
        _allow_digits(_digits(left) + _digits(right), "'*'")


def check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _allow_digits(exponent * base.bit_length() * 30103 // 100000, "'**'")


def _allow_digits(digits: int, what: str) -> None:
    if digits > MAX_TEMPLATE_DIGITS:
        raise TemplateLimitExceeded(f"{what} would make a number of more than {MAX_TEMPLATE_DIGITS:,} digits")


def check_sum(left: Any, right: Any) -> None:
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        allow(value_size(left) + value_size(right), "'+'")


def text_method_args(text: str | bytes, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Check a str or bytes method call before it runs; returns its arguments (an iterable made a list)."""
    what = f"{type(text).__name__}.{name}"
    if name in {"center", "ljust", "rjust", "zfill"} and args:
        allow(max(len(text), count(args[0])), what)
    elif name == "expandtabs":
        tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
        allow(len(text) + tabs * count(args[0] if args else 8), what)
    elif (
        name == "replace" and len(args) >= 2 and isinstance(args[0], str if isinstance(text, str) else bytes)
    ):
        old: Any = args[0]
        new = args[1]
        found = text.count(old) if old else len(text) + 1
        if len(args) > 2 and count(args[2]) >= 0:
            found = min(found, count(args[2]))
        allow(len(text) + found * max(0, value_size(new) - len(old)), what)
    elif name == "join" and args:
        items = list(args[0])
        allow(_joined_size(items, value_size(text)), what)
        return (items, *args[1:])
    elif name == "translate" and args:
        table = args[0]
        replacements = table.values() if isinstance(table, Mapping) else table
        longest = max(
            (len(r) for r in replacements if isinstance(r, str | bytes))
            if isinstance(replacements, Iterable)
            else (),
            default=1,
        )
        allow(len(text) * max(longest, 1), what)
    return args


def _joined_size(items: list[Any], separator: int) -> int:
    total = separator * max(len(items) - 1, 0)
    for item in items:
        total += value_size(item)
        if total > MAX_TEMPLATE_CHARS:
            break
    return total


FilterCheck = Callable[[Any, tuple[Any, ...], Mapping[str, Any]], tuple[Any, ...]]


def _check_center_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    allow(count(argument(args, kwargs, 0, "width", 80)), "the center filter")
    return (value, *args)


def _check_indent_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    width = argument(args, kwargs, 0, "width", 4)
    unit = len(width) if isinstance(width, str) else count(width)
    if isinstance(value, str):
        allow(len(value) + (value.count("\n") + 1) * unit, "the indent filter")
    return (value, *args)


def _check_wordwrap_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    width = max(count(argument(args, kwargs, 0, "width", 79)), 1)
    wrapstring = argument(args, kwargs, 2, "wrapstring", None) or "\n"
    if isinstance(value, str) and isinstance(wrapstring, str):
        # Two consecutive wrapped lines hold more than `width` characters; each paragraph ends a line.
        lines = 2 * len(value) // width + value.count("\n") + 2
        allow(len(value) + lines * len(wrapstring), "the wordwrap filter")
    return (value, *args)


def _check_replace_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if len(args) >= 2:
        text_method_args(str(value), "replace", (str(args[0]), str(args[1]), *args[2:3]))
    return (value, *args)


def _check_join_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    items = list(value)
    separator = argument(args, kwargs, 0, "d", "")
    allow(_joined_size(items, value_size(str(separator))), "the join filter")
    return (items, *args)


def _check_format_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    check_percent_format(str(value), kwargs or args)
    return (value, *args)


def _count_check(position: int, name: str, what: str) -> FilterCheck:
    def check(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
        allow(abs(count(argument(args, kwargs, position, name, 0))), what)
        return (value, *args)

    return check


def _check_tojson_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    indent = argument(args, kwargs, 0, "indent", None)
    if (len(indent) if isinstance(indent, str) else count(indent)) > 16:
        raise TemplateLimitExceeded("the tojson filter indents by at most 16 in templates")
    return (value, *args)


def _check_sum_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if not isinstance(argument(args, kwargs, 1, "start", 0), int | float | Decimal):
        # Adding lists or text one by one copies the total so far each time: quadratic.
        raise TemplateLimitExceeded(
            "the sum filter adds numbers only in templates; its start must be a number"
        )
    return (value, *args)


def _check_urlize_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    text = str(value)
    attributes = sum(
        len(str(argument(args, kwargs, p, n, None) or "")) for p, n in ((2, "target"), (3, "rel"))
    )
    # Each word may become a link: its text twice, the attributes and the markup around them.
    allow(2 * len(text) + (text.count(" ") + text.count("\n") + 1) * (attributes + 64), "the urlize filter")
    return (value, *args)


FILTER_CHECKS: dict[str, FilterCheck] = {
    "center": _check_center_filter,
    "indent": _check_indent_filter,
    "wordwrap": _check_wordwrap_filter,
    "replace": _check_replace_filter,
    "join": _check_join_filter,
    "format": _check_format_filter,
    "batch": _count_check(0, "linecount", "the batch filter"),
    "slice": _count_check(0, "slices", "the slice filter"),
    "round": _count_check(0, "precision", "the round filter's precision"),
    "tojson": _check_tojson_filter,
    "sum": _check_sum_filter,
    "urlize": _check_urlize_filter,
}
# Filters that compare their input's items with each other: their work grows with the items' own sizes.
COMPARING_FILTERS = frozenset({"dictsort", "groupby", "max", "min", "sort", "unique"})
