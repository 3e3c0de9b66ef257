"""check_mapping: every mistake in a model's mapping, as a sentence with the closest valid names."""

from __future__ import annotations

import pytest

from dbt_intacct.objects import IntacctObject, closest, get_object

CUSTOMER = get_object("customer")
CONTACT = get_object("contact")
INVOICE = get_object("invoice")
JOURNAL = get_object("journal_entry")
PAYMENT = get_object("ar_payment")
ADJUSTMENT = get_object("ar_adjustment")
TRANSACTION = get_object("transaction")


def test_unknown_field_suggests_the_closest() -> None:
    problems = CUSTOMER.check_mapping(["CUSTOMER_ID", "NAME"], [], "insert")
    assert problems == ["unknown field 'CUSTOMER_ID' on customer; did you mean CUSTOMERID?"]


def test_wrong_case_on_a_legacy_object() -> None:
    problems = INVOICE.check_mapping(["CUSTOMERID", "datecreated", "termname", "invoiceitems"], [], "insert")
    assert problems[0] == "unknown field 'CUSTOMERID' on invoice; did you mean customerid?"
    assert "missing required field 'customerid' (invoice create_invoice needs it)" in problems


def test_the_suggestions_people_need_most() -> None:
    (name,) = CUSTOMER.check_mapping(["CUSTOMERID", "CUSTOMER_NAME"], [], "update")
    assert name.startswith("unknown field 'CUSTOMER_NAME' on customer; did you mean NAME")
    (email,) = CUSTOMER.check_mapping(["CUSTOMERID", "NAME", "EMAIL"], [], "update")
    assert "did you mean DISPLAYCONTACT.EMAIL1 or DISPLAYCONTACT.EMAIL2?" in email


def test_unknown_field_without_anything_close() -> None:
    assert CUSTOMER.check_mapping(["NAME", "ZZZZZZ"], [], "upsert") == ["unknown field 'ZZZZZZ' on customer"]


def test_a_clean_mapping_has_no_problems() -> None:
    keys = ["CUSTOMERID", "NAME", "DISPLAYCONTACT.EMAIL1", "DISPLAYCONTACT.MAILADDRESS.CITY", "STATUS"]
    assert CUSTOMER.check_mapping(keys, ["REGION"], "upsert") == []
    assert CUSTOMER.check_mapping(["NAME", "DISPLAYCONTACT"], [], "insert") == []  # a struct column


def test_missing_required_fields_in_create_modes_only() -> None:
    assert CONTACT.check_mapping(["CONTACTNAME"], [], "insert") == [
        "missing required field 'PRINTAS' (contact create needs it)"
    ]
    assert CONTACT.check_mapping(["CONTACTNAME", "EMAIL1"], [], "update") == []
    assert CUSTOMER.check_mapping(["CUSTOMERID"], [], "upsert") == [
        "missing required field 'NAME' (customer create needs it)"
    ]


def test_one_of_and_required_lines() -> None:
    problems = INVOICE.check_mapping(["customerid", "datecreated"], [], "insert")
    assert problems == [
        "map one of datedue, termname (invoice create_invoice needs one)",
        "missing required lines 'invoiceitems' (invoice create_invoice needs them)",
    ]


def test_fields_the_update_function_cannot_send() -> None:
    problems = INVOICE.check_mapping(
        ["description", "nogl", "payto.contactname", "billto.contactname"], [], "update"
    )
    assert problems == ["'nogl' cannot be sent with update_invoice, which invoice uses for this mode"]


def test_mode_not_allowed() -> None:
    assert JOURNAL.check_mapping(["JOURNAL"], [], "upsert") == [
        "journal_entry does not allow mode 'upsert'; it allows: insert"
    ]


def test_line_fields() -> None:
    header = ["JOURNAL", "BATCH_DATE", "BATCH_TITLE", "ENTRIES"]
    assert JOURNAL.check_mapping([*header, "ENTRIES.ACCOUNTNO", "ENTRIES.AMOUNT"], [], "insert") == []
    assert JOURNAL.check_mapping([*header, "ENTRIES.ACCOUNT", "ENTRIES.AMOUNT"], [], "insert") == [
        "unknown field 'ACCOUNT' on ENTRIES lines of journal_entry; did you mean ACCOUNTNO?",
        "missing required field 'ENTRIES.ACCOUNTNO' (journal_entry create needs it)",
    ]
    problems = JOURNAL.check_mapping([*header, "ENTRIES.ACCOUNTNO", "ENTRIES.TR_TYPE"], [], "insert")
    assert problems[0] == (
        "'TR_TYPE' is not a field of ENTRIES lines of journal_entry: it is derived from the line's signed "
        "AMOUNT (positive = debit, negative = credit): map AMOUNT"
    )
    assert "missing required field 'ENTRIES.AMOUNT' (journal_entry create needs it)" in problems
    keys = [*header, "ENTRIES.ACCOUNTNO", "ENTRIES.AMOUNT", "ENTRIES.customfields.GLDIMPROGRAM"]
    assert JOURNAL.check_mapping(keys, ["BATCH_CF"], "insert") == []


