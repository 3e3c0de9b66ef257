"""Every way a row is refused before it leaves the machine: RowRejected names the mapping path and says
what was expected and what was found."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef, get_object

CUSTOMER = get_object("customer")
CONTACT = get_object("contact")
JOURNAL = get_object("journal_entry")
INVOICE = get_object("invoice")
PAYMENT = get_object("ar_payment")


def rejected(call: Any, *args: Any, **kwargs: Any) -> RowRejected:
    with pytest.raises(RowRejected) as caught:
        call(*args, **kwargs)
    return caught.value


def customer(**values: Any) -> dict[str, Any]:
    return {"CUSTOMERID": "C1", "NAME": "Acme", **values}


def entry(*lines: Any, **header: Any) -> dict[str, Any]:
    return {
        "JOURNAL": "GJ",
        "BATCH_DATE": "2024-05-01",
        "BATCH_TITLE": "May",
        "ENTRIES": list(lines),
        **header,
    }


def invoice(**values: Any) -> dict[str, Any]:
    return {
        "customerid": "C1",
        "datecreated": "2024-05-01",
        "termname": "N30",
        "invoiceitems": [{"glaccountno": "4000", "amount": "100"}],
        **values,
    }


DEBIT = {"ACCOUNTNO": "6000", "AMOUNT": "100"}
CREDIT = {"ACCOUNTNO": "1000", "AMOUNT": "-100"}


# --- wrong types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        (entry(DEBIT, CREDIT, BATCH_DATE="yesterday"), "BATCH_DATE", "expected a date"),
        (entry(DEBIT, CREDIT, BATCH_DATE="2024-13-01"), "BATCH_DATE", "got '2024-13-01'"),
        (entry(DEBIT, CREDIT, BATCH_DATE=20240501), "BATCH_DATE", "got int 20240501"),
        (
            entry(DEBIT, {"ACCOUNTNO": "1000", "AMOUNT": "ten"}),
            "ENTRIES[1].AMOUNT",
            "expected an amount, got 'ten'",
        ),
        (
            entry(DEBIT, {"ACCOUNTNO": "1000", "AMOUNT": float("nan")}),
            "ENTRIES[1].AMOUNT",
            "expected an amount",
        ),
        (entry(DEBIT, {"ACCOUNTNO": "1000", "AMOUNT": True}), "ENTRIES[1].AMOUNT", "got bool True"),
        (entry(DEBIT, CREDIT, STATE="Posting"), "STATE", "expected one of Posted, Draft, got 'Posting'"),
    ],
)
def test_wrong_types_in_journal_entries(values: dict[str, Any], field: str, reason: str) -> None:
    error = rejected(JOURNAL.build_create, values, {})
    assert error.field == field
    assert reason in error.reason


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("ONHOLD", "maybe", "expected a boolean (true or false), got 'maybe'"),
        ("STATUS", "closed", "expected a status (active or inactive, or a boolean), got 'closed'"),
        ("CREDITLIMIT", "lots", "expected an amount, got 'lots'"),
        ("CREDITLIMIT", Decimal("Infinity"), "expected an amount"),
        ("NAME", {"first": "x"}, "expected text, got dict"),
        ("COMMENTS", ["a", "b"], "expected text, got list"),
        ("COMMENTS", True, "expected text, got bool True"),
        ("RESTRICTEDLOCATIONS", 5, "expected a list of values"),
        ("RESTRICTEDLOCATIONS", ["a#~#b"], "contains '#~#'"),
        ("DELIVERYOPTIONS", ["Fax"], "expected one of Print, E-Mail, got 'Fax'"),
    ],
)
def test_wrong_types_in_customers(path: str, value: Any, reason: str) -> None:
    error = rejected(CUSTOMER.build_create, customer(**{path: value}), {})
    assert (error.field, error.reason) == (path, reason) or (error.field == path and reason in error.reason)


def test_wrong_integer_in_a_legacy_field() -> None:
    error = rejected(INVOICE.build_create, invoice(batchkey="12a"), {})
    assert (error.field, error.reason) == ("batchkey", "expected a whole number, got '12a'")


# --- lengths, required fields, one-of rules -------------------------------------------------------


def test_too_long() -> None:
    error = rejected(CUSTOMER.build_create, customer(**{"DISPLAYCONTACT.MAILADDRESS.CITY": "x" * 81}), {})
    assert (error.field, error.reason) == (
        "DISPLAYCONTACT.MAILADDRESS.CITY",
        "81 characters, the limit is 80",
    )


def test_length_counts_characters_not_bytes() -> None:
    body = CUSTOMER.build_create(customer(**{"DISPLAYCONTACT.MAILADDRESS.CITY": "é" * 80}), {})
    assert body.findtext("CUSTOMER/DISPLAYCONTACT/MAILADDRESS/CITY") == "é" * 80


@pytest.mark.parametrize("name", [None, ""])
def test_missing_required_field(name: str | None) -> None:
    error = rejected(CUSTOMER.build_create, {"CUSTOMERID": "C1", "NAME": name}, {})
    assert (error.field, error.reason) == ("NAME", "missing required field")


def test_missing_required_nested_field_without_a_default() -> None:
    error = rejected(CONTACT.build_create, {"CONTACTNAME": "Jane"}, {})
    assert (error.field, error.reason) == ("PRINTAS", "missing required field")


def test_missing_one_of_two() -> None:
    error = rejected(INVOICE.build_create, invoice(termname=None), {})
    assert error.field == "datedue"
    assert error.reason == "missing required field: give one of datedue, termname"


def test_only_one_of_two() -> None:
    error = rejected(INVOICE.build_create, invoice(exchratetype="Intacct Daily Rate", exchrate="1.1"), {})
    assert (error.field, error.reason) == ("exchrate", "give only one of exchratetype, exchrate, not both")


def test_missing_required_lines_and_line_fields() -> None:
    error = rejected(INVOICE.build_create, invoice(invoiceitems=None), {})
    assert (error.field, error.reason) == ("invoiceitems", "missing required lines (at least 1)")
    error = rejected(JOURNAL.build_create, entry(DEBIT, {"AMOUNT": "-100"}), {})
    assert (error.field, error.reason) == ("ENTRIES[1].ACCOUNTNO", "missing required field")
    error = rejected(INVOICE.build_create, invoice(invoiceitems=[{"amount": 5}]), {})
    assert error.field == "invoiceitems[0].glaccountno"
    assert "give one of glaccountno, accountlabel" in error.reason


# --- line arrays and journal rules ----------------------------------------------------------------


@pytest.mark.parametrize("lines", ["6000:100,1000:-100", {"ACCOUNTNO": "6000"}, 3])
def test_not_an_array_where_lines_are_expected(lines: Any) -> None:
    error = rejected(JOURNAL.build_create, {**entry(), "ENTRIES": lines}, {})
    assert error.field == "ENTRIES"
    assert error.reason.startswith("expected a list of lines, got ")


def test_a_line_that_is_not_a_struct() -> None:
    error = rejected(JOURNAL.build_create, entry(DEBIT, "1000:-100"), {})
    assert error.field == "ENTRIES[1]"
    assert error.reason == "expected a line (a struct or object), got '1000:-100'"


def test_unbalanced_journal_entry() -> None:
    error = rejected(JOURNAL.build_create, entry(DEBIT, {"ACCOUNTNO": "1000", "AMOUNT": "-90"}), {})
    assert (error.field, error.reason) == (
        "ENTRIES",
        "the entry does not balance: debits 100.00 ≠ credits 90.00",
    )


def test_balance_is_checked_on_the_amounts_as_sent() -> None:
    # 0.005 + 0.005 - 0.01 balances exactly, but each line is sent rounded to cents: 0.01 + 0.01 - 0.01.
    half_cents = ({"ACCOUNTNO": "6000", "AMOUNT": "0.005"},) * 2 + ({"ACCOUNTNO": "1000", "AMOUNT": "-0.01"},)
    error = rejected(JOURNAL.build_create, entry(*half_cents), {})
    assert (error.field, error.reason) == (
        "ENTRIES",
        "the entry does not balance: debits 0.02 ≠ credits 0.01",
    )


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_journal_lines(count: int) -> None:
    error = rejected(JOURNAL.build_create, entry(*[DEBIT] * count), {})
    assert (error.field, error.reason) == ("ENTRIES", f"needs at least 2 line(s), got {count}")


def test_amounts_beyond_any_book_are_refused() -> None:
    error = rejected(JOURNAL.build_create, entry({**DEBIT, "AMOUNT": Decimal("1E+15")}, CREDIT), {})
    assert (error.field, error.reason) == (
        "ENTRIES[0].AMOUNT",
        "1000000000000000 is too large for an amount (the limit is 10^15)",
    )
    body = CUSTOMER.build_create(customer(CREDITLIMIT=Decimal("999999999999999.994")), {})
    assert body.findtext("CUSTOMER/CREDITLIMIT") == "999999999999999.99"


def test_balanced_many_lines_pass() -> None:
    lines = [{"ACCOUNTNO": "6000", "AMOUNT": Decimal("33.33")}] * 3 + [
        {"ACCOUNTNO": "1000", "AMOUNT": -99.99}
    ]
    body = JOURNAL.build_create(entry(*lines), {})
    assert len(body.findall("GLBATCH/ENTRIES/GLENTRY")) == 4


def test_derived_fields_cannot_be_mapped() -> None:
    error = rejected(JOURNAL.build_create, entry(DEBIT, {**CREDIT, "TR_TYPE": "-1"}), {})
    assert error.field == "ENTRIES[1].TR_TYPE"
    assert error.reason == (
        "a line of ENTRIES has no field 'TR_TYPE': it is derived from the line's signed AMOUNT "
        "(positive = debit, negative = credit): map AMOUNT"
    )


# --- characters XML cannot carry, element names ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bell\x07", "contains U+0007, a character XML 1.0 cannot carry (at position 4)"),
        ("nul\x00", "contains U+0000, a character XML 1.0 cannot carry (at position 3)"),
        ("esc\x1b[0m", "contains U+001B"),
        ("half \ud83d surrogate", "contains U+D83D, a lone surrogate (at position 5)"),
        ("nonchar \ufffe", "contains U+FFFE"),
    ],
)
def test_characters_xml_cannot_carry_are_a_row_error(text: str, reason: str) -> None:
    error = rejected(CUSTOMER.build_create, customer(COMMENTS=text), {})
    assert error.field == "COMMENTS"
    assert reason in error.reason


def test_bad_characters_in_lines_and_custom_fields() -> None:
    error = rejected(JOURNAL.build_create, entry(DEBIT, {**CREDIT, "DESCRIPTION": "a\x0cb"}), {})
    assert error.field == "ENTRIES[1].DESCRIPTION"
    error = rejected(CUSTOMER.build_create, customer(), {"REGION": "x\x01"})
    assert error.field == "customfields.REGION"
    error = rejected(INVOICE.build_create, invoice(), {"NOTE": "\ud800"})
    assert (error.field, error.reason) == (
        "customfields.NOTE",
        "contains U+D800, a lone surrogate (at position 0)",
    )


@pytest.mark.parametrize("field_id", ["1REGION", "MY FIELD", "ns:REGION", "RÉGION", "", "A<B"])
def test_invalid_custom_field_ids(field_id: str) -> None:
    error = rejected(CUSTOMER.build_create, customer(), {field_id: "x"})
    assert error.field == f"customfields.{field_id}"
    assert "is not a valid XML element name" in error.reason
    error = rejected(INVOICE.build_create, invoice(), {field_id: "x"})
    assert "is not a valid XML element name" in error.reason


def test_custom_field_cannot_shadow_a_standard_field() -> None:
    error = rejected(CUSTOMER.build_create, customer(), {"NAME": "x"})
    assert (error.field, error.reason) == (
        "customfields.NAME",
        "custom field ID 'NAME' is a standard field here; map it as a field instead",
    )


def test_custom_fields_on_an_object_without_them() -> None:
    error = rejected(CONTACT.build_create, {"CONTACTNAME": "J", "PRINTAS": "J"}, {"REGION": "x"})
    assert error.field == "customfields"
    assert "takes no custom fields" in error.reason


# --- unknown fields, keys -------------------------------------------------------------------------


def test_unknown_field_names_the_closest() -> None:
    error = rejected(CUSTOMER.build_create, customer(CUSTOMER_ID="C2"), {})
    assert (error.field, error.reason) == (
        "CUSTOMER_ID",
        "CUSTOMER has no field 'CUSTOMER_ID'; did you mean CUSTOMERID?",
    )
    error = rejected(CUSTOMER.build_create, customer(**{"DISPLAYCONTACT": {"EMAIL": "a@b.c"}}), {})
    assert error.field == "DISPLAYCONTACT.EMAIL"
    assert "did you mean DISPLAYCONTACT.EMAIL1 or DISPLAYCONTACT.EMAIL2?" in error.reason


def test_update_key_must_match_the_matched_record() -> None:
    error = rejected(CUSTOMER.build_update, RecordRef(id="C1"), {"CUSTOMERID": "C2"}, {})
    assert error.field == "CUSTOMERID"
    assert "is not the matched record's 'C1'" in error.reason


def test_update_without_any_key() -> None:
    error = rejected(CUSTOMER.build_update, RecordRef(), {"NAME": "x"}, {})
    assert error.reason == "cannot update: neither the record's RECORDNO nor its CUSTOMERID is known"
    error = rejected(INVOICE.build_update, RecordRef(id="INV-1"), {"description": "x"}, {})
    assert (error.field, error.reason) == (
        None,
        "cannot update the ARINVOICE: update_invoice needs its RECORDNO",
    )
    error = rejected(get_object("transaction").build_update, RecordRef(recordno="7"), {}, {})
    assert "update_sotransaction needs its DOCID" in error.reason


def test_delete_without_a_usable_key() -> None:
    error = rejected(JOURNAL.build_delete, RecordRef(id="whatever"))
    assert error.reason == "cannot delete the GLBATCH: its RECORDNO is not known"


def test_payment_detail_needs_an_invoice_or_debit_memo() -> None:
    values = {
        "FINANCIALENTITY": "BOA",
        "PAYMENTMETHOD": "EFT",
        "CUSTOMERID": "C1",
        "RECEIPTDATE": "2024-05-01",
        "ARPYMTDETAILS": [{"RECORDKEY": 101, "TRX_PAYMENTAMOUNT": 10}, {"TRX_PAYMENTAMOUNT": 5}],
    }
    error = rejected(PAYMENT.build_create, values, {})
    assert error.field == "ARPYMTDETAILS[1]"
    assert "needs RECORDKEY" in error.reason


def test_keys_that_are_not_strings_are_unknown_fields() -> None:
    error = rejected(CUSTOMER.build_create, {**customer(), 7: "x"}, {})
    assert error.field == "7"
    assert error.reason.startswith("CUSTOMER has no field '7'")


# --- any value in any field: a body or RowRejected, never a crash --------------------------------------

HOSTILE = [
    "",
    "x" * 300,
    "a\x00b",
    "\ud800",
    " ",
    "2024-02-30",
    "1e400",
    -1,
    2**70,
    1.5,
    float("nan"),
    float("-inf"),
    True,
    Decimal("-0"),
    Decimal("1E+30"),
    [],
    ["a", 1],
    [None, "b#~#c"],
    {},
    {"x": 1},
    b"bytes",
    object(),
]

MINIMAL: dict[str, dict[str, Any]] = {
    "customer": {"CUSTOMERID": "C1", "NAME": "n"},
    "contact": {"CONTACTNAME": "c", "PRINTAS": "p"},
    "journal_entry": entry(DEBIT, CREDIT),
    "invoice": invoice(),
    "ar_adjustment": {
        "customerid": "C1",
        "datecreated": "2024-05-01",
        "aradjustmentitems": [{"glaccountno": "4000", "amount": -5}],
    },
    "ar_payment": {
        "FINANCIALENTITY": "BOA",
        "PAYMENTMETHOD": "Cash",
        "CUSTOMERID": "C1",
        "RECEIPTDATE": "2024-05-01",
        "ARPYMTDETAILS": [{"RECORDKEY": 1, "TRX_PAYMENTAMOUNT": 5}],
    },
    "transaction": {
        "transactiontype": "Sales Order",
        "datecreated": "2024-05-01",
        "customerid": "C1",
        "sotransitems": [{"itemid": "WIDGET", "quantity": 1}],
    },
}


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_any_value_in_any_field_is_a_body_or_a_rejection(name: str) -> None:
    obj = get_object(name)
    base = MINIMAL[name]
    assert obj.build_create(base, {}) is not None
    outcomes = {"built": 0, "rejected": 0}
    targets: list[tuple[str | None, str]] = [(None, path) for path in obj.create.shape.fields]
    for key, node in obj.create.shape.line_nodes.items():
        if key in base:
            targets += [(key, path) for path in node.item_shape.fields]
    for line_key, path in targets:
        for value in HOSTILE:
            if line_key is None:
                row = {**base, path: value}
            else:
                row = {**base, line_key: [{**base[line_key][0], path: value}, *base[line_key][1:]]}
            try:
                obj.build_create(row, {"CF": value} if obj.create.shape.has_custom else {})
                outcomes["built"] += 1
            except RowRejected as exc:
                outcomes["rejected"] += 1
                assert exc.reason
    assert outcomes["built"] and outcomes["rejected"]


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("customer", RecordRef(recordno="1")),
        ("contact", RecordRef(id="c")),
        ("invoice", RecordRef(recordno="1")),
        ("transaction", RecordRef(id="Sales Order-SO1")),
    ],
)
def test_any_value_in_any_update_field_is_a_body_or_a_rejection(name: str, ref: RecordRef) -> None:
    obj = get_object(name)
    assert obj.update is not None
    built = 0
    for path in obj.update.shape.fields:
        for value in HOSTILE:
            try:
                obj.build_update(
                    ref, {path: value}, {}, existing_lines={"invoiceitems": 1, "sotransitems": 1}
                )
                built += 1
            except RowRejected as exc:
                assert exc.reason
        assert obj.build_clear(ref, [path], []) is not None
    assert built
