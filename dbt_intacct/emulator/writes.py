"""Generic (3.0) writes: create, update and delete of CUSTOMER, CONTACT, GLBATCH and ARPYMT.

Elements may come in any order; an element that is not a field of the object (or a custom field the
reference data declares) is refused. Each object has its rules: required fields, references that
must exist, balanced journal lines, payments that fit what is due.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator import receivables
from dbt_intacct.emulator.catalogue import ObjectSpec, natural_id
from dbt_intacct.emulator.context import FunctionAnswer, FunctionContext
from dbt_intacct.emulator.fields import (
    Field,
    Kind,
    Record,
    ValueProblem,
    drop_blanks,
    get_path,
    merge_update,
    money,
    normalise_leaf,
    parse_us_date,
    us_timestamp,
)
from dbt_intacct.emulator.rules import Rules
from dbt_intacct.emulator.xmlio import write_value

Check = Callable[[Rules, Record], None]


def read_fields(
    rules: Rules, spec: ObjectSpec, fields: Mapping[str, Field], element: etree._Element, path: str, top: bool
) -> Record:
    """An object element as a record, refusing unknown or read-only elements and malformed values.

    Empty leaves are kept as "" so that an update can clear them.
    """
    out: Record = {}
    for node in element:
        name = node.tag
        where = f"{path}.{name}"
        field = fields.get(name)
        if field is None:
            raise errors.unknown_field(rules.label, rules.verb, where, spec.name)
        if field.readonly and not (top and name == "RECORDNO" and rules.verb == "update"):
            raise rules.fail(errors.UNKNOWN_FIELD, f"{where} is set by Intacct and cannot be written.")
        if name in out:
            raise rules.invalid(where, name, "the element only once")
        if field.kind is Kind.CONTAINER:
            out[name] = read_fields(rules, spec, field.by_name, node, where, top=False)
        elif field.kind is Kind.COLLECTION:
            items = []
            for item in node:
                if item.tag != field.item:
                    raise errors.unknown_field(rules.label, rules.verb, f"{where}.{item.tag}", spec.name)
                items.append(
                    read_fields(rules, spec, field.by_name, item, f"{where}.{field.item}", top=False)
                )
            out[name] = {field.item: items}
        else:
            if len(node):
                raise rules.invalid(where, f"<{node[0].tag}>", "a value, not elements")
            value = normalise_leaf(field, node.text or "")
            if isinstance(value, ValueProblem):
                raise rules.invalid(where, value.value, value.expected)
            out[name] = value
    return out


# --- each object's rules ---------------------------------------------------------------------------


def _check_customer(rules: Rules, record: Record) -> None:
    where = "CUSTOMER"
    rules.require(record.get("CUSTOMERID"), "CUSTOMERID", where)
    rules.require(record.get("NAME"), "NAME", where)
    rules.require(get_path(record, "DISPLAYCONTACT.PRINTAS"), "DISPLAYCONTACT.PRINTAS", where)
    rules.reference("payment_terms", record.get("TERMNAME"), "TERMNAME")
    rules.reference("gl_accounts", record.get("OFFSETGLACCOUNTNO"), "OFFSETGLACCOUNTNO")
    rules.reference("gl_accounts", record.get("ARACCOUNT"), "ARACCOUNT")


def _check_contact(rules: Rules, record: Record) -> None:
    rules.require(record.get("CONTACTNAME"), "CONTACTNAME", "CONTACT")
    rules.require(record.get("PRINTAS"), "PRINTAS", "CONTACT")


def _check_journal_entry(rules: Rules, record: Record) -> None:
    where = f"GLBATCH '{record.get('BATCH_TITLE', '')}'"
    for name in ("JOURNAL", "BATCH_DATE", "BATCH_TITLE", "ENTRIES"):
        rules.require(record.get(name), name, where)
    rules.reference("journals", record.get("JOURNAL"), "JOURNAL")
    rules.reference("locations", record.get("BASELOCATION_NO"), "BASELOCATION_NO")
    reverse = parse_us_date(str(record.get("REVERSEDATE", "")))
    batch_date = parse_us_date(str(record["BATCH_DATE"]))
    if reverse is not None and batch_date is not None and reverse <= batch_date:
        raise rules.invalid("REVERSEDATE", str(record["REVERSEDATE"]), "a date after BATCH_DATE")
    lines = receivables.lines_of(record, "ENTRIES", "GLENTRY")
    if len(lines) < 2:
        raise rules.fail(
            errors.UNBALANCED_ENTRY,
            f"The journal entry {where} has {len(lines)} line(s); it needs at least two GLENTRY lines.",
            "Add the lines that balance the entry.",
        )
    balance = Decimal(0)
    debits = Decimal(0)
    for number, line in enumerate(lines, start=1):
        line_where = f"{where} line {number}"
        for name in ("ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT"):
            rules.require(line.get(name), f"ENTRIES.GLENTRY.{name}", line_where)
        rules.reference("gl_accounts", line["ACCOUNTNO"], f"line {number} ACCOUNTNO")
        rules.reference("locations", line.get("LOCATION"), f"line {number} LOCATION")
        rules.reference("departments", line.get("DEPARTMENT"), f"line {number} DEPARTMENT")
        amount = rules.decimal(str(line["TRX_AMOUNT"]), f"line {number} TRX_AMOUNT")
        if amount < 0:
            raise rules.invalid(
                f"line {number} TRX_AMOUNT", str(line["TRX_AMOUNT"]), "an amount of 0 or more"
            )
        signed = amount if line["TR_TYPE"] == "1" else -amount
        debits += max(signed, Decimal(0))
        balance += signed
    if balance.quantize(Decimal("0.01")) != 0:
        raise rules.fail(
            errors.UNBALANCED_ENTRY,
            f"The journal entry {where} is not balanced: debits {money(debits)}, "
            f"credits {money(debits - balance)} (difference {money(balance)}).",
            "Make the debits equal the credits.",
        )


def check_payment_header(rules: Rules, record: Record) -> None:
    """A payment's own fields and the records it pays; legacy create_arpayment may pay nothing yet."""
    where = "ARPYMT"
    for name in ("PAYMENTMETHOD", "CUSTOMERID", "RECEIPTDATE"):
        rules.require(record.get(name), name, where)
    if not any(record.get(name) for name in ("FINANCIALENTITY", "UNDEPOSITEDACCOUNTNO", "PRBATCH")):
        raise errors.required(rules.label, rules.verb, "FINANCIALENTITY or UNDEPOSITEDACCOUNTNO", where)
    rules.reference("bank_accounts", record.get("FINANCIALENTITY"), "FINANCIALENTITY")
    rules.reference("gl_accounts", record.get("UNDEPOSITEDACCOUNTNO"), "UNDEPOSITEDACCOUNTNO")
    rules.reference("locations", record.get("OVERPAYMENTLOCATIONID"), "OVERPAYMENTLOCATIONID")
    rules.reference("departments", record.get("OVERPAYMENTDEPARTMENTID"), "OVERPAYMENTDEPARTMENTID")
    rules.customer(record.get("CUSTOMERID"), "CUSTOMERID")
    receivables.check_payment(rules, record)


