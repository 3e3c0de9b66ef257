"""What every Intacct object module provides: its catalogue, its functions, and the builders over them.

An object is a small set of `FunctionLayout`s (create, update, their legacy forms) whose layouts are the field
catalogue, plus the ways it is deleted and read back. Every body a builder returns has been checked field
by field (types, lengths, required fields, one-of rules, line counts) and against the object's XSD; a row
that cannot become a valid body raises `RowRejected` naming the mapping path at fault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from lxml import etree

from dbt_intacct.errors import ConfigError, RowRejected
from dbt_intacct.objects import schema
from dbt_intacct.objects.fields import FieldSpec, FieldType, LineArraySpec, NaturalKey, RecordRef
from dbt_intacct.objects.layout import (
    CUSTOM_KEY,
    BuildState,
    DeleteForm,
    Element,
    FunctionLayout,
    Shape,
    Style,
    checked_key,
)
from dbt_intacct.objects.naming import closest

__all__ = [
    "FieldSpec",
    "FieldType",
    "IntacctObject",
    "LineArraySpec",
    "NaturalKey",
    "RecordRef",
]

CustomFieldStyle = Literal["generic", "legacy"]


class IntacctObject:
    """One of the seven objects: catalogue, modes, the builders of its function bodies, and how a sync
    treats its records (the order it syncs in, how a record is found again, adoption).

    Policy, declared by each object so that the sync engine never names an object:

    - `sync_rank`: models sync in ascending rank, so that records others refer to exist first
      (customers before contacts and invoices, invoices before the payments applied to them);
    - `natural_keys`: the fields that find a created record again when its answer was lost, in the
      order they are tried, and where the create carries each value;
    - `adopts_existing`: an insert-only row the state does not know adopts the record Intacct already
      holds under its natural key instead of posting it again (money records);
    - `external_reference_key`: the create field in which the tool writes its own reference to the
      row (`dbti-` and a digest), unless the model maps it, so that such a record can always be found.
    """

    def __init__(
        self,
        *,
        name: str,
        intacct_object: str,
        sync_rank: int,
        modes: Iterable[str],
        delete_behaviours: Iterable[str],
        id_field: str | None,
        id_mapping_key: str | None,
        custom_fields: CustomFieldStyle | None,
        create: FunctionLayout,
        update: FunctionLayout | None = None,
        other_functions: Sequence[FunctionLayout] = (),
        deletes: Sequence[DeleteForm] = (),
        result_element: str | None = None,
        read_fields: Iterable[str] = (),
        natural_keys: Sequence[NaturalKey] = (),
        adopts_existing: bool = False,
        external_reference_key: str | None = None,
    ) -> None:
        self.name = name
        self.intacct_object = intacct_object  # the object name read and query use
        self.sync_rank = sync_rank
        self.natural_keys = tuple(natural_keys)
        self.adopts_existing = adopts_existing
        self.external_reference_key = external_reference_key
        self.modes = frozenset(modes)
        self.delete_behaviours = frozenset(delete_behaviours)
        self.id_field = id_field  # the natural ID as the object's query knows it
        self.id_mapping_key = id_mapping_key  # the mapping key carrying that ID on create
        self.custom_fields = custom_fields
        self.create = create
        self.update = update
        self.functions: tuple[FunctionLayout, ...] = (
            create,
            *((update,) if update else ()),
            *other_functions,
        )
        self.deletes = tuple(deletes)
        # Generic creates answer data/<result_element>/{RECORDNO, ID}; legacy ones a bare <key>.
        self.result_element = result_element
        fields: dict[str, FieldSpec] = {}
        lines: dict[str, LineArraySpec] = {}
        for function in self.functions:
            for path, field in function.shape.fields.items():
                fields.setdefault(path, field)
            for key, node in function.shape.line_nodes.items():
                lines.setdefault(key, node.spec)
        self.fields: Mapping[str, FieldSpec] = fields
        self.lines: Mapping[str, LineArraySpec] = lines
        self._read_fields = frozenset(read_fields) or frozenset(create.shape.fields)

    def __repr__(self) -> str:
        return f"<IntacctObject {self.name} ({self.intacct_object})>"

    # -- the user's mapping ---------------------------------------------------------------------------
    def matchable_fields(self) -> list[str]:
        """Fields a `match.field` may name: what the object's query knows (RECORDNO, the ID, ...)."""
        names = {"RECORDNO", *self._read_fields}
        if self.id_field:
            names.add(self.id_field)
        return sorted(names)

    def check_mapping(self, keys: Iterable[str], custom_field_ids: Iterable[str], mode: str) -> list[str]:
        """Problems in a model's mapping for `mode`, each a sentence naming the key and what would be right.

        Keys are mapping keys; line fields may be given as `<array key>.<line field>` to check them too.
        Create modes also report missing required fields.
        """
        if mode not in self.modes:
            return [f"{self.name} does not allow mode '{mode}'; it allows: {', '.join(sorted(self.modes))}"]
        keys = [str(key) for key in keys]
        functions = self._functions_for_mode(mode, keys)
        problems: list[str] = []
        for key in keys:
            problem = self._key_problem(key, functions)
            if problem:
                problems.append(problem)
        for function in functions:
            if function.creating:
                problems.extend(self._missing_required(function, keys))
        problems.extend(self._custom_field_problems(list(custom_field_ids), functions))
        return self._mapping_rules(keys, problems)

    def _mapping_rules(self, keys: Sequence[str], problems: list[str]) -> list[str]:
        """Hook: adjust the problems found in a mapping with rules across its keys (none by default)."""
        return problems

    def _functions_for_mode(self, mode: str, keys: Sequence[str]) -> list[FunctionLayout]:
        if mode == "insert":
            return [self.create]
        if mode == "update":
            return [self._update_function()]
        return [self.create, self._update_function()]

    def _key_problem(self, key: str, functions: Sequence[FunctionLayout]) -> str | None:
        for function in functions:
            if _shape_knows(function.shape, key):
                continue
            if any(_shape_knows(f.shape, key) for f in self.functions):
                return f"'{key}' cannot be sent with {function.name}, which {self.name} uses for this mode"
            return self._unknown_message(key, function.shape)
        return None

    def _unknown_message(self, key: str, shape: Shape) -> str:
        head, _, rest = key.partition(".")
        lines = shape.line_nodes.get(head)
        if lines is not None and rest:
            shape, name, where = lines.item_shape, rest, f"{head} lines of {self.name}"
        else:
            name, where = key, self.name
        if name in shape.hints:
            return f"'{name}' is not a field of {where}: {shape.hints[name]}"
        found = closest(name, sorted(shape.paths | shape.group_paths | set(shape.aliases)))
        hint = f"; did you mean {' or '.join(found)}?" if found else ""
        return f"unknown field '{name}' on {where}{hint}"

    def _missing_required(self, function: FunctionLayout, keys: Sequence[str]) -> list[str]:
        given = set(keys)
        # A default's target is satisfied by its source; a missing required source is reported itself.
        required = {field.path for field in function.shape.required}
        given.update(target for target, source in function.defaults if source in given or source in required)
        given.update(function.shape.aliases.get(key, key) for key in keys)
        return _missing_in_shape(function.shape, given, function.name, self.name, "")

    def _custom_field_problems(self, ids: Sequence[str], functions: Sequence[FunctionLayout]) -> list[str]:
        if not ids:
            return []
        if self.custom_fields is None:
            return [f"{self.name} does not take custom fields"]
        problems: list[str] = []
        for function in functions:
            shape = function.shape
            if not shape.has_custom:
                arrays = [k for k, n in shape.line_nodes.items() if n.spec.custom_fields]
                where = f" (map them per line as {arrays[0]}.customfields.<ID>)" if arrays else ""
                problems.append(f"{function.name} takes custom fields only on its lines{where}")
                continue
            for field_id in ids:
                problem = shape.custom_id_problem(field_id)
                if problem and problem not in problems:
                    problems.append(problem)
        return problems

    def update_takes_custom_fields(self) -> bool:
        """Whether the update function carries custom fields (so that one can be sent empty)."""
        return self._update_function().shape.has_custom

    def clearable_fields(self, field_paths: Iterable[str]) -> list[str]:
        """The paths `build_clear` would empty: fields the update can send, clearable, not identifying."""
        function = self._update_function()
        shape = function.shape
        result: list[str] = []
        legacy = function.style is Style.LEGACY
        for path in field_paths:
            path = shape.aliases.get(path, path)
            field = shape.fields.get(path)
            if field is None or not field.clearable or field.identifying or path in result:
                continue
            if legacy and field.type is FieldType.DATE:
                # A legacy date is a <year>/<month>/<day> block: an empty one is a schema error, not a clear.
                continue
            result.append(path)
        return result

    # -- builders -------------------------------------------------------------------------------------
    def build_create(
        self, values: Mapping[str, Any], custom_fields: Mapping[str, Any], *, check: bool = True
    ) -> Element:
        """The create function body for a row (`check=False` skips the row checks and the XSD)."""
        return self._build_create(values, custom_fields, check=check)

    def _build_create(
        self, values: Mapping[str, Any], custom_fields: Mapping[str, Any], *, check: bool
    ) -> Element:
        """Hook: the create body of a row; an object with several create functions chooses here."""
        return self._build(self.create, values, custom_fields, check=check)

    def build_update(
        self,
        ref: RecordRef,
        values: Mapping[str, Any],
        custom_fields: Mapping[str, Any],
        *,
        existing_lines: Mapping[str, int] | None = None,
        check: bool = True,
    ) -> Element:
        """The update function body for a row and the record it updates.

        `existing_lines` gives, per line array, how many lines the record has in Intacct now (known
        from the last write): legacy updates edit lines by position and can only add lines, so a row
        with fewer lines than that is rejected. Unknown, every line updates its position.
        """
        function = self._update_function()
        attributes = self._update_attributes(ref) if function.attributes else {}
        return self._build(
            function,
            values,
            custom_fields,
            check=check,
            ref=ref,
            existing_lines=existing_lines,
            attributes=attributes,
        )

    def build_clear(
        self, ref: RecordRef, field_paths: Iterable[str], custom_field_ids: Iterable[str]
    ) -> Element:
        """An update that empties every given clearable, non-identifying field and the custom fields."""
        values = dict.fromkeys(self.clearable_fields(field_paths), "")
        custom = dict.fromkeys(custom_field_ids, "") if self._update_function().shape.has_custom else {}
        return self.build_update(ref, values, custom)

    def build_delete(self, ref: RecordRef) -> Element:
        """Delete by RECORDNO (generic) or by the legacy function's key, whichever the ref allows first."""
        for form in self.deletes:
            key = ref.recordno if form.uses == "recordno" else ref.id
            if key is None or str(key) == "":
                continue
            key_text = checked_key(str(key))
            if form.attribute is not None:
                body = etree.Element(form.function, {form.attribute: key_text})
            else:
                body = etree.Element(form.function)
                etree.SubElement(body, "object").text = self.intacct_object
                etree.SubElement(body, "keys").text = key_text
            self.validate(body)
            return body
        if not self.deletes:
            raise ConfigError(f"{self.name} records cannot be deleted through this tool")
        needs = " or ".join(
            "its RECORDNO" if form.uses == "recordno" else f"its {self.id_field}" for form in self.deletes
        )
        raise RowRejected(None, f"cannot delete the {self.intacct_object}: {needs} is not known")

    # Whether a posted record is reversed by a new one (`delete: reverse`, `on_change: reverse`).
    reversible = False

    def build_reversal(self, posted: str, *, on: date, recordno: str | None) -> Element:
        """The create of the record that reverses a posted one (its create body as recorded), dated `on`."""
        raise ConfigError(f"{self.name} records cannot be reversed")

    def ref_from_result(self, data: Element | None, key: str | None) -> RecordRef:
        """The created record's RECORDNO/ID from a successful result (generic <data>, or legacy <key>).

        An empty RecordRef means the answer named no record.
        """
        if data is not None and self.result_element:
            record = data.find(self.result_element)
            if record is None:
                record = next((child for child in data if isinstance(child.tag, str)), None)
            if record is not None:
                recordno = _clean(record.findtext("RECORDNO"))
                natural_id = _clean(record.findtext(self.id_field)) if self.id_field else None
                if recordno or natural_id:
                    return RecordRef(recordno=recordno, id=natural_id)
        key = _clean(key)
        if key:
            return self._ref_from_key(key)
        return RecordRef()

    def _ref_from_key(self, key: str) -> RecordRef:
        return RecordRef(recordno=key)

    # -- finding a record again ----------------------------------------------------------------------
    def natural_key_of_values(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        """(query field, value) naming the record a row's create writes, from its mapped values."""
        for key in self.natural_keys:
            value = key.value_in(values)
            if value is not None:
                return key.field, value
        return None

    def natural_key_of_body(self, body: Element) -> tuple[str, str] | None:
        """The same, from a create function body (as sent, or as recorded with its intent)."""
        record = body.find(self.create.object_element) if self.create.object_element else body
        if record is None:
            return None
        values = {child.tag: child.text for child in record if isinstance(child.tag, str)}
        return self.natural_key_of_values(values)

    @staticmethod
    def external_reference(model_id: str, row_key: str) -> str:
        """The reference the tool writes on a create, stable for a model row (20 characters)."""
        return "dbti-" + hashlib.sha256(f"{model_id}\x1f{row_key}".encode()).hexdigest()[:15]

    def validate(self, body: Element) -> None:
        """Check a function body against this object's XSD; RowRejected names the field at fault."""
        schema.validate(self.name, self.functions, body)

    def render_xsd(self) -> str:
        """This object's XSD, generated from its catalogue."""
        return schema.render_xsd(self.intacct_object, self.functions, self.deletes)

    # -- internals ------------------------------------------------------------------------------------
    def _update_function(self) -> FunctionLayout:
        if self.update is None:
            raise ConfigError(
                f"{self.name} records cannot be updated (modes: {', '.join(sorted(self.modes))})"
            )
        return self.update

    def _update_attributes(self, ref: RecordRef) -> dict[str, str]:
        """The key attributes of a legacy update (`key="RECORDNO"`, or an external ID)."""
        if ref.recordno:
            return {"key": checked_key(str(ref.recordno))}
        if ref.external_id and any(name == "externalkey" for name, _ in self._update_function().attributes):
            return {"key": checked_key(ref.external_id), "externalkey": "true"}
        raise RowRejected(
            None,
            f"cannot update the {self.intacct_object}: {self._update_function().name} needs its RECORDNO",
        )

    def _row_rules(self, function: FunctionLayout, flat: Mapping[str, Any]) -> None:
        """Rules across fields or lines that the layout cannot express (run only with checks on)."""

    def _build(
        self,
        function: FunctionLayout,
        values: Mapping[str, Any],
        custom_fields: Mapping[str, Any] | None,
        *,
        check: bool,
        ref: RecordRef | None = None,
        existing_lines: Mapping[str, int] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Element:
        shape = function.shape
        flat = shape.flatten(values)
        for target, source in function.defaults:
            if flat.get(target) is None and flat.get(source) is not None:
                flat[target] = flat[source]
        if custom_fields:
            if not shape.has_custom:
                if any(value is not None for value in custom_fields.values()):
                    raise RowRejected(CUSTOM_KEY, f"{function.name} takes no custom fields here")
            else:
                shape.check_custom_ids(custom_fields)
                flat[CUSTOM_KEY] = {**flat.get(CUSTOM_KEY, {}), **custom_fields}
        if check:
            shape.check_presence(flat, function.creating)
        root = etree.Element(function.name, dict(attributes or {}))
        body = etree.SubElement(root, function.object_element) if function.object_element else root
        build = BuildState(function.style, check, ref, existing_lines)
        shape.write(flat, body, build)
        if check:
            self._row_rules(function, flat)
            self.validate(root)
        for parent, index, elements in build.deferred:
            for offset, element in enumerate(elements):
                parent.insert(index + offset, element)
        return root


def _shape_knows(shape: Shape, key: str) -> bool:
    if key in shape.paths or key in shape.aliases or key in shape.group_paths:
        return True
    head, _, rest = key.partition(".")
    if shape.has_custom and head == CUSTOM_KEY and rest:
        return True
    node = shape.line_nodes.get(head)
    if node is None or not rest:
        return False
    return _shape_knows(node.item_shape, rest)


def _missing_in_shape(
    shape: Shape, given: set[str], function: str, object_name: str, prefix: str
) -> list[str]:
    problems: list[str] = []

    def mapped(path: str) -> bool:
        if prefix + path in given:
            return True
        # A nested group of this shape mapped as a whole (a struct column) may hold the field.
        parts = path.split(".")
        return any(prefix + ".".join(parts[:i]) in given for i in range(1, len(parts)))

    for field in shape.required:
        if not mapped(field.path):
            problems.append(
                f"missing required field '{prefix}{field.path}' ({object_name} {function} needs it)"
            )
    for alternatives in shape.alternatives:
        if alternatives.required and not any(mapped(leaf.field.path) for leaf in alternatives.leaves):
            names = ", ".join(prefix + leaf.field.path for leaf in alternatives.leaves)
            problems.append(f"map one of {names} ({object_name} {function} needs one)")
    for key, node in shape.line_nodes.items():
        if node.spec.min_lines > 0 and not mapped(key):
            problems.append(f"missing required lines '{prefix}{key}' ({object_name} {function} needs them)")
        line_prefix = f"{prefix}{key}."
        if any(name.startswith(line_prefix) for name in given):
            problems.extend(_missing_in_shape(node.item_shape, given, function, object_name, line_prefix))
    return problems


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None
