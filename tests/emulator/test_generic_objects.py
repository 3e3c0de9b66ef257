"""Generic (3.0) create, update, delete, read and readByName of CUSTOMER, CONTACT, GLBATCH and ARPYMT,
and the rules that refuse a function with a failure naming the record or field."""

from __future__ import annotations

import pytest

from tests.emulator.support import GatewayClient, customer_xml, function, invoice_xml, journal_xml

BALANCED = [("6000", "1", "125.50"), ("1000", "-1", "125.50")]


def test_customer_round_trip(gw: GatewayClient) -> None:
    created = gw.create(
        customer_xml(
            "C100",
            "Acme & Sons",
            "<STATUS>active</STATUS><TERMNAME>N30</TERMNAME><CREDITLIMIT>1000.50</CREDITLIMIT><REGION>EMEA</REGION>"
            "<ONHOLD>FALSE</ONHOLD>",
        )
    ).ok()
    (summary,) = created.records()
    assert list(summary) == ["RECORDNO", "CUSTOMERID"]
    assert created.data is not None and created.data.attrib == {"listtype": "objects", "count": "1"}
    recordno = str(summary["RECORDNO"])
    read = gw.one(f"<read><object>CUSTOMER</object><keys>{recordno}</keys><fields>*</fields></read>").ok()
    assert read.data is not None and read.data.get("listtype") == "CUSTOMER"
    (row,) = read.records()
    assert read.data[0].tag == "CUSTOMER"
    assert row["NAME"] == "Acme & Sons"
    assert row["DISPLAYCONTACT"] == {"PRINTAS": "Acme & Sons"}
    assert (row["REGION"], row["CREDITLIMIT"], row["ONHOLD"]) == ("EMEA", "1000.50", "false")
    assert row["WHENCREATED"] and row["WHENMODIFIED"]
    by_name = gw.one(
        "<readByName><object>CUSTOMER</object><keys>C100,NOPE</keys><fields>RECORDNO,NAME</fields></readByName>"
    )
    assert by_name.ok().records() == [{"RECORDNO": recordno, "NAME": "Acme & Sons"}]


def test_update_by_id_or_recordno_clears_and_keeps(gw: GatewayClient) -> None:
    recordno = (
        gw.create(customer_xml("C1", extra="<COMMENTS>note</COMMENTS><TAXID>99</TAXID>"))
        .ok()
        .records()[0]["RECORDNO"]
    )
    gw.one(
        "<update><CUSTOMER><CUSTOMERID>C1</CUSTOMERID><COMMENTS/><NAME>Renamed</NAME></CUSTOMER></update>"
    ).ok()
    (row,) = gw.query("CUSTOMER", "CUSTOMERID = 'C1'")
    assert row["NAME"] == "Renamed"
    assert "COMMENTS" not in row  # cleared by the empty element
    assert row["TAXID"] == "99"  # left out: unchanged
    renamed = gw.one(
        f"<update><CUSTOMER><RECORDNO>{recordno}</RECORDNO><CUSTOMERID>C1-NEW</CUSTOMERID></CUSTOMER></update>"
    )
    assert renamed.ok().records() == [{"RECORDNO": recordno, "CUSTOMERID": "C1-NEW"}]
    assert gw.query("CUSTOMER", "CUSTOMERID = 'C1'") == []


def test_update_missing_record_and_required_cleared(gw: GatewayClient) -> None:
    missing = gw.one("<update><CUSTOMER><CUSTOMERID>NOPE</CUSTOMERID><NAME>x</NAME></CUSTOMER></update>")
    assert missing.errornos == ["BL01001973"]
    assert "NOPE" in missing.message
    assert missing.data is not None and missing.data.get("count") == "0"
    gw.create(customer_xml("C2")).ok()
    cleared = gw.one("<update><CUSTOMER><CUSTOMERID>C2</CUSTOMERID><NAME></NAME></CUSTOMER></update>")
    assert cleared.errornos == ["BL03000018", "BL01001973"]
    assert "NAME" in cleared.message
    no_key = gw.one("<update><CUSTOMER><NAME>x</NAME></CUSTOMER></update>")
    assert no_key.errornos[0] == "BL03000018" and "RECORDNO or CUSTOMERID" in no_key.message


