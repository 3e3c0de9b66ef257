"""Record filters: readByQuery's query string and query's structured ``<filter>``.

Both compile to a predicate over stored records. Comparisons follow the field's kind: dates and
numbers compare as such, text compares case-sensitively (query's ``caseinsensitive`` option aside).
A field that is missing or empty is NULL: it matches only ``IS NULL``/``isnull``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from dbt_intacct.emulator.fields import (
    Field,
    Kind,
    Record,
    get_path,
    parse_decimal,
    parse_us_timestamp,
)

Predicate = Callable[[Record], bool]
FieldResolver = Callable[[str], Field]
MAX_IN_VALUES = 1000


class QueryError(Exception):
    """The query cannot be read or names something the object does not have."""


def _sortable(kind: Kind, value: str) -> Any:
    """A value in a form that compares the way Intacct compares the field."""
    if kind in (Kind.DECIMAL, Kind.INTEGER):
        number = parse_decimal(value)
        if number is not None:
            return number
    if kind in (Kind.DATE, Kind.TIMESTAMP):
        stamp = parse_us_timestamp(value)
        if stamp is None:
            iso = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", value.strip())
            stamp = datetime(int(iso[1]), int(iso[2]), int(iso[3])) if iso else None
        if stamp is not None:
            return stamp
    return value


def _literal(spec: Field, value: str) -> str:
    # readByQuery compares STATUS with Intacct's stored flags: 'T' is active, 'F' inactive.
    if spec.name == "STATUS" and value in ("T", "F"):
        return "active" if value == "T" else "inactive"
    return value


@dataclass(frozen=True)
class _Comparison:
    path: str
    spec: Field
    case_insensitive: bool

    def value(self, record: Record) -> str | None:
        found = get_path(record, self.path)
        if not isinstance(found, str) or found == "":
            return None
        return found.lower() if self.case_insensitive else found

    def operand(self, literal: str) -> Any:
        text = _literal(self.spec, literal)
        return _sortable(self.spec.kind, text.lower() if self.case_insensitive else text)

    def compare(self, operator: str, literal: str) -> Predicate:
        right = self.operand(literal)

        def predicate(record: Record) -> bool:
            found = self.value(record)
            if found is None:
                return False
            left = _sortable(self.spec.kind, found)
            if type(left) is not type(right):
                left, right_ = str(found), str(literal)
            else:
                right_ = right
            return _OPERATORS[operator](left, right_)

        return predicate

    def one_of(self, literals: list[str], negate: bool) -> Predicate:
        values = {self.operand(literal) for literal in literals}

        def predicate(record: Record) -> bool:
            found = self.value(record)
            if found is None:
                return False
            return (_sortable(self.spec.kind, found) in values) != negate

        return predicate

    def like(self, pattern: str, negate: bool) -> Predicate:
        text = pattern.lower() if self.case_insensitive else pattern
        regex = re.compile(
            "".join(".*" if char == "%" else "." if char == "_" else re.escape(char) for char in text),
            re.DOTALL,
        )

        def predicate(record: Record) -> bool:
            found = self.value(record)
            if found is None:
                return False
            return (regex.fullmatch(found) is not None) != negate

        return predicate

    def is_null(self, negate: bool) -> Predicate:
        return lambda record: (self.value(record) is None) != negate


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<>": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


def _resolve(resolver: FieldResolver, path: str, case_insensitive: bool) -> _Comparison:
    return _Comparison(path, resolver(path), case_insensitive)


# --- readByQuery: the legacy query string -------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|<>|!=|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenise(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if not match:
            raise QueryError(
                f"cannot read the query at character {position + 1}: {query[position : position + 20]!r}"
            )
        kind = match.lastgroup or ""
        if kind == "op":
            before = query[position - 1] if position else " "
            after = query[match.end()] if match.end() < len(query) else " "
            if not before.isspace() or not after.isspace():
                raise QueryError(
                    f"operator '{match.group()}' at character {position + 1} needs a space on both sides"
                )
        if kind == "string":
            raw = match.group()[1:-1]
            tokens.append(_Token(kind, re.sub(r"\\(.)", r"\1", raw), position))
        elif kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


class _LegacyParser:
    def __init__(self, query: str, resolver: FieldResolver) -> None:
        self.tokens = _tokenise(query)
        self.index = 0
        self.resolver = resolver

    def peek_word(self, *words: str) -> bool:
        token = self.tokens[self.index] if self.index < len(self.tokens) else None
        return token is not None and token.kind == "word" and token.text.upper() in words

    def take(self) -> _Token:
        if self.index >= len(self.tokens):
            raise QueryError("the query ends too early")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.take()
        if token.kind != kind or (text is not None and token.text.upper() != text):
            wanted = text or kind
            raise QueryError(f"expected {wanted} at character {token.position + 1}, found '{token.text}'")
        return token

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.index != len(self.tokens):
            token = self.tokens[self.index]
            raise QueryError(f"unexpected '{token.text}' at character {token.position + 1}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek_word("OR"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda record: any(part(record) for part in parts))

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.peek_word("AND"):
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda record: all(part(record) for part in parts))

    def negation(self) -> Predicate:
        if self.peek_word("NOT"):
            self.take()
            inner = self.negation()
            return lambda record: not inner(record)
        return self.primary()

    def primary(self) -> Predicate:
        token = self.tokens[self.index] if self.index < len(self.tokens) else None
        if token is not None and token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def value(self) -> str:
        token = self.take()
        if token.kind not in ("string", "number"):
            raise QueryError(f"expected a value at character {token.position + 1}, found '{token.text}'")
        return token.text

    def comparison(self) -> Predicate:
        field_token = self.expect("word")
        comparison = _resolve(self.resolver, field_token.text, case_insensitive=False)
        if self.peek_word("IS"):
            self.take()
            negate = self.peek_word("NOT")
            if negate:
                self.take()
            self.expect("word", "NULL")
            return comparison.is_null(negate)
        negate = self.peek_word("NOT")
        if negate:
            self.take()
        if self.peek_word("LIKE"):
            self.take()
            return comparison.like(self.value(), negate)
        if self.peek_word("IN"):
            self.take()
            self.expect("punct", "(")
            values = [self.value()]
            while self.tokens[self.index].text == ",":
                self.take()
                values.append(self.value())
            self.expect("punct", ")")
            return comparison.one_of(values, negate)
        if negate:
            raise QueryError(f"expected LIKE or IN after NOT at character {field_token.position + 1}")
        operator = self.expect("op").text
        return comparison.compare(operator, self.value())


def compile_query_string(query: str, resolver: FieldResolver) -> Predicate:
    """A readByQuery ``<query>``; empty matches every record."""
    if not query.strip():
        return lambda record: True
    return _LegacyParser(query, resolver).parse()


# --- query: the structured <filter> -------------------------------------------------------------

_STRUCTURED = {
    "equalto": "=",
    "notequalto": "!=",
    "lessthan": "<",
    "lessthanorequalto": "<=",
    "greaterthan": ">",
    "greaterthanorequalto": ">=",
}


def _operands(node: etree._Element) -> tuple[str, list[str]]:
    fields = [(c.text or "").strip() for c in node if c.tag == "field"]
    values = [c.text or "" for c in node if c.tag == "value"]
    others = [c.tag for c in node if c.tag not in ("field", "value")]
    if len(fields) != 1 or not fields[0] or others:
        raise QueryError(f"<{node.tag}> needs exactly one <field> and its <value> elements")
    return fields[0], values


def _structured(node: etree._Element, resolver: FieldResolver, case_insensitive: bool) -> Predicate:
    tag = node.tag
    if tag in ("and", "or"):
        parts = [_structured(c, resolver, case_insensitive) for c in node]
        if not parts:
            raise QueryError(f"<{tag}> needs at least one condition")
        if tag == "and":
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)
    if tag not in _STRUCTURED and tag not in (
        "between",
        "in",
        "notin",
        "like",
        "notlike",
        "isnull",
        "isnotnull",
    ):
        raise QueryError(f"unknown filter operator <{tag}>")
    path, values = _operands(node)
    comparison = _resolve(resolver, path, case_insensitive)
    if tag in ("isnull", "isnotnull"):
        if values:
            raise QueryError(f"<{tag}> takes no <value>")
        return comparison.is_null(negate=tag == "isnotnull")
    if tag in ("in", "notin"):
        if not values or len(values) > MAX_IN_VALUES:
            raise QueryError(f"<{tag}> takes 1 to {MAX_IN_VALUES} <value> elements, got {len(values)}")
        return comparison.one_of(values, negate=tag == "notin")
    if tag == "between":
        if len(values) != 2:
            raise QueryError("<between> takes exactly two <value> elements")
        low, high = comparison.compare(">=", values[0]), comparison.compare("<=", values[1])
        return lambda record: low(record) and high(record)
    if len(values) != 1:
        raise QueryError(f"<{tag}> takes exactly one <value>")
    if tag in ("like", "notlike"):
        return comparison.like(values[0], negate=tag == "notlike")
    return comparison.compare(_STRUCTURED[tag], values[0])


def compile_filter(node: etree._Element | None, resolver: FieldResolver, case_insensitive: bool) -> Predicate:
    """A query ``<filter>`` (one condition, possibly an and/or tree); None matches everything."""
    if node is None:
        return lambda record: True
    conditions = list(node)
    if len(conditions) != 1:
        raise QueryError("<filter> holds exactly one condition (combine several with <and> or <or>)")
    return _structured(conditions[0], resolver, case_insensitive)


def sort_key(spec: Field, path: str) -> Callable[[Record], tuple[int, Any]]:
    """A key that orders records by a field, NULLs first."""

    def key(record: Record) -> tuple[int, Any]:
        found = get_path(record, path)
        if found is None or found == "" or not isinstance(found, str):
            return (0, "")
        value = _sortable(spec.kind, found)
        rank = 1 if isinstance(value, Decimal) else 2 if isinstance(value, datetime) else 3
        return (rank, value)

    return key