def test_line_arrays_are_what_the_lead_engine_reads() -> None:
    assert set(JOURNAL.lines) == {"ENTRIES"}
    assert {"ACCOUNTNO", "AMOUNT", "DESCRIPTION"} <= set(JOURNAL.lines["ENTRIES"].fields)
    assert "TR_TYPE" not in JOURNAL.lines["ENTRIES"].fields
    assert JOURNAL.lines["ENTRIES"].min_lines == 2
    assert INVOICE.lines["invoiceitems"].custom_fields
    assert set(INVOICE.lines["invoiceitems"].lines) == {"taxentries"}
    assert set(TRANSACTION.lines) == {"sotransitems", "subtotals"}


@pytest.mark.parametrize(
    ("obj", "ids", "problem"),
    [
        (CONTACT, ["REGION"], "contact does not take custom fields"),
        (PAYMENT, ["REGION"], "ar_payment does not take custom fields"),
        (CUSTOMER, ["1REGION"], "custom field ID '1REGION' is not a valid XML element name"),
        (CUSTOMER, ["NAME"], "custom field ID 'NAME' is a standard field here; map it as a field instead"),
        (
            ADJUSTMENT,
            ["REGION"],
            "create_aradjustment takes custom fields only on its lines (map them per line as "
            "aradjustmentitems.customfields.<ID>)",
        ),
    ],
)
def test_custom_field_problems(obj: IntacctObject, ids: list[str], problem: str) -> None:
    problems = obj.check_mapping(["NAME"] if obj is CUSTOMER else [], ids, "insert")
    assert any(p.startswith(problem) for p in problems), problems


def test_legacy_custom_ids_need_no_element_name_clash_check() -> None:
    keys = ["customerid", "datecreated", "termname", "invoiceitems"]
    assert INVOICE.check_mapping(keys, ["customerid", "PROJECT"], "insert") == []


def test_ar_payment_families() -> None:
    generic = ["FINANCIALENTITY", "PAYMENTMETHOD", "CUSTOMERID", "RECEIPTDATE", "TRX_AMOUNTTOPAY"]
    assert PAYMENT.check_mapping(generic, [], "insert") == []  # ARPYMTDETAILS optional: advances
    assert PAYMENT.check_mapping([*generic, "ARPYMTDETAILS"], [], "insert") == []
    legacy = [
        "customerid",
        "paymentamount",
        "bankaccountid",
        "datereceived",
        "paymentmethod",
        "arpaymentitem",
    ]
    assert PAYMENT.check_mapping(legacy, [], "insert") == []
    assert PAYMENT.check_mapping(
        ["customerid", "bankaccountid", "datereceived", "paymentmethod"], [], "insert"
    ) == ["missing required field 'paymentamount' (ar_payment create_arpayment needs it)"]
    mixed = PAYMENT.check_mapping([*generic, "refid"], [], "insert")
    assert mixed[0] == (
        "ar_payment mixes ARPYMT fields (CUSTOMERID, FINANCIALENTITY, PAYMENTMETHOD, RECEIPTDATE, "
        "TRX_AMOUNTTOPAY) with create_arpayment fields (refid): map one or the other"
    )


def test_matchable_fields() -> None:
    assert {"RECORDNO", "CUSTOMERID", "NAME", "DISPLAYCONTACT.EMAIL1"} <= set(CUSTOMER.matchable_fields())
    assert {"RECORDNO", "RECORDID", "CUSTOMERID"} <= set(INVOICE.matchable_fields())
    assert {"RECORDNO", "DOCID", "DOCNO"} <= set(TRANSACTION.matchable_fields())
    assert (INVOICE.id_field, INVOICE.id_mapping_key) == ("RECORDID", "invoiceno")
    assert (CONTACT.id_field, CONTACT.id_mapping_key) == ("CONTACTNAME", "CONTACTNAME")
    assert (TRANSACTION.id_field, TRANSACTION.id_mapping_key) == ("DOCID", None)


@pytest.mark.parametrize(
    ("name", "choices", "expected"),
    [
        ("CUSTOMER_ID", ["CUSTOMERID", "CUSTTYPE", "NAME"], ["CUSTOMERID"]),
        ("customerid", ["CUSTOMERID"], ["CUSTOMERID"]),
        ("EMAIL", ["EMAIL2", "EMAIL1", "URL1"], ["EMAIL1", "EMAIL2"]),
        ("xyz", ["CUSTOMERID", "NAME"], []),
        ("custmer", ["customer", "contact", "invoice", "transaction"], ["customer"]),
        ("CUSTOMER_NAME", ["CUSTOMERID", "NAME", "DISPLAYCONTACT.PRINTAS"], ["NAME"]),
        (
            "EMAIL",
            ["DISPLAYCONTACT.EMAIL1", "DISPLAYCONTACT.EMAIL2", "DISPLAYCONTACT.URL1"],
            ["DISPLAYCONTACT.EMAIL1", "DISPLAYCONTACT.EMAIL2"],
        ),
        (
            "CITY",
            ["DISPLAYCONTACT.MAILADDRESS.CITY", "DISPLAYCONTACT.MAILADDRESS.STATE"],
            ["DISPLAYCONTACT.MAILADDRESS.CITY"],
        ),
    ],
)
def test_closest(name: str, choices: list[str], expected: list[str]) -> None:
    assert closest(name, choices) == expected
