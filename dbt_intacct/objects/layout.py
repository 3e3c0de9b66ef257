"""Function body layouts: which element holds which field, in which order, and how a row fills them.

A layout is a tuple of nodes written in order, so legacy functions come out in their fixed element order
whatever order the row's dict has. The same nodes drive the XSD generator (`schema.py`).

Values arrive keyed by mapping path (`DISPLAYCONTACT.EMAIL1`) or as nested dicts; `None` leaves the
element out, `""` writes an empty element (which clears the value on update).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any, TypeAlias

from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects.fields import FieldSpec, FieldType, LineArraySpec, RecordRef, spec
from dbt_intacct.objects.formatting import (
    InvalidValue,
    check_xml_text,
    describe,
    format_custom_value,
    format_value,
    formatter_for,
    is_element_name,
    round_money,
    to_date,
    to_decimal,
)
from dbt_intacct.objects.formatting import decimal_text as _decimal_text
from dbt_intacct.objects.naming import closest

CUSTOM_KEY = "customfields"
_CUSTOM_PREFIX = CUSTOM_KEY + "."

Element: TypeAlias = etree._Element
_SubElement = etree.SubElement


class Style(enum.Enum):
    """Generic (3.0) functions take MM/DD/YYYY dates and plain custom elements; legacy ones do not."""

    GENERIC = "generic"
    LEGACY = "legacy"


class BuildState:
    """What one build needs besides the row: style, checks, the record being updated, deferred elements."""

    __slots__ = ("check", "deferred", "existing_lines", "ref", "style")

    def __init__(
        self,
        style: Style,
        check: bool,
        ref: RecordRef | None = None,
        existing_lines: Mapping[str, int] | None = None,
    ) -> None:
        self.style = style
        self.check = check
        self.ref = ref
        self.existing_lines = existing_lines
        # Generic custom fields are not in the XSD (they are the company's own): they are inserted at
        # their place after validation, as (parent, index, elements).
        self.deferred: list[tuple[Element, int, list[Element]]] = []


def checked_key(key: str) -> str:
    """A record key (RECORDNO, ID, DOCID) as it is written, refused if XML cannot carry it."""
    try:
        return check_xml_text(key)
    except InvalidValue as exc:
        raise RowRejected(None, f"the record key {exc.reason}") from None


def _rejected(path: str, exc: InvalidValue) -> RowRejected:
    return RowRejected(path, exc.reason)


def _line_path(key: str, index: int, inner: str | None) -> str:
    return f"{key}[{index}].{inner}" if inner else f"{key}[{index}]"


def _is_empty(value: Any) -> bool:
    return value is None or (value.__class__ is str and not value)


# --- nodes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One field written as one element (or as year/month/day children for a legacy date)."""

    element: str
    field: FieldSpec
    # Derived once: the hot loop reads them for every field of every row.
    path: str = dataclass_field(init=False, compare=False, repr=False)
    formatter: Callable[[FieldSpec, Any], str] = dataclass_field(init=False, compare=False, repr=False)
    is_date: bool = dataclass_field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", self.field.path)
        object.__setattr__(self, "formatter", formatter_for(self.field.type))
        object.__setattr__(self, "is_date", self.field.type is FieldType.DATE)

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Append this field's element when the row gives it a value."""
        value = flat.get(self.path)
        if value is not None:
            self.write_value(value, parent, build)

    def write_value(self, value: Any, parent: Element, build: BuildState) -> None:
        """Append this field's element for a (non-None) value."""
        element = _SubElement(parent, self.element)
        if value.__class__ is str and not value:
            return
        try:
            if self.is_date and build.style is Style.LEGACY:
                day = to_date(value)
                _SubElement(element, "year").text = f"{day.year:04d}"
                _SubElement(element, "month").text = f"{day.month:02d}"
                _SubElement(element, "day").text = f"{day.day:02d}"
            else:
                text = self.formatter(self.field, value)
                if text:
                    element.text = text
        except InvalidValue as exc:
            raise _rejected(self.path, exc) from None


