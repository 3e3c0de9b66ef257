"""Legacy functions: AR invoices and adjustments, AR payments, Order Entry transactions, contacts.

Their records are stored under the object a warehouse connector reads them from (ARINVOICE,
ARADJUSTMENT, ARPYMT, SODOCUMENT, CONTACT) with Intacct's object field names, so a readByQuery or
query afterwards sees what a real company would show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator import legacy_schema as schema
from dbt_intacct.emulator import receivables
from dbt_intacct.emulator.catalogue import OBJECTS, PAYMENT_METHODS, natural_id
from dbt_intacct.emulator.context import FunctionAnswer, FunctionContext
from dbt_intacct.emulator.fields import (
    DIMENSIONS,
    SO_LINE_DIMENSIONS,
    Field,
    Kind,
    Record,
    ValueProblem,
    drop_blanks,
    money,
    normalise_leaf,
    parse_decimal,
    parse_us_date,
    us_date,
    us_timestamp,
)
from dbt_intacct.emulator.rules import Rules
from dbt_intacct.emulator.writes import check_payment_header, create_record, delete_record, store_new

Handler = Callable[[FunctionContext, etree._Element], FunctionAnswer]
ACTIONS = ("Draft", "Submit")
SO_STATES = ("Draft", "Pending", "Closed")


def _clear_emptied(
    record: Record, data: Mapping[str, Any], fields: Mapping[str, str], custom: Sequence[str]
) -> None:
    """An element sent empty on a legacy update clears its field, as on generic updates (UNVERIFIED
    for legacy functions; the documented rule for generic ones). An element left out changes nothing."""
    for field, element in fields.items():
        if data.get(element) == "":
            record.pop(field, None)
    for field in custom:
        record.pop(field, None)


def _emptied_custom_fields(data: Mapping[str, Any]) -> list[str]:
    """Custom fields sent with an empty value."""
    group = data.get("customfields")
    if not isinstance(group, dict):
        return []
    return [
        _text(entry, "customfieldname").strip().upper()
        for entry in group.get("customfield", [])
        if not _text(entry, "customfieldvalue")
    ]


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _date(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return us_date(value) if isinstance(value, date) else ""


def _choice(rules: Rules, data: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = _text(data, name).strip()
    if not value:
        return ""
    checked = normalise_leaf(Field(name, choices=choices), value)
    if isinstance(checked, ValueProblem):
        raise rules.invalid(name, checked.value, checked.expected)
    return checked


def _typed(rules: Rules, data: Mapping[str, Any], name: str, kind: Kind, where: str = "") -> str:
    value = _text(data, name)
    checked = normalise_leaf(Field(name, kind), value)
    if isinstance(checked, ValueProblem):
        raise rules.invalid(f"{where}{name}", checked.value, checked.expected)
    return checked


def _contact(data: Mapping[str, Any], name: str) -> Record:
    group = data.get(name)
    return {"CONTACTNAME": _text(group, "contactname")} if isinstance(group, dict) else {}


def _custom_fields(rules: Rules, data: Mapping[str, Any], scope: str, where: str) -> Record:
    group = data.get("customfields")
    if not isinstance(group, dict):
        return {}
    declared = rules.ctx.catalogue.reference.custom(scope)
    out: Record = {}
    for entry in group.get("customfield", []):
        name = _text(entry, "customfieldname").strip().upper()
        if name not in declared:
            raise errors.unknown_field(rules.label, rules.verb, f"{where}customfields/{name}", scope)
        out[name] = _text(entry, "customfieldvalue")
    return out


def _due_date(rules: Rules, created: date, term: str) -> str:
    row = rules.ctx.catalogue.reference.row("payment_terms", term) if term else None
    days = row.get("DUEDAYS", 0) if row else 0
    return us_date(created + timedelta(days=int(days) if isinstance(days, int | str) else 0))


def _exchange(data: Mapping[str, Any], rules: Rules) -> Record:
    base = str(rules.ctx.catalogue.reference.source.get("company", {}).get("base_currency", "USD"))
    return {
        "BASECURR": _text(data, "basecurr") or base,
        "CURRENCY": _text(data, "currency") or _text(data, "basecurr") or base,
        "EXCH_RATE_DATE": _date(data, "exchratedate"),
        "EXCH_RATE_TYPE_ID": _text(data, "exchratetype"),
    }


def _new_line_recordno(rules: Rules) -> str:
    return str(rules.ctx.store.next_recordno())


def _ar_line(
    rules: Rules, line: Mapping[str, Any], number: int, scope: str, existing: Record | None
) -> Record:
    """An invoice or adjustment line as ARINVOICEITEM / ARADJUSTMENTITEM fields."""
    where = f"line {number} "
    account, label = _text(line, "glaccountno").strip(), _text(line, "accountlabel").strip()
    if account and label:
        raise rules.invalid(f"{where}glaccountno", account, "either glaccountno or accountlabel, not both")
    rules.reference("gl_accounts", account, f"{where}glaccountno")
    rules.reference("account_labels", label, f"{where}accountlabel")
    rules.reference("gl_accounts", _text(line, "offsetglaccountno").strip(), f"{where}offsetglaccountno")
    rules.reference("gl_accounts", _text(line, "defrevaccount").strip(), f"{where}defrevaccount")
    rules.reference("locations", _text(line, "locationid").strip(), f"{where}locationid")
    rules.reference("departments", _text(line, "departmentid").strip(), f"{where}departmentid")
    if label:
        label_row = rules.ctx.catalogue.reference.row("account_labels", label) or {}
        account = str(label_row.get("GLACCOUNTNO", ""))
    changes: Record = {
        "ACCOUNTNO": account,
        "ACCOUNTLABEL": label,
        "OFFSETGLACCOUNTNO": _text(line, "offsetglaccountno"),
        "AMOUNT": _typed(rules, line, "amount", Kind.DECIMAL, where),
        "ENTRYDESCRIPTION": _text(line, "memo"),
        "ALLOCATIONID": _text(line, "allocationid"),
        "KEY": _text(line, "key"),
        "REVRECTEMPLATE": _text(line, "revrectemplate"),
        "DEFERREDREVACCOUNT": _text(line, "defrevaccount"),
        "REVRECSTARTDATE": _date(line, "revrecstartdate"),
        "REVRECENDDATE": _date(line, "revrecenddate"),
        **{name: _text(line, name.lower()) for name in DIMENSIONS},
        **_custom_fields(rules, line, scope, where),
    }
    _typed(rules, line, "totalpaid", Kind.DECIMAL, where)
    _typed(rules, line, "totaldue", Kind.DECIMAL, where)
    if existing is not None:
        merged = {**existing, **{name: value for name, value in changes.items() if value}}
        if account and not label:
            merged.pop("ACCOUNTLABEL", None)
    else:
        merged = {"RECORDNO": _new_line_recordno(rules), "LINE_NO": str(number - 1), **changes}
        if not merged["ACCOUNTNO"]:
            raise errors.required(rules.label, rules.verb, "glaccountno or accountlabel", f"line {number}")
        if not merged["AMOUNT"]:
            raise errors.required(rules.label, rules.verb, "amount", f"line {number}")
    merged["TRX_AMOUNT"] = merged["AMOUNT"]
    return drop_blanks(merged)


def _customer(rules: Rules, data: Mapping[str, Any]) -> Record:
    customer = rules.customer(_text(data, "customerid").strip(), "customerid")
    if customer is None:
        raise errors.required(rules.label, rules.verb, "customerid", rules.label)
    return customer


def _store_ar(ctx: FunctionContext, object_name: str, record: Record) -> Record:
    recordno = ctx.store.next_recordno()
    stamp = us_timestamp(ctx.now)
    stored = ctx.owned(
        receivables.with_totals(
            object_name, drop_blanks({"RECORDNO": str(recordno), **record, "WHENMODIFIED": stamp})
        )
    )
    ctx.store.insert(object_name, recordno, natural_id(OBJECTS[object_name], stored), stored)
    return stored


# --- invoices -----------------------------------------------------------------------------------


def create_invoice(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``create_invoice``: an ARINVOICE; answers ``<key>`` = RECORDNO."""
    data = schema.read_legacy(element, schema.CREATE_INVOICE, "create_invoice")
    rules = Rules(ctx, "Invoice", "create")
    customer = _customer(rules, data)
    term = _text(data, "termname").strip()
    rules.reference("payment_terms", term, "termname")
    created: date = data["datecreated"]
    # The captured clients send neither datedue nor termname: Intacct falls back to the customer's
    # payment term, and without one the invoice is due when it is created.
    due_term = term or str(customer.get("TERMNAME", ""))
    invoice_number = _text(data, "invoiceno").strip()
    if invoice_number and ctx.store.get_by_natural_id("ARINVOICE", invoice_number) is not None:
        raise errors.duplicate("Invoice", "create", invoice_number)
    lines = [
        _ar_line(rules, line, number, "ARINVOICEITEM", None)
        for number, line in enumerate(receivables.lines_of(data, "invoiceitems", "lineitem"), start=1)
    ]
    billto, shipto = _contact(data, "billto"), _contact(data, "shipto")
    record: Record = {
        "RECORDID": invoice_number,
        "CUSTOMERID": customer["CUSTOMERID"],
        "CUSTOMERNAME": customer.get("NAME", ""),
        "DOCNUMBER": _text(data, "ponumber"),
        "DESCRIPTION": _text(data, "description"),
        "STATE": "Draft" if _choice(rules, data, "action", ACTIONS) == "Draft" else "Posted",
        "TERMNAME": due_term,
        "WHENCREATED": us_date(created),
        "WHENPOSTED": _date(data, "dateposted") or us_date(created),
        "WHENDUE": _date(data, "datedue") or _due_date(rules, created, due_term),
        "TOTALPAID": "0.00",
        **_exchange(data, rules),
        "PRBATCHKEY": _text(data, "batchkey"),
        "ONHOLD": _typed(rules, data, "onhold", Kind.BOOLEAN),
        "EXTERNALID": _text(data, "externalid"),
        "SUPDOCID": _text(data, "supdocid"),
        "TAXSOLUTIONID": _text(data, "taxsolutionid"),
        "BILLTO": billto,
        "SHIPTO": shipto,
        "BILLTOPAYTOCONTACTNAME": billto.get("CONTACTNAME", ""),
        "SHIPTORETURNTOCONTACTNAME": shipto.get("CONTACTNAME", ""),
        **_custom_fields(rules, data, "ARINVOICE", ""),
        "ARINVOICEITEMS": {"arinvoiceitem": lines},
    }
    _typed(rules, data, "nogl", Kind.BOOLEAN)
    stored = _store_ar(ctx, "ARINVOICE", record)
    return FunctionAnswer(billable=1, key=stored["RECORDNO"])