def _check_payment(rules: Rules, record: Record) -> None:
    rules.require(record.get("ARPYMTDETAILS"), "ARPYMTDETAILS", "ARPYMT")
    check_payment_header(rules, record)


@dataclass(frozen=True)
class ObjectRules:
    """How one object is checked and what writing it does besides storing it."""

    check: Check
    required_in_update: tuple[str, ...] = ()


_RULES: dict[str, ObjectRules] = {
    "CUSTOMER": ObjectRules(_check_customer),
    "CONTACT": ObjectRules(_check_contact),
    "GLBATCH": ObjectRules(_check_journal_entry, ("BATCH_DATE", "BATCH_TITLE", "ENTRIES")),
    "ARPYMT": ObjectRules(_check_payment),
}


def _payment_totals(record: Record) -> Record:
    total = sum(
        (
            Decimal(str(detail.get("TRX_PAYMENTAMOUNT", "0")))
            for detail in receivables.payment_details(record)
        ),
        Decimal(0),
    )
    return {
        **record,
        "TOTALENTERED": record.get("TOTALENTERED") or money(total),
        "TOTALPAID": money(total),
        "STATE": "Draft" if record.get("ACTION") == "Draft" else "Complete",
    }


def _before_store(rules: Rules, spec: ObjectSpec, record: Record) -> Record:
    """Fields Intacct derives when a record is written."""
    if spec.name == "ARPYMT":
        customer = rules.customer(record.get("CUSTOMERID"), "CUSTOMERID")
        named = {**record, "CUSTOMERNAME": customer.get("NAME", "") if customer else ""}
        return _payment_totals(named)
    return record