def test_rename_onto_an_existing_id_is_a_duplicate(gw: GatewayClient) -> None:
    gw.create(customer_xml("A")).ok()
    b = gw.create(customer_xml("B")).ok().records()[0]["RECORDNO"]
    clash = gw.one(
        f"<update><CUSTOMER><RECORDNO>{b}</RECORDNO><CUSTOMERID>A</CUSTOMERID></CUSTOMER></update>"
    )
    assert clash.errornos[0] == "BL34000061"


@pytest.mark.parametrize(
    ("xml", "errorno", "named"),
    [
        (
            customer_xml("R1", extra="<FAVOURITE_COLOUR>red</FAVOURITE_COLOUR>"),
            "BL03000030",
            "FAVOURITE_COLOUR",
        ),
        (customer_xml("R2", extra="<DISPLAYCONTACT2/>"), "BL03000030", "DISPLAYCONTACT2"),
        (
            "<CUSTOMER><CUSTOMERID>R3</CUSTOMERID><NAME>x</NAME><DISPLAYCONTACT><SHOESIZE>9</SHOESIZE></DISPLAYCONTACT></CUSTOMER>",
            "BL03000030",
            "CUSTOMER.DISPLAYCONTACT.SHOESIZE",
        ),
        (
            "<CUSTOMER><CUSTOMERID>R4</CUSTOMERID><NAME>x</NAME></CUSTOMER>",
            "BL03000018",
            "DISPLAYCONTACT.PRINTAS",
        ),
        (
            "<CUSTOMER><NAME>x</NAME><DISPLAYCONTACT><PRINTAS>x</PRINTAS></DISPLAYCONTACT></CUSTOMER>",
            "BL03000018",
            "CUSTOMERID",
        ),
        (customer_xml("R5", extra="<TERMNAME>N99</TERMNAME>"), "BL03000025", "N99"),
        (customer_xml("R6", extra="<ARACCOUNT>9999</ARACCOUNT>"), "BL03000025", "9999"),
        (customer_xml("R7", extra="<STATUS>sleeping</STATUS>"), "BL03000029", "STATUS"),
        (customer_xml("R8", extra="<CREDITLIMIT>lots</CREDITLIMIT>"), "BL03000029", "CREDITLIMIT"),
        (customer_xml("R9", extra="<ONHOLD>perhaps</ONHOLD>"), "BL03000029", "ONHOLD"),
        (customer_xml("R10", extra="<RECORDNO>5</RECORDNO>"), "BL03000030", "RECORDNO"),
        (customer_xml("R11", extra="<WHENCREATED>01/01/2020</WHENCREATED>"), "BL03000030", "WHENCREATED"),
        ("<VENDOR><VENDORID>V1</VENDORID></VENDOR>", "BL01001973", "VENDOR"),
        ("<ARINVOICE><CUSTOMERID>C</CUSTOMERID></ARINVOICE>", "BL01001973", "create_invoice"),
    ],
)
def test_customer_create_refusals(gw: GatewayClient, xml: str, errorno: str, named: str) -> None:
    result = gw.create(xml)
    assert result.status == "failure"
    assert result.errornos[0] == errorno
    assert named in result.errors[0].description2
    assert all(error.description2 for error in result.errors)
    assert gw.query("CUSTOMER") == []


def test_duplicate_customer_answer(gw: GatewayClient) -> None:
    gw.create(customer_xml("DUP-1")).ok()
    result = gw.create(customer_xml("DUP-1"))
    assert result.errornos == ["BL34000061", "BL01001973"]
    assert result.errors[0].description2 == "Another Customer with the given value(s) DUP-1 already exists"
    assert result.errors[0].correction == "Use a unique value instead."
    assert result.errors[1].description2 == "Could not create Customer record!"


def test_contact_rules_and_delete(gw: GatewayClient) -> None:
    assert gw.create("<CONTACT><CONTACTNAME>Jane</CONTACTNAME></CONTACT>").errornos[0] == "BL03000018"
    created = gw.create(
        "<CONTACT><CONTACTNAME>Jane</CONTACTNAME><PRINTAS>Jane Doe</PRINTAS>"
        "<MAILADDRESS><CITY>Leeds</CITY></MAILADDRESS></CONTACT>"
    ).ok()
    assert (
        gw.create("<CONTACT><CONTACTNAME>Jane</CONTACTNAME><PRINTAS>J</PRINTAS></CONTACT>").errornos[0]
        == "BL34000061"
    )
    recordno = created.records()[0]["RECORDNO"]
    (row,) = gw.query("CONTACT")
    assert (row["STATUS"], row["MAILADDRESS"]) == ("active", {"CITY": "Leeds"})
    gw.one(f"<delete><object>CONTACT</object><keys>{recordno}</keys></delete>").ok()
    assert gw.query("CONTACT") == []