def write_nodes(nodes: Iterable[Node], flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
    """Write nodes in order; absent fields are skipped inline (most of a catalogue is absent in a row)."""
    get = flat.get
    for node in nodes:
        if node.__class__ is Leaf:
            value = get(node.path)  # type: ignore[union-attr]
            if value is not None:
                node.write_value(value, parent, build)  # type: ignore[union-attr]
        else:
            node.write(flat, parent, build)


@dataclass(frozen=True)
class Group:
    """A nested element (DISPLAYCONTACT, MAILADDRESS, billto) written only when one of its fields is."""

    element: str
    children: tuple[Node, ...]
    paths: frozenset[str] = dataclass_field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", frozenset(_leaf_paths(self.children)))

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Append the group with the fields the row gives."""
        if self.paths.isdisjoint(flat):
            return
        write_nodes(self.children, flat, _SubElement(parent, self.element), build)


@dataclass(frozen=True)
class Alternatives:
    """Adjacent fields of which one is needed on create (`required`) and/or at most one is sent."""

    leaves: tuple[Leaf, ...]
    required: bool
    exclusive: bool

    @property
    def names(self) -> str:
        """The alternatives' mapping paths, for messages."""
        return ", ".join(leaf.field.path for leaf in self.leaves)

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Write whichever alternatives the row gives (presence rules are checked by the shape)."""
        write_nodes(self.leaves, flat, parent, build)


@dataclass(frozen=True)
class CustomFieldsSlot:
    """Where custom fields go: the legacy `customfields` block, or plain elements in generic objects."""

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Write the row's custom fields (from its `customfields` entry) at this place."""
        custom = flat.get(CUSTOM_KEY)
        if not custom:
            return
        if build.style is Style.LEGACY:
            block: Element | None = None
            for field_id, value in custom.items():
                if value is None:
                    continue
                text = _custom_text(field_id, value)
                if block is None:
                    block = _SubElement(parent, "customfields")
                item = _SubElement(block, "customfield")
                _SubElement(item, "customfieldname").text = field_id
                value_element = _SubElement(item, "customfieldvalue")
                if text:
                    value_element.text = text
            return
        elements: list[Element] = []
        for field_id, value in custom.items():
            if value is None:
                continue
            element = etree.Element(field_id)
            text = _custom_text(field_id, value)
            if text:
                element.text = text
            elements.append(element)
        if elements:
            build.deferred.append((parent, len(parent), elements))


def _custom_text(field_id: str, value: Any) -> str:
    if value.__class__ is str and not value:
        return ""
    try:
        return format_custom_value(value)
    except InvalidValue as exc:
        raise _rejected(f"{_CUSTOM_PREFIX}{field_id}", exc) from None


@dataclass(frozen=True)
class SignedAmount:
    """A journal line's signed AMOUNT, written as TR_TYPE (1 debit, -1 credit) and the absolute TRX_AMOUNT."""

    field: FieldSpec
    type_element: str = "TR_TYPE"
    amount_element: str = "TRX_AMOUNT"

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Append TR_TYPE and TRX_AMOUNT derived from the signed amount."""
        value = flat.get(self.field.path)
        if value is None:
            return
        if value.__class__ is str and not value:
            # No amount: a debit with an empty amount, as the SDKs write an unset line.
            direction, text = "1", ""
        else:
            try:
                amount = round_money(to_decimal(value, "an amount"))
            except InvalidValue as exc:
                raise _rejected(self.field.path, exc) from None
            direction = "-1" if amount < 0 else "1"
            text = _decimal_text(abs(amount))
        _SubElement(parent, self.type_element).text = direction
        _SubElement(parent, self.amount_element).text = text


@dataclass(frozen=True)
class RecordKey:
    """The key of a generic update: RECORDNO when known, and/or the object's ID field."""

    id_leaf: Leaf

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Write RECORDNO and the ID the update is keyed on."""
        ref = build.ref or RecordRef()
        spec_ = self.id_leaf.field
        value = flat.get(spec_.path)
        recordno = None if ref.recordno is None else checked_key(str(ref.recordno))
        known_id = None if ref.id is None else checked_key(str(ref.id))
        if recordno:
            _SubElement(parent, "RECORDNO").text = recordno
        id_text: str | None = None
        if not _is_empty(value):
            try:
                id_text = format_value(spec_, value)
            except InvalidValue as exc:
                raise _rejected(spec_.path, exc) from None
            if not recordno and known_id is not None and id_text != known_id:
                raise RowRejected(
                    spec_.path,
                    f"the row's {spec_.path} {id_text!r} is not the matched record's {known_id!r}; without "
                    "the record's RECORDNO an update cannot change its ID",
                )
        elif known_id and not recordno:
            id_text = known_id
        elif not recordno:
            raise RowRejected(
                spec_.path, f"cannot update: neither the record's RECORDNO nor its {spec_.path} is known"
            )
        if id_text is not None:
            _SubElement(parent, self.id_leaf.element).text = id_text


@dataclass(frozen=True)
class Lines:
    """A line array: `<wrapper><item>..</item>...</wrapper>`, or bare repeated items without a wrapper."""

    wrapper: str | None
    item: str
    spec: LineArraySpec
    shape: Shape

    @property
    def item_shape(self) -> Shape:
        """The shape of one line."""
        return self.shape

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Append one item per line dict, each checked and written by the line shape."""
        key = self.spec.key
        lines = _line_list(key, flat.get(key))
        if lines is None:
            return
        if build.check:
            _check_line_count(self.spec, len(lines))
        container = _SubElement(parent, self.wrapper) if self.wrapper else parent
        for index, line in enumerate(lines):
            try:
                self.shape.write_line(line, _SubElement(container, self.item), build, creating=True)
            except RowRejected as exc:
                raise RowRejected(_line_path(key, index, exc.field), exc.reason) from None


@dataclass(frozen=True)
class PositionalLines:
    """Lines of a legacy update: line i (0-based) edits `<update_item line_num="i+1">` while the record has
    that many lines; the rest are added as new items."""

    wrapper: str
    update_item: str
    new_item: str
    spec: LineArraySpec
    update_shape: Shape
    new_shape: Shape
    function: str

    @property
    def item_shape(self) -> Shape:
        """The shape of a full line (as a new line is written)."""
        return self.new_shape

    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Append the update and new items; refuse a row that has fewer lines than the record."""
        key = self.spec.key
        lines = _line_list(key, flat.get(key))
        if not lines:
            return
        existing = None if build.existing_lines is None else build.existing_lines.get(key)
        if existing is not None and len(lines) < existing:
            # The function cannot delete a line. Sending the first lines only would leave the old extra
            # lines in the books, so the row is refused and the user decides (API.md 9.6 / 9.8).
            raise RowRejected(
                key,
                f"the row has {len(lines)} line(s) but the record in Intacct has {existing}; "
                f"{self.function} cannot delete lines, so nothing was sent: remove the extra lines in "
                "Intacct (or reverse the document and create it again), then run again",
            )
        # Unknown line count: every line updates its position. A position Intacct does not have is an
        # error there, never a silently duplicated line.
        updates = len(lines) if existing is None else existing
        container = _SubElement(parent, self.wrapper)
        for index, line in enumerate(lines):
            try:
                if index < updates:
                    item = _SubElement(container, self.update_item, line_num=str(index + 1))
                    self.update_shape.write_line(line, item, build, creating=False)
                else:
                    item = _SubElement(container, self.new_item)
                    self.new_shape.write_line(line, item, build, creating=True)
            except RowRejected as exc:
                raise RowRejected(_line_path(key, index, exc.field), exc.reason) from None


def _line_list(key: str, lines: Any) -> list[Any] | tuple[Any, ...] | None:
    if lines is None or isinstance(lines, list | tuple):
        return lines
    raise RowRejected(key, f"expected a list of lines, got {describe(lines)}")


def _check_line_count(line_spec: LineArraySpec, count: int) -> None:
    if count < line_spec.min_lines:
        raise RowRejected(line_spec.key, f"needs at least {line_spec.min_lines} line(s), got {count}")
    if line_spec.max_lines is not None and count > line_spec.max_lines:
        raise RowRejected(line_spec.key, f"takes at most {line_spec.max_lines} line(s), got {count}")


Node: TypeAlias = (
    Leaf | Group | Alternatives | CustomFieldsSlot | SignedAmount | RecordKey | Lines | PositionalLines
)


def _leaf_paths(nodes: Iterable[Node]) -> Iterable[str]:
    for node in nodes:
        if isinstance(node, Leaf | SignedAmount):
            yield node.field.path
        elif isinstance(node, RecordKey):
            yield node.id_leaf.field.path
        elif isinstance(node, Group):
            yield from node.paths
        elif isinstance(node, Alternatives):
            yield from (leaf.field.path for leaf in node.leaves)
        elif isinstance(node, Lines | PositionalLines):
            yield node.spec.key


def walk_fields(nodes: Iterable[Node]) -> Iterable[FieldSpec]:
    """Every field spec of these nodes at this level (not inside line arrays), in layout order."""
    for node in nodes:
        if isinstance(node, Leaf | SignedAmount):
            yield node.field
        elif isinstance(node, RecordKey):
            yield node.id_leaf.field
        elif isinstance(node, Group):
            yield from walk_fields(node.children)
        elif isinstance(node, Alternatives):
            yield from (leaf.field for leaf in node.leaves)


def walk_lines(nodes: Iterable[Node]) -> Iterable[Lines | PositionalLines]:
    """The line arrays of these nodes at this level."""
    for node in nodes:
        if isinstance(node, Lines | PositionalLines):
            yield node
        elif isinstance(node, Group):
            yield from walk_lines(node.children)


# --- shapes -------------------------------------------------------------------------------------------


class Shape:
    """The nodes of a function body (or of one line item) plus what is derived from them once."""

    def __init__(
        self,
        nodes: Iterable[Node],
        *,
        style: Style,
        label: str,
        aliases: Mapping[str, str] | None = None,
        hints: Mapping[str, str] | None = None,
    ) -> None:
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.style = style
        self.label = label  # "create_invoice", "a line of ENTRIES": how messages name this shape
        self.aliases: Mapping[str, str] = dict(aliases or {})
        # What to say about names a user may reach for that are not fields here (TR_TYPE of a journal line).
        self.hints: Mapping[str, str] = dict(hints or {})
        self.fields: dict[str, FieldSpec] = {f.path: f for f in walk_fields(self.nodes)}
        self.line_nodes: dict[str, Lines | PositionalLines] = {n.spec.key: n for n in walk_lines(self.nodes)}
        self.paths: frozenset[str] = frozenset(self.fields) | frozenset(self.line_nodes)
        self.has_custom = any(isinstance(n, CustomFieldsSlot) for n in self.nodes)
        self.required: tuple[FieldSpec, ...] = tuple(f for f in self.fields.values() if f.required_on_create)
        self.alternatives: tuple[Alternatives, ...] = tuple(_walk_alternatives(self.nodes))
        self.required_lines: tuple[LineArraySpec, ...] = tuple(
            n.spec for n in self.line_nodes.values() if n.spec.min_lines > 0
        )
        self.group_paths: frozenset[str] = frozenset(
            path.rsplit(".", depth)[0] for path in self.fields for depth in range(1, path.count(".") + 1)
        )
        self.element_names: frozenset[str] = frozenset(_element_names(self.nodes))
        self._pruned: dict[frozenset[str], tuple[Node, ...]] = {}

    # -- reading a row --------------------------------------------------------------------------------
    def flatten(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The row keyed by mapping path, without None values; unknown keys are refused."""
        flat: dict[str, Any] = {}
        paths = self.paths
        for key, value in values.items():
            if key in paths:
                if value is not None:
                    flat[key] = value
            elif key in self.group_paths:
                # A nested group given whole (a struct column): NULL leaves all its fields out.
                if isinstance(value, Mapping):
                    self._flatten_group(key, value, flat)
                elif value is not None:
                    raise RowRejected(key, f"expected the fields of {key} as a struct, got {describe(value)}")
            elif (
                self.has_custom
                and isinstance(key, str)
                and (key == CUSTOM_KEY or key.startswith(_CUSTOM_PREFIX))
            ):
                self._collect_custom(key, value, flat)
            elif key in self.aliases:
                if value is not None:
                    flat[self.aliases[key]] = value
            else:
                raise self.unknown(str(key))
        return flat

    def _flatten_group(self, prefix: str, values: Mapping[str, Any], flat: dict[str, Any]) -> None:
        for name, value in values.items():
            path = f"{prefix}.{name}"
            if path in self.group_paths and (value is None or isinstance(value, Mapping)):
                if value is not None:
                    self._flatten_group(path, value, flat)
            elif path in self.paths:
                if value is not None:
                    flat[path] = value
            else:
                raise self.unknown(path)

    def _collect_custom(self, key: str, value: Any, flat: dict[str, Any]) -> None:
        custom: dict[str, Any] = flat.setdefault(CUSTOM_KEY, {})
        if key == CUSTOM_KEY:
            if value is None:
                return
            if not isinstance(value, Mapping):
                raise RowRejected(key, f"expected custom fields as {{ID: value}}, got {describe(value)}")
            custom.update(value)
        else:
            custom[key[len(_CUSTOM_PREFIX) :]] = value
        self.check_custom_ids(custom)

    def check_custom_ids(self, custom: Mapping[str, Any]) -> None:
        """Refuse custom field IDs that cannot be element names or that shadow a standard element."""
        for field_id in custom:
            problem = self.custom_id_problem(field_id)
            if problem:
                raise RowRejected(f"{_CUSTOM_PREFIX}{field_id}", problem)

    def custom_id_problem(self, field_id: Any) -> str | None:
        """Why a custom field ID is unusable here, or None."""
        if not isinstance(field_id, str) or not is_element_name(field_id):
            return (
                f"custom field ID {field_id!r} is not a valid XML element name (ASCII letters, digits, "
                "'_', '-', '.', not starting with a digit)"
            )
        if self.style is Style.GENERIC and field_id in self.element_names:
            return f"custom field ID {field_id!r} is a standard field here; map it as a field instead"
        return None

    def unknown(self, key: str) -> RowRejected:
        """The rejection for a key this shape does not have, with the closest names."""
        if key in self.hints:
            return RowRejected(key, f"{self.label} has no field '{key}': {self.hints[key]}")
        found = closest(key, sorted(self.paths | set(self.aliases)))
        hint = f"; did you mean {' or '.join(found)}?" if found else ""
        return RowRejected(key, f"{self.label} has no field '{key}'{hint}")

    def check_presence(self, flat: Mapping[str, Any], creating: bool) -> None:
        """Required fields, one-of and only-one-of rules (the row checks that `check=False` skips)."""
        if creating:
            for required in self.required:
                if _is_empty(flat.get(required.path)):
                    raise RowRejected(required.path, "missing required field")
            for line_spec in self.required_lines:
                if flat.get(line_spec.key) is None:
                    raise RowRejected(
                        line_spec.key, f"missing required lines (at least {line_spec.min_lines})"
                    )
        for alternatives in self.alternatives:
            present = [
                leaf.field.path for leaf in alternatives.leaves if not _is_empty(flat.get(leaf.field.path))
            ]
            if alternatives.exclusive and len(present) > 1:
                raise RowRejected(present[1], f"give only one of {alternatives.names}, not both")
            if creating and alternatives.required and not present:
                raise RowRejected(
                    alternatives.leaves[0].field.path,
                    f"missing required field: give one of {alternatives.names}",
                )

    # -- writing --------------------------------------------------------------------------------------
    def write(self, flat: Mapping[str, Any], parent: Element, build: BuildState) -> None:
        """Append this shape's elements for the row to `parent`, in layout order."""
        write_nodes(self._nodes_for(flat), flat, parent, build)

    def _nodes_for(self, flat: Mapping[str, Any]) -> tuple[Node, ...]:
        """The nodes a row with these keys can write: a catalogue has up to 70 fields, a row maps a
        dozen, and the rows of a model share a few key sets, so the pruned layout is kept per set."""
        keys = frozenset(flat)
        nodes = self._pruned.get(keys)
        if nodes is None:
            nodes = _prune(self.nodes, keys)
            if len(self._pruned) < _PRUNED_PER_SHAPE:
                self._pruned[keys] = nodes
        return nodes

    def write_line(self, line: Any, item: Element, build: BuildState, *, creating: bool) -> None:
        """Fill one line item from a line dict."""
        if not isinstance(line, Mapping):
            raise RowRejected(None, f"expected a line (a struct or object), got {describe(line)}")
        flat = self.flatten(line)
        if build.check:
            self.check_presence(flat, creating)
        self.write(flat, item, build)


# Distinct key sets kept per shape; past that, a row's pruned layout is computed and not kept.
_PRUNED_PER_SHAPE = 256


def _prune(nodes: Iterable[Node], keys: frozenset[str]) -> tuple[Node, ...]:
    """`nodes` without the leaves and groups that none of `keys` reaches (the others stay as they are)."""
    kept: list[Node] = []
    for node in nodes:
        if node.__class__ is Leaf:
            if node.path in keys:  # type: ignore[union-attr]
                kept.append(node)
        elif node.__class__ is Group:
            group: Group = node  # type: ignore[assignment]
            if not group.paths.isdisjoint(keys):
                kept.append(Group(group.element, _prune(group.children, keys)))
        else:
            kept.append(node)
    return tuple(kept)


def _walk_alternatives(nodes: Iterable[Node]) -> Iterable[Alternatives]:
    for node in nodes:
        if isinstance(node, Alternatives):
            yield node
        elif isinstance(node, Group):
            yield from _walk_alternatives(node.children)


def _element_names(nodes: Iterable[Node]) -> Iterable[str]:
    for node in nodes:
        if isinstance(node, Leaf | Group):
            yield node.element
        elif isinstance(node, Alternatives):
            yield from (leaf.element for leaf in node.leaves)
        elif isinstance(node, SignedAmount):
            yield from (node.type_element, node.amount_element)
        elif isinstance(node, RecordKey):
            yield from ("RECORDNO", node.id_leaf.element)
        elif isinstance(node, Lines):
            yield node.wrapper or node.item
        elif isinstance(node, PositionalLines):
            yield node.wrapper


# --- building layouts ---------------------------------------------------------------------------------
# Catalogues are written with these: leaves named by their element, groups prefixing their children's
# mapping paths, so `group("DISPLAYCONTACT", group("MAILADDRESS", text("CITY")))` yields the field
# `DISPLAYCONTACT.MAILADDRESS.CITY`.


def leaf(
    name: str,
    type: FieldType,
    *,
    required: bool = False,
    max_length: int | None = None,
    identifying: bool = False,
    clearable: bool | None = None,
    choices: tuple[str, ...] = (),
    doc: str = "",
) -> Leaf:
    """A field written as the element `name` (its mapping key, before any group prefix)."""
    return Leaf(
        element=name,
        field=spec(
            name,
            type,
            required=required,
            max_length=max_length,
            identifying=identifying,
            clearable=clearable,
            choices=choices,
            doc=doc,
        ),
    )


def text(name: str, max_length: int | None = None, **options: Any) -> Leaf:
    """A text field."""
    return leaf(name, FieldType.TEXT, max_length=max_length, **options)


def money(name: str, **options: Any) -> Leaf:
    """An amount, rounded half-up to cents."""
    return leaf(name, FieldType.DECIMAL, **options)


def quantity(name: str, **options: Any) -> Leaf:
    """A decimal written as given (quantities, unit prices, rates, percentages)."""
    return leaf(name, FieldType.QUANTITY, **options)


def integer(name: str, **options: Any) -> Leaf:
    """A whole number (record numbers, batch keys)."""
    return leaf(name, FieldType.INTEGER, **options)


def boolean(name: str, **options: Any) -> Leaf:
    """true / false."""
    return leaf(name, FieldType.BOOLEAN, **options)


def date_(name: str, **options: Any) -> Leaf:
    """A date (MM/DD/YYYY generic, split legacy)."""
    return leaf(name, FieldType.DATE, **options)


def status(name: str = "STATUS", **options: Any) -> Leaf:
    """active / inactive."""
    return leaf(name, FieldType.STATUS, **options)


def choice(name: str, *choices: str, **options: Any) -> Leaf:
    """One of a fixed set of values."""
    return leaf(name, FieldType.ENUM, choices=choices, **options)


def multiselect(name: str, *choices: str, **options: Any) -> Leaf:
    """A list of values joined with '#~#' (optionally restricted to `choices`)."""
    return leaf(name, FieldType.MULTISELECT, choices=choices, **options)


def group(element: str, *children: Node, path: str | None = None) -> Group:
    """A nested element; its children's mapping paths are prefixed with `path` (default: the element)."""
    prefix = (path or element) + "."
    return Group(element=element, children=tuple(_prefixed(child, prefix) for child in children))


def one_of(*leaves: Leaf, required: bool, exclusive: bool) -> Alternatives:
    """Adjacent alternatives (glaccountno | accountlabel, exchratetype | exchrate, datedue / termname)."""
    return Alternatives(leaves=leaves, required=required, exclusive=exclusive)


def _prefixed(node: Node, prefix: str) -> Node:
    if isinstance(node, Leaf):
        return replace(node, field=replace(node.field, path=prefix + node.field.path))
    if isinstance(node, Group):
        return Group(element=node.element, children=tuple(_prefixed(c, prefix) for c in node.children))
    if isinstance(node, Alternatives):
        return replace(
            node,
            leaves=tuple(
                replace(lf, field=replace(lf.field, path=prefix + lf.field.path)) for lf in node.leaves
            ),
        )
    raise TypeError(f"cannot nest {type(node).__name__} in a group")


def line_array(
    key: str,
    item: str,
    *nodes: Node,
    style: Style,
    wrapper: str | None = None,
    min_lines: int = 1,
    max_lines: int | None = None,
    hints: Mapping[str, str] | None = None,
) -> Lines:
    """A line array fed by mapping key `key`, written `<wrapper><item>...` (the wrapper defaults to key;
    "" means bare repeated items)."""
    shape = Shape(nodes, style=style, label=f"a line of {key}", hints=hints)
    line_spec = LineArraySpec(
        key=key,
        fields=shape.fields,
        min_lines=min_lines,
        max_lines=max_lines,
        lines={k: n.spec for k, n in shape.line_nodes.items()},
        custom_fields=shape.has_custom,
    )
    return Lines(
        wrapper=key if wrapper is None else (wrapper or None), item=item, spec=line_spec, shape=shape
    )


def positional_lines(
    lines: Lines, *, wrapper: str, update_item: str, new_item: str, function: str
) -> PositionalLines:
    """The update form of a line array: edit lines by 1-based position, add the rest."""
    update_shape = Shape(
        _optional(lines.shape.nodes),
        style=lines.shape.style,
        label=lines.shape.label,
        hints=lines.shape.hints,
    )
    return PositionalLines(
        wrapper=wrapper,
        update_item=update_item,
        new_item=new_item,
        spec=lines.spec,
        update_shape=update_shape,
        new_shape=lines.shape,
        function=function,
    )


def _optional(nodes: Iterable[Node]) -> tuple[Node, ...]:
    """The same nodes with nothing required (an updated line sends only what changes)."""
    result: list[Node] = []
    for node in nodes:
        if isinstance(node, Leaf):
            result.append(replace(node, field=replace(node.field, required_on_create=False)))
        elif isinstance(node, Group):
            result.append(Group(element=node.element, children=_optional(node.children)))
        elif isinstance(node, Alternatives):
            result.append(replace(node, required=False))
        else:
            result.append(node)
    return tuple(result)


# --- functions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionLayout:
    """One function an object is written with: its element, its body shape, and how it is keyed."""

    name: str  # the function element: create, update, create_invoice, update_sotransaction ...
    shape: Shape
    object_element: str | None = None  # generic functions wrap the body in <CUSTOMER>, <GLBATCH> ...
    creating: bool = True
    # Attributes of a legacy update's function element: (name, required), e.g. ("key", True).
    attributes: tuple[tuple[str, bool], ...] = ()
    # (target, source): a missing target takes the source's value (PRINTAS from NAME), on create and
    # on update alike.
    defaults: tuple[tuple[str, str], ...] = ()

    @property
    def style(self) -> Style:
        """Generic or legacy, as the body shape is written."""
        return self.shape.style


@dataclass(frozen=True)
class DeleteForm:
    """One way to delete a record: generic `delete` by RECORDNO, or a legacy `delete_*` by attribute."""

    function: str  # "delete" or e.g. "delete_customer"
    uses: str  # "recordno" or "id": which part of the RecordRef keys it
    attribute: str | None = None  # legacy: the attribute carrying the key