def _find(
    ctx: FunctionContext,
    object_name: str,
    key: str,
    by_external_id: bool,
    label: str,
    verb: str,
    key_name: str,
) -> Record:
    if not key:
        raise errors.FunctionFailed(errors.parse_error(f"The {verb} function needs its key attribute."))
    found: Record | None = None
    if by_external_id:
        found = next(
            (r for r in ctx.store.all(object_name) if r.get("EXTERNALID") == key and ctx.visible(r)), None
        )
    elif key_name == "RECORDNO":
        found = ctx.seen(ctx.store.get(object_name, int(key))) if key.isdigit() else None
    else:
        found = ctx.seen(ctx.store.get_by_natural_id(object_name, key))
    if found is None:
        described = "EXTERNALID" if by_external_id else key_name
        raise errors.not_found(
            label, verb, f"Cannot {verb} non-existing {object_name} with {described}={key}."
        )
    return found


def _apply_line_updates(
    rules: Rules,
    lines: list[Record],
    updates: list[tuple[str, Mapping[str, Any]]],
    edit_tag: str,
    build: Callable[[Mapping[str, Any], int, Record | None], Record],
) -> list[Record]:
    """Edit lines by 1-based ``line_num`` and append new ones, in request order."""
    result = list(lines)
    for tag, line in updates:
        if tag == edit_tag:
            number_text = _text(line, "@line_num")
            if not number_text.isdigit() or not 1 <= int(number_text) <= len(result):
                raise rules.fail(
                    errors.GENERIC_RECORD,
                    f"{edit_tag} line_num '{number_text}' does not name an existing line "
                    f"(the record has {len(result)} line(s); line_num is 1-based).",
                )
            index = int(number_text) - 1
            result[index] = build(line, index + 1, result[index])
        else:
            result.append(build(line, len(result) + 1, None))
    return result