def test_delete_several_keys_and_missing_keys(gw: GatewayClient) -> None:
    keys = [gw.create(customer_xml(f"D{n}")).ok().records()[0]["RECORDNO"] for n in range(3)]
    missing = gw.one(f"<delete><object>CUSTOMER</object><keys>{keys[0]},999999</keys></delete>")
    assert missing.errornos == ["BL01001973"]
    assert "999999" in missing.message
    assert len(gw.query("CUSTOMER")) == 3  # nothing deleted: the function failed as a whole
    gw.one(f"<delete><object>CUSTOMER</object><keys>{keys[0]}, {keys[1]}</keys></delete>").ok()
    assert [row["CUSTOMERID"] for row in gw.query("CUSTOMER")] == ["D2"]
    contact_key_on_customer = gw.one(f"<delete><object>CONTACT</object><keys>{keys[2]}</keys></delete>")
    assert contact_key_on_customer.errornos == ["BL01001973"]  # a RECORDNO of another object


def test_journal_entry_round_trip(gw: GatewayClient) -> None:
    created = gw.create(journal_xml(BALANCED, extra="<SOURCE_SYSTEM>dbt</SOURCE_SYSTEM>")).ok()
    (summary,) = created.records()
    assert created.data is not None and created.data[0].tag == "glbatch"
    assert list(summary) == ["RECORDNO"]
    (row,) = gw.query("GLBATCH")
    assert row["STATE"] == "Posted"
    assert row["SOURCE_SYSTEM"] == "dbt"
    assert row["BATCHNO"] == summary["RECORDNO"]
    lines = row["ENTRIES"]["GLENTRY"]  # type: ignore[index]
    assert [(line["ACCOUNTNO"], line["TR_TYPE"], line["TRX_AMOUNT"]) for line in lines] == BALANCED


@pytest.mark.parametrize(
    ("lines", "extra", "errorno", "named"),
    [
        ([("6000", "1", "100.00"), ("1000", "-1", "99.99")], "", "BL03000043", "difference 0.01"),
        ([("6000", "1", "100")], "", "BL03000043", "at least two"),
        ([("6000", "1", "10"), ("9999", "-1", "10")], "", "BL03000025", "9999"),
        ([("6000", "1", "10"), ("1000", "2", "10")], "", "BL03000029", "TR_TYPE"),
        ([("6000", "1", "ten"), ("1000", "-1", "10")], "", "BL03000029", "TRX_AMOUNT"),
        ([("6000", "1", "-10"), ("1000", "-1", "-10")], "", "BL03000029", "TRX_AMOUNT"),
        (BALANCED, "<REVERSEDATE>05/01/2024</REVERSEDATE>", "BL03000029", "REVERSEDATE"),
        (BALANCED, "<BASELOCATION_NO>999</BASELOCATION_NO>", "BL03000025", "999"),
        (BALANCED, "<STATE>Approved</STATE>", "BL03000029", "STATE"),
        (BALANCED, "<MEMO>x</MEMO>", "BL03000030", "MEMO"),
    ],
)
def test_journal_entry_refusals(
    gw: GatewayClient, lines: list[tuple[str, str, str]], extra: str, errorno: str, named: str
) -> None:
    result = gw.create(journal_xml(lines, extra=extra))
    assert result.errornos[0] == errorno
    assert named in result.errors[0].description2


