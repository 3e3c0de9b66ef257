"""The sandbox `{template: ...}` mappings render in, bounded so that no row can hang a sync or eat its memory.

Two limits, counted rather than timed, so a row renders or is rejected the same way on every machine:

- **Size**: every value a template computes (text, a list, a number) and the text it renders hold at most
  `MAX_TEMPLATE_CHARS` characters; a list counts one per item plus its items' own sizes, a number its digits.
  A product or power holds at most `MAX_TEMPLATE_DIGITS` digits.
  Whatever could allocate more (`*`, `**`, `+`, `%`, `~`, `str.center`, `|indent`, `|join`, ...) is checked
  from its operands' sizes before it runs; every other result is measured as soon as it exists.
- **Steps**: one row's rendering takes at most `MAX_TEMPLATE_STEPS` steps. A loop iteration counts one step
  per expression node of the loop's body, a macro call one per node of the macro; a call, filter, test,
  operator, comparison or slice counts one step plus one per `CHARS_PER_STEP` characters it handles.

A template that would go past either limit raises `TemplateLimitExceeded`, which rejects that row only.
Templates also see no globals (`range`, `namespace`, ...) and cannot modify lists or dicts.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from contextvars import ContextVar
from decimal import Decimal
from functools import update_wrapper, wraps
from typing import Any, TypeVar, cast

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

MAX_TEMPLATE_CHARS = 100_000
# Python's own limit for printing an int; multiplying bigger ones costs far more than their size says.
MAX_TEMPLATE_DIGITS = 4_300
MAX_TEMPLATE_STEPS = 50_000
CHARS_PER_STEP = 100


class TemplateLimitExceeded(Exception):
    """A template would compute a value over MAX_TEMPLATE_CHARS or take over MAX_TEMPLATE_STEPS on a row."""


def render_template(template: Template, context: Mapping[str, Any]) -> str:
    """Render one row with a fresh step budget; TemplateLimitExceeded when it would go past a limit."""
    token = _BUDGET.set(_Budget())
    try:
        return template.render(context)
    finally:
        _BUDGET.reset(token)


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


class _Budget:
    """The steps one row's rendering has left."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_TEMPLATE_STEPS


_BUDGET: ContextVar[_Budget | None] = ContextVar("dbt_intacct_template_budget", default=None)


def _charge(steps: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return  # constant folding while compiling: bounded by the template's own text
    budget.left -= steps
    if budget.left < 0:
        raise _too_many_steps()


def _too_many_steps() -> TemplateLimitExceeded:
    return TemplateLimitExceeded(
        f"rendering this row takes more than {MAX_TEMPLATE_STEPS:,} steps (loop iterations, calls, filters, "
        "operators)"
    )


def _too_big(what: str) -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"{what} would make a value of more than {MAX_TEMPLATE_CHARS:,} characters")


def _allow(size: int, what: str) -> None:
    if size > MAX_TEMPLATE_CHARS:
        raise _too_big(what)


_Value = TypeVar("_Value")


def _produced(value: _Value, what: str) -> _Value:
    size = value_size(value)
    _allow(size, what)
    _charge(1 + size // CHARS_PER_STEP)
    return value


def _handled(*values: Any) -> int:
    """The steps it takes to look through `values` (one per CHARS_PER_STEP characters)."""
    return sum(value_size(v) for v in values) // CHARS_PER_STEP


def _digits(number: int) -> int:
    return number.bit_length() * 30103 // 100000 + 1  # log10(2) = 0.30103


def _argument(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], position: int, name: str, default: Any
) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


def _count(value: Any) -> int:
    """A width or count argument as a number, 0 when it is not one (the callee then refuses it)."""
    return value if isinstance(value, int) else 0


# -- checks made before an operation allocates ----------------------------------------------------------


def _check_width(digits: str, what: str) -> None:
    if len(digits) > len(str(MAX_TEMPLATE_CHARS)) or (digits and int(digits) > MAX_TEMPLATE_CHARS):
        raise _too_big(what)


_DIGIT_RUN = re.compile(r"[0-9]+")


def _check_format_spec(spec: str) -> None:
    for digits in _DIGIT_RUN.findall(spec):
        _check_width(digits, f"the format spec {spec[:20]!r}")