def _summary(spec: ObjectSpec, record: Record) -> tuple[str, Record]:
    """The element a create or update answers with: RECORDNO, plus the ID field where there is one."""
    summary: Record = {"RECORDNO": record["RECORDNO"]}
    if spec.id_field:
        summary[spec.id_field] = record.get(spec.id_field, "")
    return spec.name.lower(), summary


def store_new(ctx: FunctionContext, spec: ObjectSpec, fields: Record, rules: Rules) -> Record:
    """Store a checked record under a new RECORDNO, refusing a natural ID that is taken."""
    key = natural_id(spec, fields)
    if key is not None and ctx.store.get_by_natural_id(spec.name, key) is not None:
        raise errors.duplicate(spec.label, rules.verb, key)
    recordno = ctx.store.next_recordno()
    stamp = us_timestamp(ctx.now)
    record: Record = {"RECORDNO": str(recordno), **_before_store(rules, spec, fields)}
    for name, value in spec.defaults:
        record.setdefault(name, value)
    if spec.name == "GLBATCH":
        record["BATCHNO"] = str(recordno)
    record["WHENCREATED"] = stamp
    record["WHENMODIFIED"] = stamp
    record = ctx.owned(record)
    if spec.name == "ARPYMT":
        receivables.apply_payment(rules, record, sign=1)
    ctx.store.insert(spec.name, recordno, key, record)
    return record


def create_record(ctx: FunctionContext, spec: ObjectSpec, fields: Record, rules: Rules) -> Record:
    """Check and store a new record of a generic object; also used by legacy create_contact."""
    _RULES[spec.name].check(rules, fields)
    return store_new(ctx, spec, fields, rules)


def _object_elements(element: etree._Element, verb: str) -> list[etree._Element]:
    objects = list(element)
    if not objects:
        raise errors.FunctionFailed(errors.parse_error(f"<{verb}> holds no object element."))
    return objects


def _writable(ctx: FunctionContext, node: etree._Element, verb: str) -> ObjectSpec:
    spec = ctx.spec(node.tag)
    if spec is None or node.tag != spec.name:
        raise errors.FunctionFailed(
            errors.GatewayError(errors.GENERIC_RECORD, f"Object definition {node.tag} not found.", "", "")
        )
    if not spec.generic_write:
        raise errors.FunctionFailed(
            errors.GatewayError(
                errors.GENERIC_RECORD,
                f"{verb} is not available for {spec.name} through the generic functions; "
                "use its legacy function (create_invoice, create_aradjustment, create_sotransaction).",
                "",
                "",
            )
        )
    return spec


def _objects_data(summaries: list[tuple[str, Record]]) -> etree._Element:
    data = etree.Element("data", listtype="objects", count=str(len(summaries)))
    for tag, summary in summaries:
        write_value(data, tag, summary)
    return data


def _each_object(
    ctx: FunctionContext,
    element: etree._Element,
    verb: str,
    write: Callable[[ObjectSpec, etree._Element], Record],
) -> FunctionAnswer:
    """Write the objects of a create or update in order, each as its own unit.

    As Intacct answers, objects written before one fails stay written and are listed in the failed
    result's ``<data>`` (vector ``response_failure_update_not_found``); the failing one and the rest
    are not written.
    """
    summaries: list[tuple[str, Record]] = []
    for node in _object_elements(element, verb):
        try:
            with ctx.store.savepoint():
                spec = _writable(ctx, node, verb)
                summaries.append(_summary(spec, write(spec, node)))
        except errors.FunctionFailed as failed:
            if not summaries:
                raise
            raise errors.PartlyWritten(
                FunctionAnswer(billable=len(summaries), data=_objects_data(summaries)), failed.errors
            ) from None
    return FunctionAnswer(billable=len(summaries), data=_objects_data(summaries))