def test_journal_entry_line_references_and_custom_fields(gw: GatewayClient) -> None:
    def entry(line_extra: str) -> str:
        return (
            "<GLBATCH><JOURNAL>GJ</JOURNAL><BATCH_DATE>1/5/2025</BATCH_DATE><BATCH_TITLE>t</BATCH_TITLE><ENTRIES>"
            f"<GLENTRY><ACCOUNTNO>6000</ACCOUNTNO><TR_TYPE>1</TR_TYPE><TRX_AMOUNT>5</TRX_AMOUNT>{line_extra}</GLENTRY>"
            "<GLENTRY><ACCOUNTNO>1000</ACCOUNTNO><TR_TYPE>-1</TR_TYPE><TRX_AMOUNT>5.00</TRX_AMOUNT></GLENTRY>"
            "</ENTRIES></GLBATCH>"
        )

    assert "LOCATION" in gw.create(entry("<LOCATION>MARS</LOCATION>")).message
    assert "DEPARTMENT" in gw.create(entry("<DEPARTMENT>NOPE</DEPARTMENT>")).message
    assert gw.create(entry("<AMOUNT>5</AMOUNT>")).errornos[0] == "BL03000030"  # the SDKs' name is TRX_AMOUNT
    bad_journal = gw.create(entry("").replace("<JOURNAL>GJ</JOURNAL>", "<JOURNAL>XX</JOURNAL>"))
    assert bad_journal.errornos[0] == "BL03000025" and "Journal 'XX'" in bad_journal.message
    gw.create(
        entry("<LOCATION>100</LOCATION><DEPARTMENT>ADM</DEPARTMENT><COST_CENTER>CC1</COST_CENTER>")
    ).ok()
    (row,) = gw.query("GLBATCH")
    assert row["BATCH_DATE"] == "01/05/2025"  # unpadded input, stored as Intacct writes dates


def test_journal_entry_update_replaces_entries(gw: GatewayClient) -> None:
    recordno = gw.create(journal_xml(BALANCED)).ok().records()[0]["RECORDNO"]
    partial = gw.one(
        f"<update><GLBATCH><RECORDNO>{recordno}</RECORDNO><BATCH_TITLE>t</BATCH_TITLE></GLBATCH></update>"
    )
    assert partial.errornos[0] == "BL03000018"  # BATCH_DATE and ENTRIES are required on update
    entries = journal_xml([("6500", "1", "7"), ("1000", "-1", "3"), ("1010", "-1", "4")], title="New")
    body = entries.replace("<GLBATCH>", f"<GLBATCH><RECORDNO>{recordno}</RECORDNO>")
    gw.one(f"<update>{body}</update>").ok()
    (row,) = gw.query("GLBATCH")
    assert row["BATCH_TITLE"] == "New"
    assert len(row["ENTRIES"]["GLENTRY"]) == 3  # type: ignore[index]


def test_payment_applies_to_invoices_and_is_undone_on_delete(gw: GatewayClient) -> None:
    gw.create(customer_xml("P1")).ok()
    gw.create(customer_xml("P2")).ok()
    invoice = gw.one(invoice_xml("P1", "100.00")).ok().key

    def payment(amount: str, customer: str = "P1", key: str | None = None, extra: str = "") -> str:
        return (
            f"<ARPYMT><FINANCIALENTITY>BOA</FINANCIALENTITY><PAYMENTMETHOD>EFT</PAYMENTMETHOD>"
            f"<CUSTOMERID>{customer}</CUSTOMERID><RECEIPTDATE>02/01/2025</RECEIPTDATE>{extra}"
            f"<ARPYMTDETAILS><ARPYMTDETAIL><RECORDKEY>{key or invoice}</RECORDKEY>"
            f"<TRX_PAYMENTAMOUNT>{amount}</TRX_PAYMENTAMOUNT></ARPYMTDETAIL></ARPYMTDETAILS></ARPYMT>"
        )

    assert gw.create(payment("100.01")).errornos[0] == "BL03000050"  # more than is due
    assert gw.create(payment("10", customer="P2")).errornos[0] == "BL03000050"  # another customer's invoice
    assert gw.create(payment("10", key="999999")).errornos[0] == "BL03000025"
    assert "BOB" in gw.create(payment("10").replace("BOA", "BOB")).message
    assert gw.create(payment("10").replace("EFT", "Barter")).errornos[0] == "BL03000029"
    no_bank = payment("10").replace("<FINANCIALENTITY>BOA</FINANCIALENTITY>", "")
    assert "FINANCIALENTITY" in gw.create(no_bank).message
    created = gw.create(payment("60.00")).ok()
    recordno = created.records()[0]["RECORDNO"]
    (paid,) = gw.query("ARINVOICE")
    assert (paid["TOTALPAID"], paid["TOTALDUE"], paid["STATE"], paid["WHENPAID"]) == (
        "60.00",
        "40.00",
        "Partially Paid",
        "02/01/2025",
    )
    (stored,) = gw.query("ARPYMT")
    assert (stored["TOTALPAID"], stored["CUSTOMERNAME"], stored["STATE"]) == (
        "60.00",
        "Customer P1",
        "Complete",
    )
    changed = payment("100.00").replace("<ARPYMT>", f"<ARPYMT><RECORDNO>{recordno}</RECORDNO>")
    gw.one(f"<update>{changed}</update>").ok()
    assert gw.query("ARINVOICE")[0]["STATE"] == "Paid"
    gw.one(f"<delete><object>ARPYMT</object><keys>{recordno}</keys></delete>").ok()
    (unpaid,) = gw.query("ARINVOICE")
    assert (unpaid["TOTALPAID"], unpaid["TOTALDUE"], unpaid["STATE"]) == ("0.00", "100.00", "Posted")