def _check_percent_format(text: str, values: Any) -> None:
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
        _allow(total, "a %-format")


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


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(times, int) and isinstance(sequence, str | bytes | list | tuple):
            _allow(value_size(sequence) * max(times, 0), "'*'")
    if isinstance(left, int) and isinstance(right, int):
        _allow_digits(_digits(left) + _digits(right), "'*'")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _allow_digits(exponent * base.bit_length() * 30103 // 100000, "'**'")


def _allow_digits(digits: int, what: str) -> None:
    if digits > MAX_TEMPLATE_DIGITS:
        raise TemplateLimitExceeded(f"{what} would make a number of more than {MAX_TEMPLATE_DIGITS:,} digits")


def _check_sum(left: Any, right: Any) -> None:
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        _allow(value_size(left) + value_size(right), "'+'")


def _text_method_args(text: str | bytes, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Check a str or bytes method call before it runs; returns its arguments (an iterable made a list)."""
    what = f"{type(text).__name__}.{name}"
    if name in {"center", "ljust", "rjust", "zfill"} and args:
        _allow(max(len(text), _count(args[0])), what)
    elif name == "expandtabs":
        tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
        _allow(len(text) + tabs * _count(args[0] if args else 8), what)
    elif (
        name == "replace" and len(args) >= 2 and isinstance(args[0], str if isinstance(text, str) else bytes)
    ):
        old: Any = args[0]
        new = args[1]
        found = text.count(old) if old else len(text) + 1
        if len(args) > 2 and _count(args[2]) >= 0:
            found = min(found, _count(args[2]))
        _allow(len(text) + found * max(0, value_size(new) - len(old)), what)
    elif name == "join" and args:
        items = list(args[0])
        _allow(_joined_size(items, value_size(text)), what)
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
        _allow(len(text) * max(longest, 1), what)
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
    _allow(_count(_argument(args, kwargs, 0, "width", 80)), "the center filter")
    return (value, *args)


def _check_indent_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    width = _argument(args, kwargs, 0, "width", 4)
    unit = len(width) if isinstance(width, str) else _count(width)
    if isinstance(value, str):
        _allow(len(value) + (value.count("\n") + 1) * unit, "the indent filter")
    return (value, *args)


def _check_wordwrap_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    width = max(_count(_argument(args, kwargs, 0, "width", 79)), 1)
    wrapstring = _argument(args, kwargs, 2, "wrapstring", None) or "\n"
    if isinstance(value, str) and isinstance(wrapstring, str):
        # Two consecutive wrapped lines hold more than `width` characters; each paragraph ends a line.
        lines = 2 * len(value) // width + value.count("\n") + 2
        _allow(len(value) + lines * len(wrapstring), "the wordwrap filter")
    return (value, *args)


def _check_replace_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if len(args) >= 2:
        _text_method_args(str(value), "replace", (str(args[0]), str(args[1]), *args[2:3]))
    return (value, *args)


def _check_join_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    items = list(value)
    separator = _argument(args, kwargs, 0, "d", "")
    _allow(_joined_size(items, value_size(str(separator))), "the join filter")
    return (items, *args)


def _check_format_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    _check_percent_format(str(value), kwargs or args)
    return (value, *args)


def _count_check(position: int, name: str, what: str) -> FilterCheck:
    def check(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
        _allow(abs(_count(_argument(args, kwargs, position, name, 0))), what)
        return (value, *args)

    return check


def _check_tojson_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    indent = _argument(args, kwargs, 0, "indent", None)
    if (len(indent) if isinstance(indent, str) else _count(indent)) > 16:
        raise TemplateLimitExceeded("the tojson filter indents by at most 16 in templates")
    return (value, *args)


def _check_sum_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if not isinstance(_argument(args, kwargs, 1, "start", 0), int | float | Decimal):
        # Adding lists or text one by one copies the total so far each time: quadratic.
        raise TemplateLimitExceeded(
            "the sum filter adds numbers only in templates; its start must be a number"
        )
    return (value, *args)


def _check_urlize_filter(value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    text = str(value)
    attributes = sum(
        len(str(_argument(args, kwargs, p, n, None) or "")) for p, n in ((2, "target"), (3, "rel"))
    )
    # Each word may become a link: its text twice, the attributes and the markup around them.
    _allow(2 * len(text) + (text.count(" ") + text.count("\n") + 1) * (attributes + 64), "the urlize filter")
    return (value, *args)


_FILTER_CHECKS: dict[str, FilterCheck] = {
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
_COMPARING_FILTERS = frozenset({"dictsort", "groupby", "max", "min", "sort", "unique"})


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    passed = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0  # context or environment
    comparing = name in _COMPARING_FILTERS
    what = f"the {name} filter"

    @wraps(function)  # keeps `jinja_pass_arg`: Jinja still passes the context or environment
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value = args[passed]
        if check is not None:
            args = (*args[:passed], *check(value, args[passed + 1 :], kwargs))
            value = args[passed]
        if comparing:
            _charge(1 + _handled(value))
        else:
            _charge(1 + (len(value) if isinstance(value, str | list | tuple | dict) else 1) // CHARS_PER_STEP)
        return _produced(function(*args, **kwargs), what)

    return bounded


def _bounded_test(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _charge(1 + _handled(*args, *kwargs.values()))
        return function(*args, **kwargs)

    return bounded


# -- filters the bounding rewrite inserts -------------------------------------------------------------

_ITERATIONS = "_dbt_intacct_iterations"
_CONCATENATED = "_dbt_intacct_concatenated"
_COMPARED = "_dbt_intacct_compared"
_STEPS = "_dbt_intacct_steps"


@pass_context  # a context filter is never run at compile time
def _iterations(context: Context, iterable: Any, weight: int) -> Iterator[Any]:
    budget = _BUDGET.get()
    for item in iterable:
        if budget is not None:
            budget.left -= weight
            if budget.left < 0:
                raise _too_many_steps()
        yield item


def _concatenated(parts: list[Any]) -> str:
    texts = [str(part) for part in parts]
    total = sum(map(len, texts))
    _allow(total, "'~'")
    _charge(1 + total // CHARS_PER_STEP)
    return "".join(texts)


def _compared(value: Any) -> Any:
    _charge(1 + _handled(value))
    return value


@pass_context
def _steps(context: Context, value: None, weight: int) -> None:
    _charge(weight)


def _rendered(pieces: Iterable[str]) -> str:
    texts: list[str] = []
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > MAX_TEMPLATE_CHARS:
            raise TemplateLimitExceeded(
                f"the rendered text would be more than {MAX_TEMPLATE_CHARS:,} characters"
            )
        texts.append(piece)
    return "".join(texts)


def _node_count(body: Iterable[nodes.Node]) -> int:
    return sum(1 + sum(1 for _ in node.find_all(nodes.Node)) for node in body)


def _filtered(node: nodes.Node, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


class _Bounding(NodeTransformer):
    """Rewrites a parsed template so that loops, macros, `~` and comparisons count their steps."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not available in templates", node.lineno)
        self.generic_visit(node)
        weight = 1 + _node_count(node.body) + (_node_count([node.test]) if node.test else 0)
        node.iter = _filtered(node.iter, _ITERATIONS, nodes.Const(weight))
        return node

    def visit_Macro(self, node: nodes.Macro) -> nodes.Node:
        return self._counted_body(node)

    def visit_CallBlock(self, node: nodes.CallBlock) -> nodes.Node:
        return self._counted_body(node)

    def _counted_body(self, node: nodes.Macro | nodes.CallBlock) -> nodes.Node:
        self.generic_visit(node)
        weight = nodes.Const(1 + _node_count(node.body))
        node.body.insert(0, nodes.ExprStmt(_filtered(nodes.Const(None), _STEPS, weight), lineno=node.lineno))
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filtered(nodes.List(node.nodes, lineno=node.lineno), _CONCATENATED)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        node.expr = _filtered(node.expr, _COMPARED)
        for operand in node.ops:
            operand.expr = _filtered(operand.expr, _COMPARED)
        return node


class _BoundedFormatter(SandboxedFormatter):
    """Checks each field's width before formatting it, and the text printed so far after."""

    printed = 0

    def vformat(self, format_string: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        self.printed = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        field = super().format_field(value, format_spec)
        self.printed += len(field)
        _allow(self.printed, "str.format")
        return field


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, without globals, with every operation that can grow checked and counted."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(_rendered)  # every rendered text: the template's, a macro's, a block's

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.clear()
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(
            {_ITERATIONS: _iterations, _CONCATENATED: _concatenated, _COMPARED: _compared, _STEPS: _steps}
        )
        self.tests = {name: _bounded_test(cast(Callable[..., Any], t)) for name, t in self.tests.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _Bounding().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree  # type: ignore[no-any-return]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+":
            _check_sum(left, right)
        elif operator == "%" and isinstance(left, str | bytes):
            _check_percent_format(left if isinstance(left, str) else left.decode("latin-1"), right)
        return _produced(self.binop_table[operator](left, right), f"'{operator}'")

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        if isinstance(owner, str | bytes):
            args = _text_method_args(owner, name, args)
        elif isinstance(owner, int) and name == "to_bytes":
            _allow(_count(_argument(args, kwargs, 0, "length", 1)), "int.to_bytes")
        _charge(1 + _handled(owner, *args, *kwargs.values()))
        return _produced(super().call(context, obj, *args, **kwargs), f"calling {name or 'a function'}")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, slice):
            return _produced(super().getitem(obj, argument), "a slice")
        if not isinstance(argument, str | int):
            _charge(_handled(argument))  # hashing a tuple key looks at all of it
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `str.format_map` with their widths and precisions checked, and their result."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        formatter: _BoundedFormatter = (
            _BoundedEscapeFormatter(self, escape=text.escape)
            if isinstance(text, Markup)
            else _BoundedFormatter(self)
        )
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_format_map and (kwargs or len(args) != 1):
                raise TypeError("format_map() takes exactly one mapping")
            formatted = (
                formatter.vformat(text, (), args[0])
                if is_format_map
                else formatter.vformat(text, args, kwargs)
            )
            return _produced(type(text)(formatted), f"str.{value.__name__}")

        return update_wrapper(bounded_format, value)


TEMPLATE_ENV = TemplateSandbox(
    variable_start_string="[[",
    variable_end_string="]]",
    block_start_string="[%",
    block_end_string="%]",
    comment_start_string="[#",
    comment_end_string="#]",
    autoescape=False,
    keep_trailing_newline=False,
    undefined=StrictUndefined,
)
