"""Accounts receivable arithmetic: invoice and adjustment totals, and applying payments to them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator.catalogue import OBJECTS, natural_id
from dbt_intacct.emulator.fields import Record, money, parse_decimal, us_date
from dbt_intacct.emulator.rules import Rules

# Where each payable object keeps its lines.
LINES = {
    "ARINVOICE": ("ARINVOICEITEMS", "arinvoiceitem"),
    "ARADJUSTMENT": ("ARADJUSTMENTITEMS", "aradjustmentitem"),
}
DRAFT = "Draft"


def lines_of(record: Record, collection: str, item: str) -> list[Record]:
    """The line items stored under a collection."""
    group = record.get(collection)
    if not isinstance(group, dict):
        return []
    items = group.get(item, [])
    return items if isinstance(items, list) else []


def _amount(value: Any) -> Decimal:
    number = parse_decimal(value) if isinstance(value, str) else None
    return number if number is not None else Decimal(0)


def with_totals(object_name: str, record: Record) -> Record:
    """The record with TOTALENTERED, TOTALPAID, TOTALDUE (and TRX_ twins) and STATE recomputed."""
    collection, item = LINES[object_name]
    entered = sum((_amount(line.get("AMOUNT")) for line in lines_of(record, collection, item)), Decimal(0))
    paid = _amount(record.get("TOTALPAID"))
    due = entered - paid
    updated = dict(record)
    for prefix in ("", "TRX_"):
        updated[prefix + "TOTALENTERED"] = money(entered)
        updated[prefix + "TOTALPAID"] = money(paid)
        updated[prefix + "TOTALDUE"] = money(due)
    if record.get("STATE") != DRAFT:
        updated["STATE"] = "Posted" if paid == 0 else ("Paid" if due <= 0 else "Partially Paid")
    return updated


def payment_details(payment: Record) -> list[Record]:
    """The ARPYMTDETAIL lines of a payment."""
    return lines_of(payment, "ARPYMTDETAILS", "ARPYMTDETAIL")


def _target(detail: Record) -> tuple[str, str, str] | None:
    if detail.get("RECORDKEY"):
        return "ARINVOICE", str(detail["RECORDKEY"]), "RECORDKEY"
    if detail.get("POSADJKEY"):
        return "ARADJUSTMENT", str(detail["POSADJKEY"]), "POSADJKEY"
    return None


def check_payment(rules: Rules, payment: Record) -> None:
    """Every detail names an existing, posted invoice (or debit memo) of the payment's customer,
    and pays no more than is due on it."""
    customerid = payment.get("CUSTOMERID")
    pending: dict[tuple[str, int], Decimal] = {}
    for position, detail in enumerate(payment_details(payment), start=1):
        where = f"ARPYMTDETAIL {position}"
        target = _target(detail)
        if target is None:
            raise errors.required(rules.label, rules.verb, "RECORDKEY", where)
        object_name, key, field = target
        rules.require(detail.get("TRX_PAYMENTAMOUNT"), "TRX_PAYMENTAMOUNT", where)
        amount = rules.decimal(str(detail["TRX_PAYMENTAMOUNT"]), f"{where} TRX_PAYMENTAMOUNT")
        what = "Invoice" if object_name == "ARINVOICE" else "AR adjustment"
        record = rules.ctx.seen(rules.ctx.store.get(object_name, int(key)))
        if record is None:
            raise errors.missing_reference(rules.label, rules.verb, what, key, f"{where} {field}")
        if record.get("CUSTOMERID") != customerid:
            raise rules.fail(
                errors.INVALID_PAYMENT,
                f"{what} {key} belongs to customer {record.get('CUSTOMERID')}, not to {customerid}.",
            )
        if record.get("STATE") == DRAFT:
            raise rules.fail(errors.INVALID_PAYMENT, f"{what} {key} is a draft and cannot be paid.")
        if amount <= 0:
            raise rules.invalid(
                f"{where} TRX_PAYMENTAMOUNT", str(detail["TRX_PAYMENTAMOUNT"]), "an amount above 0"
            )
        due = _amount(record.get("TOTALDUE")) - pending.get((object_name, int(key)), Decimal(0))
        if amount > due:
            raise rules.fail(
                errors.INVALID_PAYMENT,
                f"Payment of {money(amount)} to {what.lower()} {key} exceeds its amount due {money(due)}.",
                "Pay no more than the amount due.",
            )
        pending[(object_name, int(key))] = pending.get((object_name, int(key)), Decimal(0)) + amount


def apply_payment(rules: Rules, payment: Record, sign: int) -> None:
    """Add (sign 1) or take back (sign -1) a payment's amounts on the records it pays."""
    store = rules.ctx.store
    for detail in payment_details(payment):
        target = _target(detail)
        if target is None:
            continue
        object_name, key, _field = target
        record = store.get(object_name, int(key))
        if record is None:  # paid record deleted since: nothing left to take back
            continue
        paid = _amount(record.get("TOTALPAID")) + sign * _amount(detail.get("TRX_PAYMENTAMOUNT"))
        updated = with_totals(object_name, {**record, "TOTALPAID": money(paid)})
        if sign > 0 and paid > 0:
            updated["WHENPAID"] = payment.get("RECEIPTDATE") or us_date(rules.ctx.now.date())
        store.replace(object_name, int(key), natural_id(OBJECTS[object_name], updated), updated)
