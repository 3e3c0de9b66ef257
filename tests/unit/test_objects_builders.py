"""What the builders produce: legacy element order whatever the row's order, custom fields in both styles,
updates (keys, lines by position), clears, deletes, AR payments' two functions, and reading results."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from lxml import etree

from dbt_intacct.errors import ConfigError, RowRejected
from dbt_intacct.objects import OBJECTS, RecordRef, get_object

CUSTOMER = get_object("customer")
CONTACT = get_object("contact")
JOURNAL = get_object("journal_entry")
INVOICE = get_object("invoice")
ADJUSTMENT = get_object("ar_adjustment")
PAYMENT = get_object("ar_payment")
TRANSACTION = get_object("transaction")


def tags(element: etree._Element | None) -> list[str]:
    assert element is not None
    return [child.tag for child in element]


INVOICE_ROW: dict[str, Any] = {
    "customerid": "C1",
    "datecreated": "2024-05-01",
    "dateposted": "2024-05-02",
    "datedue": "2024-05-31",
    "termname": "N30",
    "action": "Submit",
    "batchkey": 7,
    "invoiceno": "INV-1",
    "ponumber": "PO-9",
    "onhold": False,
    "description": "May",
    "externalid": "X1",
    "billto.contactname": "Bill",
    "shipto.contactname": "Ship",
    "basecurr": "USD",
    "currency": "USD",
    "exchratedate": "2024-05-01",
    "exchratetype": "Intacct Daily Rate",
    "nogl": False,
    "supdocid": "S1",
    "taxsolutionid": "TS",
    "invoiceitems": [
        {
            "warehouseid": "W1",
            "amount": "10",
            "memo": "m",
            "glaccountno": "4000",
            "customfields": {"LINE_CF": "v"},
            "revrecenddate": "2024-12-31",
            "locationid": "L1",
        }
    ],
}
INVOICE_ORDER = [
    "customerid", "datecreated", "dateposted", "datedue", "termname", "action", "batchkey", "invoiceno",
    "ponumber", "onhold", "description", "externalid", "billto", "shipto", "basecurr", "currency",
    "exchratedate", "exchratetype", "nogl", "supdocid", "taxsolutionid", "customfields", "invoiceitems",
]  # fmt: skip

TRANSACTION_ROW: dict[str, Any] = {
    "transactiontype": "Sales Order",
    "datecreated": "2024-05-01",
    "customerid": "C1",
    "documentno": "SO-1",
    "origdocdate": "2024-04-30",
    "referenceno": "R",
    "termname": "N30",
    "datedue": "2024-05-31",
    "message": "hi",
    "shipto.contactname": "S",
    "billto.contactname": "B",
    "currency": "USD",
    "exchrate": "1.1",
    "state": "Pending",
    "projectid": "P",
    "sotransitems": [{"quantity": 2, "itemid": "WIDGET", "price": "9.99", "memo": "m"}],
}
TRANSACTION_ORDER = [
    "transactiontype", "datecreated", "customerid", "documentno", "origdocdate", "referenceno", "termname",
    "datedue", "message", "shipto", "billto", "currency", "exchrate", "customfields", "state", "projectid",
    "sotransitems",
]  # fmt: skip


def shuffled(row: dict[str, Any], seed: int) -> dict[str, Any]:
    items = list(row.items())
    random.Random(seed).shuffle(items)
    return dict(items)


# --- legacy element order -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_invoice_order_is_fixed_whatever_the_row_order(seed: int) -> None:
    body = INVOICE.build_create(shuffled(INVOICE_ROW, seed), {"HEADER_CF": "h"})
    assert tags(body) == INVOICE_ORDER
    assert tags(body.find("invoiceitems/lineitem")) == [
        "glaccountno", "amount", "memo", "locationid", "customfields", "revrecenddate", "warehouseid",
    ]  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_transaction_order_is_fixed_whatever_the_row_order(seed: int) -> None:
    body = TRANSACTION.build_create(shuffled(TRANSACTION_ROW, seed), {"CF": "x"})
    assert tags(body) == TRANSACTION_ORDER
    assert tags(body.find("sotransitems/sotransitem")) == ["itemid", "quantity", "price", "memo"]


def test_transaction_update_puts_datedue_before_origdocdate() -> None:
    row = {key: TRANSACTION_ROW[key] for key in ("origdocdate", "datedue", "termname", "referenceno")}
    body = TRANSACTION.build_update(RecordRef(id="Sales Order-SO-1"), row, {})
    assert tags(body) == ["referenceno", "termname", "datedue", "origdocdate"]
    assert body.get("key") == "Sales Order-SO-1"


@pytest.mark.parametrize("seed", range(3))
def test_adjustment_and_legacy_payment_orders(seed: int) -> None:
    adjustment = {
        "invoiceno": "INV-1",
        "customerid": "C1",
        "action": "Draft",
        "datecreated": "2024-05-01",
        "adjustmentno": "ADJ-1",
        "aradjustmentitems": [{"amount": -25, "accountlabel": "Sales", "memo": "credit"}],
    }
    body = ADJUSTMENT.build_create(shuffled(adjustment, seed), {})
    assert tags(body) == [
        "customerid",
        "datecreated",
        "adjustmentno",
        "action",
        "invoiceno",
        "aradjustmentitems",
    ]
    assert body.findtext("aradjustmentitems/lineitem/amount") == "-25"
    payment = {
        "paymentmethod": "Cash",
        "datereceived": "2024-05-01",
        "bankaccountid": "BOA",
        "customerid": "C1",
        "paymentamount": "100",
        "arpaymentitem": [{"amount": 60, "invoicekey": 11}, {"invoicekey": "12", "amount": 40}],
    }
    body = PAYMENT.build_create(shuffled(payment, seed), {})
    assert tags(body) == [
        "customerid", "paymentamount", "bankaccountid", "datereceived", "paymentmethod", "arpaymentitem",
        "arpaymentitem",
    ]  # fmt: skip


# --- custom fields --------------------------------------------------------------------------------


def test_generic_custom_fields_are_plain_elements_in_place() -> None:
    body = CUSTOMER.build_create(
        {"NAME": "Acme", "CUSTOMERID": "C1"}, {"REGION": "EMEA", "TIER": 2, "NONE": None}
    )
    assert tags(body.find("CUSTOMER"))[-2:] == ["REGION", "TIER"]
    assert body.findtext("CUSTOMER/TIER") == "2"
    entry = {
        "JOURNAL": "GJ",
        "BATCH_DATE": "2024-05-01",
        "BATCH_TITLE": "t",
        "ENTRIES": [
            {"ACCOUNTNO": "6000", "AMOUNT": 5, "DESCRIPTION": "d", "customfields": {"GLDIMPROGRAM": "P1"}},
            {"ACCOUNTNO": "1000", "AMOUNT": -5, "customfields.GLDIMPROGRAM": "P2"},
        ],
    }
    body = JOURNAL.build_create(entry, {"BATCH_CF": True})
    assert tags(body.find("GLBATCH")) == ["JOURNAL", "BATCH_DATE", "BATCH_TITLE", "BATCH_CF", "ENTRIES"]
    assert body.findtext("GLBATCH/BATCH_CF") == "true"
    lines = body.findall("GLBATCH/ENTRIES/GLENTRY")
    assert tags(lines[0]) == ["ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "DESCRIPTION", "GLDIMPROGRAM"]
    assert [line.findtext("GLDIMPROGRAM") for line in lines] == ["P1", "P2"]


def test_legacy_custom_fields_are_a_block_in_place() -> None:
    body = INVOICE.build_create(INVOICE_ROW, {"PROJECT_CODE": "P-7", "EMPTY": "", "SKIPPED": None})
    block = body.find("customfields")
    assert block is not None
    pairs = [(c.findtext("customfieldname"), c.findtext("customfieldvalue")) for c in block]
    assert pairs == [("PROJECT_CODE", "P-7"), ("EMPTY", "")]  # findtext: "" for an empty element
    line_block = body.find("invoiceitems/lineitem/customfields/customfield")
    assert line_block is not None and line_block.findtext("customfieldname") == "LINE_CF"


def test_nested_dicts_equal_dotted_keys() -> None:
    dotted = CUSTOMER.build_create(
        {"NAME": "A", "DISPLAYCONTACT.EMAIL1": "a@b.c", "DISPLAYCONTACT.MAILADDRESS.CITY": "Paris"}, {}
    )
    nested = CUSTOMER.build_create(
        {"NAME": "A", "DISPLAYCONTACT": {"EMAIL1": "a@b.c", "MAILADDRESS": {"CITY": "Paris"}}}, {}
    )
    assert etree.tostring(dotted) == etree.tostring(nested)


def test_printas_defaults_to_name_on_create_and_on_update() -> None:
    body = CUSTOMER.build_create({"NAME": "Acme"}, {})
    assert body.findtext("CUSTOMER/DISPLAYCONTACT/PRINTAS") == "Acme"
    body = CUSTOMER.build_create({"NAME": "Acme", "DISPLAYCONTACT.PRINTAS": "ACME Inc."}, {})
    assert body.findtext("CUSTOMER/DISPLAYCONTACT/PRINTAS") == "ACME Inc."
    # What a create derives, an update derives too: a renamed customer prints its new name.
    body = CUSTOMER.build_update(RecordRef(id="C1"), {"NAME": "Acme"}, {})
    assert body.findtext("CUSTOMER/DISPLAYCONTACT/PRINTAS") == "Acme"
    body = CUSTOMER.build_update(RecordRef(id="C1"), {"STATUS": "active"}, {})
    assert body.find("CUSTOMER/DISPLAYCONTACT") is None


def test_groups_with_only_null_fields_are_left_out() -> None:
    body = CUSTOMER.build_create({"NAME": "A", "BILLTO.CONTACTNAME": None, "DISPLAYCONTACT.EMAIL1": None}, {})
    assert tags(body.find("CUSTOMER")) == ["NAME", "DISPLAYCONTACT"]
    assert tags(body.find("CUSTOMER/DISPLAYCONTACT")) == ["PRINTAS"]


# --- generic updates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "values", "expected"),
    [
        (RecordRef(recordno="42", id="C1"), {"NAME": "n"}, [("RECORDNO", "42"), ("NAME", "n")]),
        (
            RecordRef(recordno="42"),
            {"CUSTOMERID": "C1", "NAME": "n"},
            [("RECORDNO", "42"), ("CUSTOMERID", "C1"), ("NAME", "n")],
        ),
        (RecordRef(id="C1"), {"NAME": "n"}, [("CUSTOMERID", "C1"), ("NAME", "n")]),
        (RecordRef(), {"CUSTOMERID": "C1", "NAME": "n"}, [("CUSTOMERID", "C1"), ("NAME", "n")]),
    ],
)
def test_generic_update_keys(ref: RecordRef, values: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    body = CUSTOMER.build_update(ref, values, {})
    children = [(child.tag, child.text) for child in body.find("CUSTOMER")]
    assert children == [*expected, ("DISPLAYCONTACT", None)]  # PRINTAS follows NAME


def test_contact_rename_through_recordno() -> None:
    body = CONTACT.build_update(RecordRef(recordno="11", id="Jane Doe"), {"CONTACTNAME": "Jane Roe"}, {})
    assert [(c.tag, c.text) for c in body.find("CONTACT")] == [
        ("RECORDNO", "11"),
        ("CONTACTNAME", "Jane Roe"),
    ]


def test_update_of_insert_only_objects_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError):
        JOURNAL.build_update(RecordRef(recordno="1"), {}, {})
    with pytest.raises(ConfigError):
        PAYMENT.build_clear(RecordRef(recordno="1"), ["DESCRIPTION"], [])


# --- legacy updates and lines by position ---------------------------------------------------------


def test_invoice_update_uses_payto_and_returnto() -> None:
    body = INVOICE.build_update(
        RecordRef(recordno="55"), {"billto.contactname": "Bill", "returnto.contactname": "Ret"}, {}
    )
    assert body.attrib == {"key": "55"}
    assert [(c.tag, c.findtext("contactname")) for c in body] == [("payto", "Bill"), ("returnto", "Ret")]


def test_invoice_update_prefers_recordno_over_external_id() -> None:
    body = INVOICE.build_update(RecordRef(recordno="55", external_id="X1"), {}, {})
    assert body.attrib == {"key": "55"}
    body = INVOICE.build_update(RecordRef(external_id="X1"), {}, {})
    assert body.attrib == {"key": "X1", "externalkey": "true"}


LINES = [
    {"glaccountno": "4000", "amount": 10},
    {"glaccountno": "4000", "amount": 20},
    {"glaccountno": "4100", "amount": 5},
]


def test_lines_update_by_position_and_extra_lines_are_added() -> None:
    body = INVOICE.build_update(
        RecordRef(recordno="55"), {"invoiceitems": LINES}, {}, existing_lines={"invoiceitems": 2}
    )
    items = body.find("updateinvoiceitems")
    assert [(c.tag, c.get("line_num"), c.findtext("amount")) for c in items] == [
        ("updatelineitem", "1", "10"),
        ("updatelineitem", "2", "20"),
        ("lineitem", None, "5"),
    ]


def test_without_a_known_line_count_every_line_updates_its_position() -> None:
    body = INVOICE.build_update(RecordRef(recordno="55"), {"invoiceitems": LINES}, {})
    assert [c.get("line_num") for c in body.find("updateinvoiceitems")] == ["1", "2", "3"]


def test_fewer_lines_than_the_record_has_is_rejected() -> None:
    with pytest.raises(RowRejected) as caught:
        INVOICE.build_update(
            RecordRef(recordno="55"), {"invoiceitems": LINES[:1]}, {}, existing_lines={"invoiceitems": 3}
        )
    assert caught.value.field == "invoiceitems"
    assert "the row has 1 line(s) but the record in Intacct has 3" in caught.value.reason
    assert "update_invoice cannot delete lines" in caught.value.reason


def test_new_lines_in_an_update_are_checked_as_new_lines() -> None:
    with pytest.raises(RowRejected) as caught:
        TRANSACTION.build_update(
            RecordRef(id="Sales Order-SO1"),
            {"sotransitems": [{"quantity": 3}, {"quantity": 4}]},
            {},
            existing_lines={"sotransitems": 1},
        )
    assert (caught.value.field, caught.value.reason) == ("sotransitems[1].itemid", "missing required field")


# --- clear ----------------------------------------------------------------------------------------


def test_clear_empties_clearable_fields_only() -> None:
    paths = ["CUSTOMERID", "NAME", "DISPLAYCONTACT.EMAIL1", "STATUS", "ONHOLD", "CREDITLIMIT", "NOT_A_FIELD"]
    assert CUSTOMER.clearable_fields(paths) == ["DISPLAYCONTACT.EMAIL1", "CREDITLIMIT"]
    body = CUSTOMER.build_clear(RecordRef(recordno="8", id="C1"), paths, ["REGION"])
    customer = body.find("CUSTOMER")
    assert [(c.tag, c.text) for c in customer.iter() if c is not customer and len(c) == 0] == [
        ("RECORDNO", "8"),
        ("EMAIL1", None),
        ("CREDITLIMIT", None),
        ("REGION", None),
    ]


def test_clear_of_a_legacy_document() -> None:
    body = INVOICE.build_clear(
        RecordRef(recordno="55"),
        ["customerid", "invoiceno", "description", "billto.contactname", "datedue", "invoiceitems", "nogl"],
        ["PROJECT"],
    )
    assert body.attrib == {"key": "55"}
    # A legacy date is a <year>/<month>/<day> block: an empty one would be a schema error, so dates stay.
    assert tags(body) == ["description", "payto", "customfields"]
    assert body.findtext("customfields/customfield/customfieldname") == "PROJECT"


# --- delete ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ref", "expected"),
    [
        (
            "customer",
            RecordRef(recordno="8", id="C1"),
            b"<delete><object>CUSTOMER</object><keys>8</keys></delete>",
        ),
        ("customer", RecordRef(id="C&1"), b'<delete_customer customerid="C&amp;1"/>'),
        ("contact", RecordRef(id='Jane "J" Doe'), b'<delete_contact contactname="Jane &quot;J&quot; Doe"/>'),
        ("invoice", RecordRef(recordno="9"), b'<delete_invoice key="9"/>'),
        ("ar_adjustment", RecordRef(recordno="9"), b'<delete_aradjustment key="9"/>'),
        (
            "transaction",
            RecordRef(recordno="3", id="Sales Order-SO1"),
            b'<delete_sotransaction key="Sales Order-SO1"/>',
        ),
        (
            "journal_entry",
            RecordRef(recordno="5"),
            b"<delete><object>GLBATCH</object><keys>5</keys></delete>",
        ),
        ("ar_payment", RecordRef(recordno="6"), b"<delete><object>ARPYMT</object><keys>6</keys></delete>"),
    ],
)
def test_delete_forms(name: str, ref: RecordRef, expected: bytes) -> None:
    assert etree.tostring(get_object(name).build_delete(ref)) == expected


# --- AR payments ----------------------------------------------------------------------------------

PAYMENT_ROW: dict[str, Any] = {
    "FINANCIALENTITY": "BOA",
    "PAYMENTMETHOD": "eft",
    "CUSTOMERID": "C1",
    "DOCNUMBER": "CHK-1",
    "RECEIPTDATE": "2024-05-01",
    "TRX_AMOUNTTOPAY": "125.00",
}


def test_applied_payment_is_a_generic_arpymt() -> None:
    body = PAYMENT.build_create(
        {**PAYMENT_ROW, "ARPYMTDETAILS": [{"RECORDKEY": "101", "TRX_PAYMENTAMOUNT": 125}]}, {}
    )
    assert body.tag == "create"
    assert tags(body.find("ARPYMT")) == [
        "FINANCIALENTITY", "PAYMENTMETHOD", "CUSTOMERID", "DOCNUMBER", "RECEIPTDATE", "TRX_AMOUNTTOPAY",
        "ARPYMTDETAILS",
    ]  # fmt: skip
    assert body.findtext("ARPYMT/PAYMENTMETHOD") == "EFT"


@pytest.mark.parametrize("details", [None, []])
def test_unapplied_payment_is_sent_with_create_arpayment(details: Any) -> None:
    body = PAYMENT.build_create({**PAYMENT_ROW, "ARPYMTDETAILS": details, "DESCRIPTION": None}, {})
    assert [(c.tag, c.text) for c in body if len(c) == 0] == [
        ("customerid", "C1"),
        ("paymentamount", "125.00"),
        ("bankaccountid", "BOA"),
        ("refid", "CHK-1"),
        ("paymentmethod", "EFT"),
    ]
    assert body.tag == "create_arpayment"
    assert body.find("datereceived/year").text == "2024"


def test_unapplied_payment_refuses_fields_create_arpayment_lacks() -> None:
    with pytest.raises(RowRejected) as caught:
        PAYMENT.build_create({**PAYMENT_ROW, "DESCRIPTION": "advance"}, {})
    assert caught.value.field == "DESCRIPTION"
    assert "create_arpayment, which has no DESCRIPTION" in caught.value.reason


def test_unapplied_payment_errors_name_the_mapped_field() -> None:
    row = dict(PAYMENT_ROW)
    del row["TRX_AMOUNTTOPAY"]
    with pytest.raises(RowRejected) as caught:
        PAYMENT.build_create(row, {})
    assert caught.value.field == "TRX_AMOUNTTOPAY"
    assert "missing required field" in caught.value.reason
    assert "paymentamount comes from TRX_AMOUNTTOPAY" in caught.value.reason


def test_legacy_payment_needs_a_bank_or_summary() -> None:
    with pytest.raises(RowRejected) as caught:
        PAYMENT.build_create(
            {"customerid": "C1", "paymentamount": 5, "datereceived": "2024-05-01", "paymentmethod": "Cash"},
            {},
        )
    assert caught.value.field == "bankaccountid"
    assert "give one of bankaccountid, undepfundsacct, batchkey" in caught.value.reason


# --- reading results ------------------------------------------------------------------------------


def data(xml: str) -> etree._Element:
    return etree.fromstring(xml)


@pytest.mark.parametrize(
    ("name", "xml", "key", "expected"),
    [
        (
            "customer",
            "<data listtype='objects' count='1'><customer><RECORDNO>8346</RECORDNO>"
            "<CUSTOMERID>C1001</CUSTOMERID></customer></data>",
            None,
            RecordRef("8346", "C1001"),
        ),
        (
            "contact",
            "<data count='1'>\n <!-- note -->\n <contact><RECORDNO> 11 </RECORDNO>"
            "<CONTACTNAME>Jane</CONTACTNAME></contact></data>",
            None,
            RecordRef("11", "Jane"),
        ),
        (
            "journal_entry",
            "<data listtype='objects' count='1'><glbatch><RECORDNO>77</RECORDNO></glbatch></data>",
            None,
            RecordRef("77"),
        ),
        (
            "ar_payment",
            "<data listtype='objects' count='1'><arpymt><RECORDNO>5</RECORDNO></arpymt></data>",
            None,
            RecordRef("5"),
        ),
        ("ar_payment", None, "6", RecordRef("6")),
        ("invoice", None, " 9001 ", RecordRef("9001")),
        ("ar_adjustment", None, "12", RecordRef("12")),
        ("transaction", None, "Sales Order-SO0042", RecordRef(id="Sales Order-SO0042")),
        ("transaction", None, "4711", RecordRef(recordno="4711")),
        ("customer", "<data listtype='objects' count='0'/>", None, RecordRef()),
        ("invoice", None, None, RecordRef()),
    ],
)
def test_ref_from_result(name: str, xml: str | None, key: str | None, expected: RecordRef) -> None:
    assert get_object(name).ref_from_result(data(xml) if xml else None, key) == expected


# --- concurrency ----------------------------------------------------------------------------------


def test_builders_are_safe_across_threads() -> None:
    def build(i: int) -> bytes:
        if i % 7 == 0:
            with pytest.raises(RowRejected):
                CUSTOMER.build_create({"NAME": "x" * 101}, {})
        return etree.tostring(CUSTOMER.build_create({"CUSTOMERID": f"C{i}", "NAME": f"N{i}"}, {"REGION": i}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(build, range(400)))
    assert results[123] == (
        b"<create><CUSTOMER><CUSTOMERID>C123</CUSTOMERID><NAME>N123</NAME><DISPLAYCONTACT><PRINTAS>N123</PRINTAS>"
        b"</DISPLAYCONTACT><REGION>123</REGION></CUSTOMER></create>"
    )


def test_catalogue_is_complete() -> None:
    assert sorted(OBJECTS) == [
        "ar_adjustment", "ar_payment", "contact", "customer", "invoice", "journal_entry", "transaction",
    ]  # fmt: skip
    for obj in OBJECTS.values():
        assert obj.modes <= {"insert", "update", "upsert"}
        assert obj.delete_behaviours <= {"nothing", "clear", "delete", "reverse"}
        assert ("update" in obj.modes) == (obj.update is not None)


def test_struct_columns_for_groups() -> None:
    body = CUSTOMER.build_create({"NAME": "A", "DISPLAYCONTACT": None, "BILLTO": {"CONTACTNAME": None}}, {})
    assert tags(body.find("CUSTOMER")) == ["NAME", "DISPLAYCONTACT"]  # only the PRINTAS default
    body = CUSTOMER.build_create(
        {"NAME": "A", "DISPLAYCONTACT": {"MAILADDRESS": None, "EMAIL1": "a@b.c"}}, {}
    )
    assert tags(body.find("CUSTOMER/DISPLAYCONTACT")) == ["PRINTAS", "EMAIL1"]
    with pytest.raises(RowRejected) as caught:
        CUSTOMER.build_create({"NAME": "A", "DISPLAYCONTACT": "a@b.c"}, {})
    assert (caught.value.field, caught.value.reason) == (
        "DISPLAYCONTACT",
        "expected the fields of DISPLAYCONTACT as a struct, got 'a@b.c'",
    )


def test_record_keys_from_the_warehouse_may_be_numbers() -> None:
    ref = RecordRef(recordno=42, id=7)  # type: ignore[arg-type]
    body = CUSTOMER.build_update(ref, {"NAME": "n"}, {})
    children = [(c.tag, c.text) for c in body.find("CUSTOMER")]
    assert children == [("RECORDNO", "42"), ("NAME", "n"), ("DISPLAYCONTACT", None)]
    assert etree.tostring(INVOICE.build_delete(ref)) == b'<delete_invoice key="42"/>'
    with pytest.raises(RowRejected) as caught:
        CUSTOMER.build_update(RecordRef(id="C\x001"), {"NAME": "n"}, {})
    assert caught.value.reason.startswith("the record key contains U+0000")
