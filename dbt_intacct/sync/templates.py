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

import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import update_wrapper, wraps
from typing import Any, cast

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from dbt_intacct.sync.template_budget import (
    BUDGET,
    CHARS_PER_STEP,
    COMPARING_FILTERS,
    FILTER_CHECKS,
    MAX_TEMPLATE_CHARS,
    Budget,
    TemplateLimitExceeded,
    allow,
    argument,
    charge,
    check_format_spec,
    check_percent_format,
    check_power,
    check_repeat,
    check_sum,
    count,
    handled,
    produced,
    text_method_args,
    too_many_steps,
)


def render_template(template: Template, context: Mapping[str, Any]) -> str:
    """Render one row with a fresh step budget; TemplateLimitExceeded when it would go past a limit."""
    token = BUDGET.set(Budget())
    try:
        return template.render(context)
    finally:
        BUDGET.reset(token)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    check = FILTER_CHECKS.get(name)
    passed = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0  # context or environment
    comparing = name in COMPARING_FILTERS
    what = f"the {name} filter"

    @wraps(function)  # keeps `jinja_pass_arg`: Jinja still passes the context or environment
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value = args[passed]
        if check is not None:
            args = (*args[:passed], *check(value, args[passed + 1 :], kwargs))
            value = args[passed]
        if comparing:
            charge(1 + handled(value))
        else:
            charge(1 + (len(value) if isinstance(value, str | list | tuple | dict) else 1) // CHARS_PER_STEP)
        return produced(function(*args, **kwargs), what)

    return bounded


def _bounded_test(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        charge(1 + handled(*args, *kwargs.values()))
        return function(*args, **kwargs)

    return bounded


# -- filters the bounding rewrite inserts -------------------------------------------------------------

_ITERATIONS = "_dbt_intacct_iterations"
_CONCATENATED = "_dbt_intacct_concatenated"
_COMPARED = "_dbt_intacct_compared"
_STEPS = "_dbt_intacct_steps"


@pass_context  # a context filter is never run at compile time
def _iterations(context: Context, iterable: Any, weight: int) -> Iterator[Any]:
    budget = BUDGET.get()
    for item in iterable:
        if budget is not None:
            budget.left -= weight
            if budget.left < 0:
                raise too_many_steps()
        yield item


def _concatenated(parts: list[Any]) -> str:
    texts = [str(part) for part in parts]
    total = sum(map(len, texts))
    allow(total, "'~'")
    charge(1 + total // CHARS_PER_STEP)
    return "".join(texts)


def _compared(value: Any) -> Any:
    charge(1 + handled(value))
    return value


@pass_context
def _steps(context: Context, value: None, weight: int) -> None:
    charge(weight)


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
        check_format_spec(format_spec)
        field = super().format_field(value, format_spec)
        self.printed += len(field)
        allow(self.printed, "str.format")
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
            check_repeat(left, right)
        elif operator == "**":
            check_power(left, right)
        elif operator == "+":
            check_sum(left, right)
        elif operator == "%" and isinstance(left, str | bytes):
            check_percent_format(left if isinstance(left, str) else left.decode("latin-1"), right)
        return produced(self.binop_table[operator](left, right), f"'{operator}'")

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        if isinstance(owner, str | bytes):
            args = text_method_args(owner, name, args)
        elif isinstance(owner, int) and name == "to_bytes":
            allow(count(argument(args, kwargs, 0, "length", 1)), "int.to_bytes")
        charge(1 + handled(owner, *args, *kwargs.values()))
        return produced(super().call(context, obj, *args, **kwargs), f"calling {name or 'a function'}")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, slice):
            return produced(super().getitem(obj, argument), "a slice")
        if not isinstance(argument, str | int):
            charge(handled(argument))  # hashing a tuple key looks at all of it
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
            return produced(type(text)(formatted), f"str.{value.__name__}")

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