def _tagged_items(
    data: Mapping[str, Any], group: str, tags: tuple[str, str], element: etree._Element
) -> list[tuple[str, Mapping[str, Any]]]:
    """Line updates in the order they were written (both tags are stored apart by the reader)."""
    container = data.get(group)
    if not isinstance(container, dict):
        return []
    queues = {tag: list(container.get(tag, [])) for tag in tags}
    group_node = next(node for node in element if node.tag == group)
    return [(node.tag, queues[node.tag].pop(0)) for node in group_node if node.tag in queues]


def update_invoice(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``update_invoice key=RECORDNO`` (or ``externalkey="true"``): header, line edits, new lines."""
    data = schema.read_legacy(element, schema.UPDATE_INVOICE, "update_invoice")
    rules = Rules(ctx, "Invoice", "update")
    existing = _find(
        ctx,
        "ARINVOICE",
        _text(data, "@key"),
        _text(data, "@externalkey").lower() == "true",
        "Invoice",
        "update",
        "RECORDNO",
    )
    changes: Record = {}
    if _text(data, "customerid").strip():
        customer = _customer(rules, data)
        changes.update(CUSTOMERID=customer["CUSTOMERID"], CUSTOMERNAME=customer.get("NAME", ""))
    term = _text(data, "termname").strip()
    rules.reference("payment_terms", term, "termname")
    invoice_number = _text(data, "invoiceno").strip()
    renumbered = invoice_number and invoice_number != existing.get("RECORDID")
    if renumbered and ctx.store.get_by_natural_id("ARINVOICE", invoice_number) is not None:
        raise errors.duplicate("Invoice", "update", invoice_number)
    payto, returnto = _contact(data, "payto"), _contact(data, "returnto")
    action = _choice(rules, data, "action", ACTIONS)
    changes.update(
        WHENCREATED=_date(data, "datecreated"),
        WHENPOSTED=_date(data, "dateposted"),
        WHENDUE=_date(data, "datedue"),
        TERMNAME=term,
        RECORDID=invoice_number,
        DOCNUMBER=_text(data, "ponumber"),
        DESCRIPTION=_text(data, "description"),
        CURRENCY=_text(data, "currency"),
        EXCH_RATE_DATE=_date(data, "exchratedate"),
        EXCH_RATE_TYPE_ID=_text(data, "exchratetype"),
        SUPDOCID=_text(data, "supdocid"),
        **_custom_fields(rules, data, "ARINVOICE", ""),
    )
    if payto:
        changes.update(BILLTO=payto, BILLTOPAYTOCONTACTNAME=payto["CONTACTNAME"])
    if returnto:
        changes.update(SHIPTO=returnto, SHIPTORETURNTOCONTACTNAME=returnto["CONTACTNAME"])
    if action:
        changes["STATE"] = "Draft" if action == "Draft" else "Posted"
    updated: Record = {**existing, **{name: value for name, value in changes.items() if value}}
    _clear_emptied(
        updated,
        data,
        {"DOCNUMBER": "ponumber", "DESCRIPTION": "description", "SUPDOCID": "supdocid"},
        _emptied_custom_fields(data),
    )
    created = parse_us_date(str(updated.get("WHENCREATED", "")))
    if term and not changes["WHENDUE"] and created is not None:
        updated["WHENDUE"] = _due_date(rules, created, term)
    lines = receivables.lines_of(existing, "ARINVOICEITEMS", "arinvoiceitem")
    updates = _tagged_items(data, "updateinvoiceitems", ("updatelineitem", "lineitem"), element)
    lines = _apply_line_updates(
        rules,
        lines,
        updates,
        "updatelineitem",
        lambda line, number, old: _ar_line(rules, line, number, "ARINVOICEITEM", old),
    )
    updated["ARINVOICEITEMS"] = {"arinvoiceitem": lines}
    updated["WHENMODIFIED"] = us_timestamp(ctx.now)
    updated = receivables.with_totals("ARINVOICE", updated)
    if Decimal(updated["TOTALDUE"]) < 0:
        raise rules.fail(
            errors.INVALID_PAYMENT,
            f"Invoice {existing['RECORDNO']} would total {updated['TOTALENTERED']}, "
            f"less than the {updated['TOTALPAID']} already paid on it.",
        )
    ctx.store.replace(
        "ARINVOICE", int(existing["RECORDNO"]), natural_id(OBJECTS["ARINVOICE"], updated), updated
    )
    return FunctionAnswer(billable=1)


def delete_invoice(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``delete_invoice key=RECORDNO``; an invoice with payments applied cannot be deleted."""
    data = schema.read_legacy(element, schema.DELETE_INVOICE, "delete_invoice")
    existing = _find(ctx, "ARINVOICE", _text(data, "@key"), False, "Invoice", "delete", "RECORDNO")
    rules = Rules(ctx, "Invoice", "delete")
    if parse_decimal(str(existing.get("TOTALPAID", "0"))) not in (None, Decimal(0)):
        raise rules.fail(
            errors.GENERIC_RECORD,
            f"Invoice {existing['RECORDNO']} has payments applied and cannot be deleted.",
            "Reverse the payments first.",
        )
    ctx.store.delete("ARINVOICE", int(existing["RECORDNO"]))
    return FunctionAnswer(billable=1)


# --- adjustments and payments -------------------------------------------------------------------


def create_aradjustment(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``create_aradjustment``: an ARADJUSTMENT (positive lines debit memo, negative credit memo)."""
    data = schema.read_legacy(element, schema.CREATE_ARADJUSTMENT, "create_aradjustment")
    rules = Rules(ctx, "AR Adjustment", "create")
    customer = _customer(rules, data)
    created: date = data["datecreated"]
    lines = [
        _ar_line(rules, line, number, "ARADJUSTMENTITEM", None)
        for number, line in enumerate(receivables.lines_of(data, "aradjustmentitems", "lineitem"), start=1)
    ]
    record: Record = {
        "RECORDID": _text(data, "adjustmentno"),
        "CUSTOMERID": customer["CUSTOMERID"],
        "CUSTOMERNAME": customer.get("NAME", ""),
        "INVOICENO": _text(data, "invoiceno"),
        "DESCRIPTION": _text(data, "description"),
        "STATE": "Draft" if _choice(rules, data, "action", ACTIONS) == "Draft" else "Posted",
        "WHENCREATED": us_date(created),
        "WHENPOSTED": _date(data, "dateposted") or us_date(created),
        "TOTALPAID": "0.00",
        **_exchange(data, rules),
        "PRBATCHKEY": _text(data, "batchkey"),
        "EXTERNALID": _text(data, "externalid"),
        "ARADJUSTMENTITEMS": {"aradjustmentitem": lines},
    }
    _typed(rules, data, "nogl", Kind.BOOLEAN)
    stored = _store_ar(ctx, "ARADJUSTMENT", record)
    return FunctionAnswer(billable=1, key=stored["RECORDNO"])


def create_arpayment(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``create_arpayment``: an ARPYMT, applied to the invoices its ``arpaymentitem`` elements name."""
    data = schema.read_legacy(element, schema.CREATE_ARPAYMENT, "create_arpayment")
    spec = OBJECTS["ARPYMT"]
    rules = Rules(ctx, spec.label, "create")
    amount = _typed(rules, data, "paymentamount", Kind.DECIMAL)
    method = _choice(rules, data, "paymentmethod", PAYMENT_METHODS)
    details = []
    applied = Decimal(0)
    for number, item in enumerate(data.get("arpaymentitem", []), start=1):
        item_amount = _typed(rules, item, "amount", Kind.DECIMAL, f"arpaymentitem {number} ")
        applied += Decimal(item_amount or "0")
        invoice_key = _typed(rules, item, "invoicekey", Kind.INTEGER, f"arpaymentitem {number} ")
        details.append({"RECORDKEY": invoice_key, "TRX_PAYMENTAMOUNT": item_amount})
    if applied > Decimal(amount or "0"):
        raise rules.fail(
            errors.INVALID_PAYMENT,
            f"The arpaymentitem amounts ({money(applied)}) exceed the paymentamount ({amount}).",
        )
    received = _date(data, "datereceived")
    record = drop_blanks(
        {
            "CUSTOMERID": _text(data, "customerid").strip(),
            "TOTALENTERED": amount,
            "PRBATCH": _text(data, "batchkey"),
            "FINANCIALENTITY": _text(data, "bankaccountid"),
            "UNDEPOSITEDACCOUNTNO": _text(data, "undepfundsacct"),
            "DOCNUMBER": _text(data, "refid"),
            "OVERPAYMENTLOCATIONID": _text(data, "overpaylocid"),
            "OVERPAYMENTDEPARTMENTID": _text(data, "overpaydeptid"),
            "RECEIPTDATE": received,
            "PAYMENTDATE": received,
            "PAYMENTMETHOD": method,
            **_exchange(data, rules),
            "CCTYPE": _text(data, "cctype"),
            "AUTHCODE": _text(data, "authcode"),
            "ARPYMTDETAILS": {"ARPYMTDETAIL": details},
        }
    )
    check_payment_header(rules, record)
    stored = store_new(ctx, spec, record, rules)
    return FunctionAnswer(billable=1, key=stored["RECORDNO"])


# --- Order Entry transactions -------------------------------------------------------------------


def _so_line(rules: Rules, line: Mapping[str, Any], number: int, existing: Record | None) -> Record:
    where = f"line {number} "
    item_id = _text(line, "itemid").strip()
    rules.reference("items", item_id, f"{where}itemid")
    rules.reference("locations", _text(line, "locationid").strip(), f"{where}locationid")
    rules.reference("departments", _text(line, "departmentid").strip(), f"{where}departmentid")
    item = (
        rules.ctx.catalogue.reference.row("items", item_id or str((existing or {}).get("ITEMID", ""))) or {}
    )
    changes: Record = {
        "BUNDLENUMBER": _text(line, "bundlenumber"),
        "ITEMID": item_id,
        "ITEMDESC": _text(line, "itemdesc"),
        "TAXABLE": _typed(rules, line, "taxable", Kind.BOOLEAN, where),
        "WAREHOUSEID": _text(line, "warehouseid"),
        "QUANTITY": _typed(rules, line, "quantity", Kind.DECIMAL, where),
        "UNIT": _text(line, "unit"),
        "DISCOUNTPERCENT": _typed(rules, line, "discountpercent", Kind.DECIMAL, where),
        "PRICE": _typed(rules, line, "price", Kind.DECIMAL, where),
        "DISCSURCHARGEMEMO": _text(line, "discsurchargememo"),
        "LOCATIONID": _text(line, "locationid"),
        "DEPARTMENTID": _text(line, "departmentid"),
        "MEMO": _text(line, "memo"),
        "REVRECTEMPLATE": _text(line, "revrectemplate"),
        "REVRECSTARTDATE": _date(line, "revrecstartdate"),
        "REVRECENDDATE": _date(line, "revrecenddate"),
        "RENEWALMACRO": _text(line, "renewalmacro"),
        "FULFILLMENTSTATUS": _text(line, "fulfillmentstatus"),
        "TASKNO": _text(line, "taskno"),
        "BILLINGTEMPLATE": _text(line, "billingtemplate"),
        **{name: _text(line, name.lower()) for name in SO_LINE_DIMENSIONS},
        **_custom_fields(rules, line, "SODOCUMENTENTRY", where),
    }
    if existing is None:
        merged: Record = {"RECORDNO": _new_line_recordno(rules), "LINE_NO": str(number - 1), **changes}
        merged["PRICE"] = merged["PRICE"] or str(item.get("BASEPRICE", "0"))
        merged["UNIT"] = merged["UNIT"] or str(item.get("UNIT", ""))
    else:
        merged = {**existing, **{name: value for name, value in changes.items() if value}}
    quantity = Decimal(merged.get("QUANTITY") or "0")
    price = Decimal(merged.get("PRICE") or "0")
    discount = Decimal(merged.get("DISCOUNTPERCENT") or "0")
    merged["TOTAL"] = money(quantity * price * (1 - discount / 100))
    return drop_blanks(merged)


def _so_totals(record: Record) -> Record:
    lines = receivables.lines_of(record, "SODOCUMENTENTRIES", "sodocumententry")
    total = sum((Decimal(line.get("TOTAL", "0")) for line in lines), Decimal(0))
    return {**record, "SUBTOTAL": money(total), "TOTAL": money(total)}


def create_sotransaction(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``create_sotransaction``: an SODOCUMENT; answers ``<key>`` = DOCID, e.g. ``Sales Order-SO0001``."""
    data = schema.read_legacy(element, schema.CREATE_SOTRANSACTION, "create_sotransaction")
    definition_name = _text(data, "transactiontype").strip()
    rules = Rules(ctx, definition_name or "Sales Transaction", "create")
    rules.reference("transaction_definitions", definition_name, "transactiontype")
    definition = ctx.catalogue.reference.row("transaction_definitions", definition_name) or {}
    customer = _customer(rules, data)
    term = _text(data, "termname").strip()
    rules.reference("payment_terms", term, "termname")
    state = _choice(rules, data, "state", SO_STATES) or str(definition.get("STATE", "Pending"))
    document_number = _text(data, "documentno").strip()
    if not document_number:
        sequence = ctx.store.next_value(f"docno:{definition_name}", 1)
        document_number = f"{definition.get('PREFIX', '')}{sequence:04d}"
    docid = f"{definition_name}-{document_number}"
    if ctx.store.get_by_natural_id("SODOCUMENT", docid) is not None:
        raise errors.duplicate(definition_name, "create", document_number)
    created: date = data["datecreated"]
    lines = [
        _so_line(rules, line, number, None)
        for number, line in enumerate(receivables.lines_of(data, "sotransitems", "sotransitem"), start=1)
    ]
    record: Record = {
        "DOCID": docid,
        "DOCNO": document_number,
        "DOCPARID": definition_name,
        "CREATEDFROM": _text(data, "createdfrom"),
        "CUSTVENDID": customer["CUSTOMERID"],
        "CUSTVENDNAME": customer.get("NAME", ""),
        "STATE": state,
        "WHENCREATED": us_date(created),
        "WHENPOSTED": _date(data, "dateposted"),
        "WHENDUE": _date(data, "datedue") or (_due_date(rules, created, term) if term else ""),
        "ORIGDOCDATE": _date(data, "origdocdate"),
        "PONUMBER": _text(data, "referenceno"),
        "MESSAGE": _text(data, "message"),
        "SHIPVIA": _text(data, "shippingmethod"),
        "TERM": {"NAME": term},
        "BILLTO": _contact(data, "billto"),
        "SHIPTO": _contact(data, "shipto"),
        "SUPDOCID": _text(data, "supdocid"),
        "EXTERNALID": _text(data, "externalid"),
        **_exchange(data, rules),
        "VSOEPRICELIST": _text(data, "vsoepricelist"),
        "PROJECTID": _text(data, "projectid"),
        **_custom_fields(rules, data, "SODOCUMENT", ""),
        "SODOCUMENTENTRIES": {"sodocumententry": lines},
    }
    recordno = ctx.store.next_recordno()
    stored = ctx.owned(
        _so_totals(drop_blanks({"RECORDNO": str(recordno), **record, "WHENMODIFIED": us_timestamp(ctx.now)}))
    )
    ctx.store.insert("SODOCUMENT", recordno, docid, stored)
    return FunctionAnswer(billable=1, key=docid)


def update_sotransaction(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``update_sotransaction key=DOCID``: header changes, line edits by 1-based line_num, new lines."""
    data = schema.read_legacy(element, schema.UPDATE_SOTRANSACTION, "update_sotransaction")
    existing = _find(
        ctx,
        "SODOCUMENT",
        _text(data, "@key"),
        _text(data, "@externalkey").lower() == "true",
        "Sales Transaction",
        "update",
        "DOCID",
    )
    rules = Rules(ctx, str(existing.get("DOCPARID", "Sales Transaction")), "update")
    term = _text(data, "termname").strip()
    rules.reference("payment_terms", term, "termname")
    changes: Record = {
        "WHENCREATED": _date(data, "datecreated"),
        "WHENPOSTED": _date(data, "dateposted"),
        "PONUMBER": _text(data, "referenceno"),
        "WHENDUE": _date(data, "datedue"),
        "ORIGDOCDATE": _date(data, "origdocdate"),
        "MESSAGE": _text(data, "message"),
        "SHIPVIA": _text(data, "shippingmethod"),
        "SHIPTO": _contact(data, "shipto"),
        "BILLTO": _contact(data, "billto"),
        "SUPDOCID": _text(data, "supdocid"),
        "BASECURR": _text(data, "basecurr"),
        "CURRENCY": _text(data, "currency"),
        "EXCH_RATE_DATE": _date(data, "exchratedate"),
        "EXCH_RATE_TYPE_ID": _text(data, "exchratetype"),
        "VSOEPRICELIST": _text(data, "vsoepricelist"),
        "STATE": _choice(rules, data, "state", SO_STATES),
        "PROJECTID": _text(data, "projectid"),
        **_custom_fields(rules, data, "SODOCUMENT", ""),
    }
    if term:
        changes["TERM"] = {"NAME": term}
    updated: Record = {**existing, **{name: value for name, value in changes.items() if value}}
    _clear_emptied(
        updated,
        data,
        {
            "PONUMBER": "referenceno",
            "MESSAGE": "message",
            "SHIPVIA": "shippingmethod",
            "SUPDOCID": "supdocid",
            "VSOEPRICELIST": "vsoepricelist",
            "PROJECTID": "projectid",
        },
        _emptied_custom_fields(data),
    )
    updates = _tagged_items(data, "updatesotransitems", ("updatesotransitem", "sotransitem"), element)
    lines = _apply_line_updates(
        rules,
        receivables.lines_of(existing, "SODOCUMENTENTRIES", "sodocumententry"),
        updates,
        "updatesotransitem",
        lambda line, number, old: _so_line(rules, line, number, old),
    )
    updated["SODOCUMENTENTRIES"] = {"sodocumententry": lines}
    updated["WHENMODIFIED"] = us_timestamp(ctx.now)
    updated = _so_totals(updated)
    ctx.store.replace("SODOCUMENT", int(existing["RECORDNO"]), existing["DOCID"], updated)
    return FunctionAnswer(billable=1)


def delete_sotransaction(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``delete_sotransaction key=DOCID``."""
    data = schema.read_legacy(element, schema.DELETE_SOTRANSACTION, "delete_sotransaction")
    existing = _find(ctx, "SODOCUMENT", _text(data, "@key"), False, "Sales Transaction", "delete", "DOCID")
    ctx.store.delete("SODOCUMENT", int(existing["RECORDNO"]))
    return FunctionAnswer(billable=1)


# --- customers and contacts ---------------------------------------------------------------------


def _delete_by_name(
    ctx: FunctionContext, element: etree._Element, function: str, object_name: str
) -> FunctionAnswer:
    spec = OBJECTS[object_name]
    element_spec = schema.DELETE_CUSTOMER if object_name == "CUSTOMER" else schema.DELETE_CONTACT
    data = schema.read_legacy(element, element_spec, function)
    attribute = element_spec.attributes[0]
    existing = _find(
        ctx, object_name, _text(data, f"@{attribute}"), False, spec.label, "delete", str(spec.id_field)
    )
    delete_record(ctx, spec, existing, Rules(ctx, spec.label, "delete"))
    return FunctionAnswer(billable=1)


def delete_customer(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<delete_customer customerid="C1"/>``."""
    return _delete_by_name(ctx, element, "delete_customer", "CUSTOMER")


def delete_contact(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<delete_contact contactname="Jane"/>``."""
    return _delete_by_name(ctx, element, "delete_contact", "CONTACT")


def create_contact(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``create_contact`` (2.1 style, lower-case elements): a CONTACT; answers ``<key>`` = CONTACTNAME."""
    data = schema.read_legacy(element, schema.CREATE_CONTACT, "create_contact")
    spec = OBJECTS["CONTACT"]
    rules = Rules(ctx, spec.label, "create")
    fields = ctx.catalogue.fields(spec)
    record: Record = {}
    for name, value in data.items():
        if name == "mailaddress":
            address_fields = fields["MAILADDRESS"].by_name
            record["MAILADDRESS"] = {
                part.upper(): _checked(rules, address_fields[part.upper()], text)
                for part, text in value.items()
            }
        else:
            record[name.upper()] = _checked(rules, fields[name.upper()], value)
    stored = create_record(ctx, spec, drop_blanks(record), rules)
    return FunctionAnswer(billable=1, key=stored["CONTACTNAME"])


def _checked(rules: Rules, field: Field, value: str) -> str:
    checked = normalise_leaf(field, value)
    if isinstance(checked, ValueProblem):
        raise rules.invalid(field.name.lower(), checked.value, checked.expected)
    return checked


HANDLERS: dict[str, Handler] = {
    "create_invoice": create_invoice,
    "update_invoice": update_invoice,
    "delete_invoice": delete_invoice,
    "create_aradjustment": create_aradjustment,
    "create_arpayment": create_arpayment,
    "create_sotransaction": create_sotransaction,
    "update_sotransaction": update_sotransaction,
    "delete_sotransaction": delete_sotransaction,
    "delete_customer": delete_customer,
    "delete_contact": delete_contact,
    "create_contact": create_contact,
}