def create(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<create>`` with one or more objects, possibly of different types."""

    def write(spec: ObjectSpec, node: etree._Element) -> Record:
        rules = Rules(ctx, spec.label, "create")
        fields = drop_blanks(read_fields(rules, spec, ctx.catalogue.fields(spec), node, spec.name, top=True))
        return create_record(ctx, spec, fields, rules)

    return _each_object(ctx, element, "create", write)


def _find_for_update(ctx: FunctionContext, spec: ObjectSpec, changes: Record) -> Record:
    recordno = changes.pop("RECORDNO", "")
    if recordno:
        existing = ctx.seen(ctx.store.get(spec.name, int(recordno)))
        described = f"RECORDNO={recordno}"
    elif spec.id_field and changes.get(spec.id_field):
        existing = ctx.seen(ctx.store.get_by_natural_id(spec.name, changes[spec.id_field]))
        described = f"{spec.id_field}={changes[spec.id_field]}"
    else:
        keys = "RECORDNO" + (f" or {spec.id_field}" if spec.id_field else "")
        raise errors.required(spec.label, "update", keys, spec.name)
    if existing is None:
        raise errors.not_found(
            spec.label, "update", f"Cannot update non-existing {spec.name} with {described}."
        )
    return existing


def _update_one(ctx: FunctionContext, spec: ObjectSpec, node: etree._Element) -> Record:
    rules = Rules(ctx, spec.label, "update")
    fields = ctx.catalogue.fields(spec)
    changes = read_fields(rules, spec, fields, node, spec.name, top=True)
    existing = _find_for_update(ctx, spec, changes)
    object_rules = _RULES[spec.name]
    for name in object_rules.required_in_update:
        rules.require(changes.get(name), name, f"an update of {spec.name}")
    if spec.name == "ARPYMT":
        receivables.apply_payment(rules, existing, sign=-1)
    merged = merge_update(existing, changes, fields)
    if spec.name == "ARPYMT":
        merged.pop("TOTALENTERED", None)  # a payment's total follows its (replaced) details
    object_rules.check(rules, merged)
    old_key, new_key = natural_id(spec, existing), natural_id(spec, merged)
    if new_key is not None and new_key != old_key and ctx.store.get_by_natural_id(spec.name, new_key):
        raise errors.duplicate(spec.label, "update", new_key)
    merged = _before_store(rules, spec, merged)
    merged["WHENMODIFIED"] = us_timestamp(ctx.now)
    if spec.name == "ARPYMT":
        receivables.apply_payment(rules, merged, sign=1)
    ctx.store.replace(spec.name, int(existing["RECORDNO"]), new_key, merged)
    return merged


def update(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<update>``: by RECORDNO or by the ID field; omitted fields stay, empty ones are cleared."""
    return _each_object(ctx, element, "update", lambda spec, node: _update_one(ctx, spec, node))


def delete_record(ctx: FunctionContext, spec: ObjectSpec, record: Record, rules: Rules) -> None:
    """Remove a record, taking back what it applied (a payment's amounts)."""
    if spec.name == "ARPYMT":
        receivables.apply_payment(rules, record, sign=-1)
    ctx.store.delete(spec.name, int(record["RECORDNO"]))


def delete(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<delete><object>X</object><keys>RECORDNO,RECORDNO</keys></delete>``."""
    object_node = next((n for n in element if n.tag == "object"), None)
    keys_node = next((n for n in element if n.tag == "keys"), None)
    object_name = (object_node.text or "").strip() if object_node is not None else ""
    spec = ctx.spec(object_name)
    if spec is None or not spec.generic_delete:
        raise errors.FunctionFailed(
            errors.GatewayError(
                errors.GENERIC_RECORD, f"Object definition {object_name or '(none)'} not found."
            )
        )
    rules = Rules(ctx, spec.label, "delete")
    raw_keys = [key.strip() for key in ((keys_node.text or "") if keys_node is not None else "").split(",")]
    keys = [key for key in raw_keys if key]
    if not keys:
        raise errors.required(spec.label, "delete", "keys", f"delete of {spec.name}")
    for key in keys:
        record = ctx.seen(ctx.store.get(spec.name, int(key))) if key.isdigit() else None
        if record is None:
            raise errors.not_found(
                spec.label, "delete", f"Cannot find {spec.label} with key '{key}' to delete."
            )
        delete_record(ctx, spec, record, rules)
    return FunctionAnswer(billable=len(keys))