def test_undeposited_funds_payment_and_draft_invoice(gw: GatewayClient) -> None:
    gw.create(customer_xml("P3")).ok()
    draft = gw.one(invoice_xml("P3", extra_header="<action>Draft</action>")).ok().key
    body = (
        "<ARPYMT><UNDEPOSITEDACCOUNTNO>1030</UNDEPOSITEDACCOUNTNO><PAYMENTMETHOD>Cash</PAYMENTMETHOD>"
        "<CUSTOMERID>P3</CUSTOMERID><RECEIPTDATE>02/01/2025</RECEIPTDATE><ARPYMTDETAILS><ARPYMTDETAIL>"
        f"<RECORDKEY>{draft}</RECORDKEY><TRX_PAYMENTAMOUNT>5</TRX_PAYMENTAMOUNT></ARPYMTDETAIL></ARPYMTDETAILS></ARPYMT>"
    )
    assert "draft" in gw.create(body).message


def test_create_several_objects_in_one_function(gw: GatewayClient) -> None:
    result = gw.create(
        customer_xml("M1") + "<CONTACT><CONTACTNAME>M</CONTACTNAME><PRINTAS>M</PRINTAS></CONTACT>"
    ).ok()
    assert result.data is not None
    assert [row.tag for row in result.data] == ["customer", "contact"]
    assert result.data is not None and result.data.get("count") == "2"


def test_read_and_readbyname_edge_cases(gw: GatewayClient) -> None:
    gw.create(customer_xml("E1")).ok()
    empty = gw.one("<read><object>CUSTOMER</object><keys>424242</keys><fields>*</fields></read>").ok()
    assert empty.data is not None and empty.data.get("count") == "0"
    unknown_field = gw.one(
        "<readByName><object>CUSTOMER</object><keys>E1</keys><fields>SHOESIZE</fields></readByName>"
    )
    assert unknown_field.errornos == ["Query Failed"]
    no_name = gw.one("<readByName><object>GLBATCH</object><keys>1</keys></readByName>")
    assert no_name.errornos == ["Query Failed"]
    nested = gw.one(
        "<readByName><object>CUSTOMER</object><keys>E1</keys><fields>CUSTOMERID,DISPLAYCONTACT.PRINTAS</fields></readByName>"
    ).ok()
    assert nested.records() == [{"CUSTOMERID": "E1", "DISPLAYCONTACT": {"PRINTAS": "Customer E1"}}]


def test_reference_objects_are_readable(gw: GatewayClient) -> None:
    accounts = {row["ACCOUNTNO"] for row in gw.query("GLACCOUNT", fields="ACCOUNTNO,TITLE")}
    assert {"1000", "1200", "4000", "6000"} <= accounts
    assert gw.query("GLJOURNAL", "SYMBOL = 'GJ'", "SYMBOL")
    assert gw.query("CHECKINGACCOUNT", "BANKACCOUNTID = 'BOA'", "BANKACCOUNTID")
    assert gw.query("ARTERM", "NAME = 'N30'", "NAME")
    assert gw.query("ITEM", "ITEMID = 'WIDGET'", "ITEMID")
    assert {row["DOCID"] for row in gw.query("SODOCUMENTPARAMS", fields="DOCID")} >= {
        "Sales Order",
        "Sales Invoice",
    }
    read = gw.one(
        "<readByName><object>GLACCOUNT</object><keys>4000</keys><fields>TITLE</fields></readByName>"
    )
    assert read.ok().records() == [{"TITLE": "Revenue"}]
    assert gw.create("<GLACCOUNT><ACCOUNTNO>1</ACCOUNTNO></GLACCOUNT>").status == "failure"


def test_function_with_two_bodies_or_no_controlid(gw: GatewayClient) -> None:
    two = gw.call(function("<getAPISession/><getAPISession/>")).result
    assert two.errornos == ["XL03000003"]
    reply = gw.call("<function><readByQuery><object>CUSTOMER</object><query/></readByQuery></function>")
    assert reply.result.errornos == ["XL03000003"]
