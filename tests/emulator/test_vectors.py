"""The SDK vectors: every function vector wrapped in a request, and every response vector's shape.

A vector is either accepted and applied, or refused for the reason it implies (an empty
``glaccountno``, a custom field or reference the company does not have). Where a refusal is only due
to missing reference data, the test seeds that data through the admin API and shows it is accepted.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from dbt_intacct.emulator import EmulatorAdmin, EmulatorConfig, EmulatorServer
from tests.emulator.support import (
    VECTORS,
    GatewayClient,
    customer_xml,
    envelope,
    function,
    invoice_xml,
    parse,
)


def vector(name: str) -> str:
    """A vector's XML without its declaration."""
    text = (VECTORS / f"{name}.xml").read_text("utf-8")
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", text)


def call_vector(gw: GatewayClient, name: str, *replacements: tuple[str, str]) -> Any:
    """Send a ``<function>`` vector (after text replacements) and return its result."""
    text = vector(name)
    for old, new in replacements:
        assert old in text, f"{name} has no {old!r}"
        text = text.replace(old, new)
    return gw.call(text).result


def seed(admin: EmulatorAdmin, **additions: Any) -> None:
    """Add rows and custom fields to the reference data in use."""
    data = copy.deepcopy(admin.reference())
    custom = additions.pop("custom_fields", {})
    for table, rows in additions.items():
        data.setdefault(table, []).extend(rows)
    for scope, names in custom.items():
        data["custom_fields"].setdefault(scope, []).extend(names)
    admin.set_reference(data)


FUNCTION_VECTORS = sorted(
    path.stem for path in VECTORS.glob("*.xml") if not path.stem.startswith(("response_", "envelope_"))
)


def test_every_function_vector_has_a_test() -> None:
    tested = {
        name.removeprefix("test_")
        for name in globals()
        if name.startswith("test_") and name.removeprefix("test_") in FUNCTION_VECTORS
    }
    assert tested == set(FUNCTION_VECTORS)


# --- customers and contacts ----------------------------------------------------------------------


def test_customer_create_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    refused = call_vector(gw, "customer_create_full")
    assert refused.errornos[0] == "BL03000030"
    assert "CUSTOMFIELD1" in refused.errors[0].description2
    seed(admin, custom_fields={"CUSTOMER": ["CUSTOMFIELD1"]})
    created = call_vector(gw, "customer_create_full").ok()
    assert created.records() == [{"RECORDNO": created.records()[0]["RECORDNO"], "CUSTOMERID": "C1234"}]
    (row,) = gw.query("CUSTOMER", "CUSTOMERID = 'C1234'")
    assert row["DISPLAYCONTACT"]["MAILADDRESS"]["CITY"] == "San Jose"  # type: ignore[index]
    assert row["RESTRICTEDLOCATIONS"] == "100#~#200"
    assert row["CUSTOMFIELD1"] == "Hello"
    assert row["TAXID"] == "12-3456789"


def test_customer_update_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    seed(admin, custom_fields={"CUSTOMER": ["CUSTOMFIELD1"]})
    call_vector(gw, "customer_create_full").ok()
    call_vector(gw, "customer_update_full").ok()
    (row,) = gw.query("CUSTOMER", "CUSTOMERID = 'C1234'")
    assert "EMAIL1" not in row["DISPLAYCONTACT"]  # type: ignore[operator]  # an empty element clears it
    assert row["DELIVERYOPTIONS"] == "Print#~#E-Mail"


def test_customer_delete_legacy(gw: GatewayClient) -> None:
    missing = call_vector(gw, "customer_delete_legacy")
    assert missing.errornos == ["BL01001973"]
    gw.create(customer_xml("C1234")).ok()
    call_vector(gw, "customer_delete_legacy").ok()
    assert gw.query("CUSTOMER", "CUSTOMERID = 'C1234'") == []


def test_contact_create(gw: GatewayClient) -> None:
    created = call_vector(gw, "contact_create").ok()
    assert created.records()[0]["CONTACTNAME"] == "hello"
    (row,) = gw.query("CONTACT", "CONTACTNAME = 'hello'")
    assert row["PRINTAS"] == "world"


def test_contact_update(gw: GatewayClient) -> None:
    assert call_vector(gw, "contact_update").errornos == ["BL01001973"]  # no such contact yet
    call_vector(gw, "contact_create").ok()
    updated = call_vector(gw, "contact_update").ok()
    assert updated.records()[0]["CONTACTNAME"] == "hello"


def test_contact_delete_legacy(gw: GatewayClient) -> None:
    call_vector(gw, "contact_create").ok()
    call_vector(gw, "contact_delete_legacy").ok()
    assert gw.query("CONTACT", "CONTACTNAME = 'hello'") == []


# --- invoices and adjustments --------------------------------------------------------------------

INVOICE_SEED = {"custom_fields": {"ARINVOICE": ["customfield1"], "ARINVOICEITEM": ["customfield1"]}}


def test_invoice_create_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("CUSTOMER1")).ok()
    refused = call_vector(gw, "invoice_create_full")
    assert refused.errornos[0] == "BL03000018"
    assert "glaccountno" in refused.errors[0].description2
    filled = ("<glaccountno></glaccountno>", "<glaccountno>4000</glaccountno>")
    unknown = call_vector(gw, "invoice_create_full", filled)
    assert unknown.errornos[0] == "BL03000030" and "CUSTOMFIELD1" in unknown.message
    seed(admin, **INVOICE_SEED)
    created = call_vector(gw, "invoice_create_full", filled).ok()
    (invoice,) = gw.query("ARINVOICE", f"RECORDNO = {created.key}")
    assert invoice["RECORDID"] == "234"
    assert invoice["DOCNUMBER"] == "234235"
    assert invoice["WHENDUE"] == "09/24/2020"
    assert invoice["TERMNAME"] == "N30"
    assert invoice["BILLTO"] == {"CONTACTNAME": "28952"}
    assert invoice["CUSTOMFIELD1"] == "customvalue1"
    assert invoice["TOTALENTERED"] == "76343.43"


def test_invoice_line_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("Customer1")).ok()
    line = vector("invoice_line_full")
    invoice = (
        "<create_invoice><customerid>Customer1</customerid>"
        "<datecreated><year>2016</year><month>06</month><day>01</day></datecreated>"
        f"<invoiceitems>{line}</invoiceitems></create_invoice>"
    )
    refused = gw.one(invoice)
    assert refused.errornos[0] == "BL03000025"
    assert "TestBill Account1" in refused.errors[0].description2
    seed(
        admin,
        account_labels=[{"ACCOUNTLABEL": "TestBill Account1", "GLACCOUNTNO": "4000"}],
        gl_accounts=[{"ACCOUNTNO": "93590253", "TITLE": "Offset"}],
        locations=[{"LOCATIONID": "Location1", "NAME": "Location 1"}],
        departments=[{"DEPARTMENTID": "Department1", "TITLE": "Department 1"}],
        **INVOICE_SEED,
    )
    created = gw.one(invoice).ok()
    (row,) = gw.query("ARINVOICE", f"RECORDNO = {created.key}")
    (item,) = [row["ARINVOICEITEMS"]["arinvoiceitem"]]  # type: ignore[index]
    assert item["ACCOUNTNO"] == "4000"
    assert item["ACCOUNTLABEL"] == "TestBill Account1"
    assert item["ENTRYDESCRIPTION"] == "Just another memo"
    assert item["LOCATIONID"] == "Location1"
    assert item["REVRECSTARTDATE"] == "06/01/2016"


def test_invoice_update_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("CUSTOMER1")).ok()
    seed(admin, **INVOICE_SEED)
    filled = ("<glaccountno></glaccountno>", "<glaccountno>4000</glaccountno>")
    created = call_vector(gw, "invoice_create_full", filled).ok()
    refused = call_vector(gw, "invoice_update_full")  # its new line has an empty glaccountno
    assert refused.errornos[0] == "BL03000018" and "glaccountno" in refused.message
    call_vector(gw, "invoice_update_full", ("<glaccountno />", "<glaccountno>4100</glaccountno>")).ok()
    (row,) = gw.query("ARINVOICE", f"RECORDNO = {created.key}")
    lines = row["ARINVOICEITEMS"]["arinvoiceitem"]  # type: ignore[index]
    assert [line["AMOUNT"] for line in lines] == ["1000", "76343.43"]
    assert row["TOTALENTERED"] == "77343.43"
    assert row["BILLTOPAYTOCONTACTNAME"] == "28952"


def test_invoice_delete_legacy(gw: GatewayClient) -> None:
    assert call_vector(gw, "invoice_delete_legacy").errornos == ["BL01001973"]
    gw.create(customer_xml("C1")).ok()
    key = gw.one(invoice_xml("C1")).ok().key
    call_vector(gw, "invoice_delete_legacy", ('key="1234"', f'key="{key}"')).ok()
    assert gw.query("ARINVOICE") == []


def test_ar_adjustment_create_full(gw: GatewayClient) -> None:
    gw.create(customer_xml("CUSTOMER1")).ok()
    refused = call_vector(gw, "ar_adjustment_create_full")
    assert refused.errornos[0] == "BL03000018" and "glaccountno" in refused.message
    created = call_vector(
        gw, "ar_adjustment_create_full", ("<glaccountno></glaccountno>", "<glaccountno>4000</glaccountno>")
    )
    created.ok()
    (row,) = gw.query("ARADJUSTMENT", f"RECORDNO = {created.key}")
    assert row["RECORDID"] == "234235"
    assert row["INVOICENO"] == "234"
    assert row["TOTALENTERED"] == "76343.43"
    assert row["STATE"] == "Posted"


def test_ar_payment_create_legacy(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("C0020")).ok()
    refused = call_vector(gw, "ar_payment_create_legacy")
    assert refused.errornos[0] == "BL03000025" and "'US'" in refused.message  # overpaylocid
    seed(
        admin,
        locations=[{"LOCATIONID": "US", "NAME": "US"}],
        departments=[{"DEPARTMENTID": "CS", "TITLE": "CS"}],
    )
    refused = call_vector(gw, "ar_payment_create_legacy")
    assert refused.errornos[0] == "BL03000025" and "Invoice '1000'" in refused.message
    first = gw.one(invoice_xml("C0020", "75.00")).ok().key
    second = gw.one(invoice_xml("C0020", "30.00")).ok().key
    paid = call_vector(
        gw,
        "ar_payment_create_legacy",
        ("<invoicekey>1000</invoicekey>", f"<invoicekey>{first}</invoicekey>"),
        ("<invoicekey>1001</invoicekey>", f"<invoicekey>{second}</invoicekey>"),
    ).ok()
    (payment,) = gw.query("ARPYMT", f"RECORDNO = {paid.key}")
    assert payment["TOTALENTERED"] == "100.99"
    assert payment["PAYMENTMETHOD"] == "Printed Check"
    assert payment["RECEIPTDATE"] == "06/30/2016"
    invoices = {row["RECORDNO"]: row for row in gw.query("ARINVOICE")}
    assert (invoices[first]["TOTALDUE"], invoices[first]["STATE"]) == ("0.00", "Paid")
    assert (invoices[second]["TOTALDUE"], invoices[second]["STATE"]) == ("4.01", "Partially Paid")


# --- journal entries -----------------------------------------------------------------------------


def test_journal_entry_create_header(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    refused = call_vector(gw, "journal_entry_create_header")
    assert refused.errornos[0] == "BL03000030" and "CUSTOMFIELD01" in refused.message
    seed(admin, custom_fields={"GLBATCH": ["CUSTOMFIELD01"]})
    refused = call_vector(gw, "journal_entry_create_header")
    assert refused.errornos[0] == "BL03000018"
    assert "ACCOUNTNO" in refused.message and "line 1" in refused.message
    text = vector("journal_entry_create_header")
    text = re.sub(
        r"<ENTRIES>.*</ENTRIES>",
        "<ENTRIES>"
        "<GLENTRY><ACCOUNTNO>6000</ACCOUNTNO><TR_TYPE>1</TR_TYPE><TRX_AMOUNT>10</TRX_AMOUNT></GLENTRY>"
        "<GLENTRY><ACCOUNTNO>1000</ACCOUNTNO><TR_TYPE>-1</TR_TYPE><TRX_AMOUNT>10</TRX_AMOUNT></GLENTRY>"
        "</ENTRIES>",
        text,
        flags=re.DOTALL,
    )
    created = gw.call(text).result.ok()
    (row,) = gw.query("GLBATCH", f"RECORDNO = {created.records()[0]['RECORDNO']}")
    assert (row["JOURNAL"], row["BATCH_DATE"], row["REVERSEDATE"]) == ("GJ", "06/30/2016", "07/01/2016")
    assert row["CUSTOMFIELD01"] == "test01"
    assert row["STATE"] == "Posted"


def _journal_with(line: str, other: str) -> str:
    return (
        "<create><GLBATCH><JOURNAL>GJ</JOURNAL><BATCH_DATE>06/30/2016</BATCH_DATE><BATCH_TITLE>t</BATCH_TITLE>"
        f"<ENTRIES>{line}{other}</ENTRIES></GLBATCH></create>"
    )


def test_journal_entry_line_debit_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    line = vector("journal_entry_line_debit_full")
    credit = (
        "<GLENTRY><ACCOUNTNO>4000</ACCOUNTNO><TR_TYPE>-1</TR_TYPE><TRX_AMOUNT>1456.54</TRX_AMOUNT></GLENTRY>"
    )
    refused = gw.one(_journal_with(line, credit))
    assert refused.errornos[0] == "BL03000030" and "CUSTOM01" in refused.message
    seed(admin, custom_fields={"GLENTRY": ["CUSTOM01"]})
    created = gw.one(_journal_with(line, credit)).ok()
    (row,) = gw.query("GLBATCH", f"RECORDNO = {created.records()[0]['RECORDNO']}")
    debit = row["ENTRIES"]["GLENTRY"][0]  # type: ignore[index]
    assert (debit["ACCOUNTNO"], debit["LOCATION"], debit["DEPARTMENT"], debit["CUSTOM01"]) == (
        "1010",
        "100",
        "ADM",
        "123",
    )
    assert debit["EXCH_RATE_DATE"] == "06/30/2016"


def test_journal_entry_line_credit(gw: GatewayClient) -> None:
    line = vector("journal_entry_line_credit")
    debit = (
        "<GLENTRY><ACCOUNTNO>6000</ACCOUNTNO><TR_TYPE>1</TR_TYPE><TRX_AMOUNT>400.23</TRX_AMOUNT></GLENTRY>"
    )
    refused = gw.one(_journal_with(debit, line))
    assert refused.errornos[0] == "BL03000018" and "line 2" in refused.message
    filled = line.replace("<ACCOUNTNO></ACCOUNTNO>", "<ACCOUNTNO>1000</ACCOUNTNO>")
    gw.one(_journal_with(debit, filled)).ok()


def test_journal_entry_delete(gw: GatewayClient) -> None:
    assert call_vector(gw, "journal_entry_delete").errornos == ["BL01001973"]
    entry = (
        "<GLBATCH><JOURNAL>GJ</JOURNAL><BATCH_DATE>01/31/2025</BATCH_DATE><BATCH_TITLE>x</BATCH_TITLE><ENTRIES>"
        "<GLENTRY><ACCOUNTNO>6000</ACCOUNTNO><TR_TYPE>1</TR_TYPE><TRX_AMOUNT>5</TRX_AMOUNT></GLENTRY>"
        "<GLENTRY><ACCOUNTNO>1000</ACCOUNTNO><TR_TYPE>-1</TR_TYPE><TRX_AMOUNT>5</TRX_AMOUNT></GLENTRY>"
        "</ENTRIES></GLBATCH>"
    )
    recordno = gw.create(entry).ok().records()[0]["RECORDNO"]
    call_vector(gw, "journal_entry_delete", ("<keys>1234</keys>", f"<keys>{recordno}</keys>")).ok()
    assert gw.query("GLBATCH") == []


# --- Order Entry transactions --------------------------------------------------------------------

SO_SEED = {
    "items": [
        {"ITEMID": "2390552", "NAME": "Vector item", "BASEPRICE": "2.00"},
        {"ITEMID": "02354032", "NAME": "Other item", "BASEPRICE": "3.00"},
    ],
    "custom_fields": {"SODOCUMENT": ["customfield1"]},
}


def test_transaction_create_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("23530")).ok()
    refused = call_vector(gw, "transaction_create_full")
    assert refused.errornos[0] == "BL03000025" and "2390552" in refused.message
    seed(admin, **SO_SEED)
    created = call_vector(gw, "transaction_create_full").ok()
    assert created.key == "Sales Order-23430"
    (row,) = gw.query("SODOCUMENT", "DOCID = 'Sales Order-23430'")
    assert (row["DOCNO"], row["DOCPARID"], row["CUSTVENDID"], row["STATE"]) == (
        "23430",
        "Sales Order",
        "23530",
        "Pending",
    )
    assert row["WHENCREATED"] == "06/30/2015"
    assert row["TOTAL"] == "446.00"  # 223 x the item's base price 2.00
    assert row["CREATEDFROM"] == "Sales Quote-Q1002"


def _sales_order(
    gw: GatewayClient, customer: str = "23530", definition: str = "Sales Order", number: str = ""
) -> str:
    document = f"<documentno>{number}</documentno>" if number else ""
    return str(
        gw.one(
            f"<create_sotransaction><transactiontype>{definition}</transactiontype>"
            "<datecreated><year>2025</year><month>1</month><day>5</day></datecreated>"
            f"<customerid>{customer}</customerid>{document}"
            "<sotransitems><sotransitem><itemid>WIDGET</itemid><quantity>3</quantity></sotransitem></sotransitems>"
            "</create_sotransaction>"
        )
        .ok()
        .key
    )


def test_transaction_update_full(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("23530")).ok()
    assert call_vector(gw, "transaction_update_full").errornos == ["BL01001973"]
    assert _sales_order(gw) == "Sales Order-SO0001"  # auto-numbered from the definition's prefix
    seed(admin, **SO_SEED)
    call_vector(gw, "transaction_update_full").ok()
    (row,) = gw.query("SODOCUMENT", "DOCID = 'Sales Order-SO0001'")
    assert (row["PONUMBER"], row["WHENDUE"], row["MESSAGE"]) == ("234235", "09/24/2020", "Submit")
    assert row["BILLTO"] == {"CONTACTNAME": "289533"}
    assert row["TERM"] == {"NAME": "N30"}


def test_transaction_update_lines(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("23530")).ok()
    _sales_order(gw)
    seed(admin, **SO_SEED)
    call_vector(gw, "transaction_update_lines").ok()
    (row,) = gw.query("SODOCUMENT", "DOCID = 'Sales Order-SO0001'")
    lines = row["SODOCUMENTENTRIES"]["sodocumententry"]  # type: ignore[index]
    assert [(line["ITEMID"], line["QUANTITY"], line["LINE_NO"]) for line in lines] == [
        ("02354032", "12", "0"),
        ("02354032", "1200", "1"),
    ]
    assert row["TOTAL"] == money_total(lines)


def money_total(lines: list[dict[str, str]]) -> str:
    return f"{sum(float(line['TOTAL']) for line in lines):.2f}"


def test_transaction_delete(gw: GatewayClient) -> None:
    assert call_vector(gw, "transaction_delete").errornos == ["BL01001973"]
    gw.create(customer_xml("23530")).ok()
    assert _sales_order(gw, definition="Sales Invoice", number="INV1234") == "Sales Invoice-INV1234"
    call_vector(gw, "transaction_delete").ok()
    assert gw.query("SODOCUMENT") == []


# --- envelopes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vector_company() -> Iterator[EmulatorServer]:
    """An emulator that accepts the credentials the envelope vectors carry."""
    config = EmulatorConfig(
        port=0,
        sender_id="testsenderid",
        sender_password="pass123!",
        company_id="testcompany",
        user_id="testuser",
        user_password="testpass",
    )
    with EmulatorServer(config) as running:
        yield running


def test_envelope_operation_login_getapisession(vector_company: EmulatorServer) -> None:
    operation = vector("envelope_operation_login_getapisession")
    body = (
        "<request><control><senderid>testsenderid</senderid><password>pass123!</password>"
        "<controlid>unittest</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control>"
        f"{operation}</request>"
    )
    reply = GatewayClient(vector_company.url).post(body.encode())
    result = reply.result.ok()
    assert result.element.findtext("data/api/sessionid")
    assert reply.root.findtext("operation/authentication/userid") == "testuser"


def test_envelope_request_session(vector_company: EmulatorServer) -> None:
    client = GatewayClient(vector_company.url)
    body = (VECTORS / "envelope_request_session.xml").read_bytes()
    unknown = client.post(body)  # iso-8859-1 declared; 'testsession..' is no session of ours
    assert unknown.auth_status == "failure"
    login = (
        "<request><control><senderid>testsenderid</senderid><password>pass123!</password><controlid>c</controlid>"
        "<uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control><operation><authentication><login>"
        "<userid>testuser</userid><companyid>testcompany</companyid><password>testpass</password></login>"
        '</authentication><content><function controlid="s"><getAPISession/></function></content>'
        "</operation></request>"
    )
    session = client.post(login.encode()).result.element.findtext("data/api/sessionid") or ""
    known = client.post(body.replace(b"testsession..", session.encode()))
    assert known.auth_status == "success"
    assert known.results == []


def test_envelope_control_uniqueid_policy(vector_company: EmulatorServer) -> None:
    control = vector("envelope_control_uniqueid_policy")
    body = (
        f"<request>{control}<operation><authentication><sessionid>x</sessionid></authentication>"
        "<content/></operation></request>"
    )
    reply = GatewayClient(vector_company.url).post(body.encode())
    assert reply.control_status == "failure"
    assert reply.control_errors[0].errorno == "XL03000006"
    assert reply.control_errors[0].description2 == "testpolicy is not a valid transport policy."


# --- response shapes -----------------------------------------------------------------------------

# The vectors disagree among themselves on these two (some have them); the emulator always writes them.
ALWAYS_WRITTEN = {
    "/response/operation/authentication/locationid",
    "/response/operation/authentication/sessiontimeout",
}


def shape(root: etree._Element) -> set[str]:
    """Element paths with their attribute names; rows under ``<data>`` count as one ``ROW``, not descended."""
    paths: set[str] = set()

    def walk(node: etree._Element, prefix: str) -> None:
        for part in node:
            tag = "ROW" if prefix.endswith("/data") else str(part.tag)
            path = f"{prefix}/{tag}"
            paths.add(path + (f"[@{','.join(sorted(str(a) for a in part.attrib))}]" if part.attrib else ""))
            if tag != "ROW":
                walk(part, path)

    walk(etree.Element("_root"), "")
    paths.add("/" + str(root.tag))
    walk(root, "/" + str(root.tag))
    return paths


def assert_same_shape(vector_name: str, ours: etree._Element) -> None:
    expected = shape(parse((VECTORS / f"{vector_name}.xml").read_bytes()))
    produced = shape(ours)
    assert expected - produced == set(), f"{vector_name}: missing {sorted(expected - produced)}"
    assert produced - expected <= ALWAYS_WRITTEN, (
        f"{vector_name}: extra {sorted(produced - expected - ALWAYS_WRITTEN)}"
    )


def test_response_failure_authentication(gw: GatewayClient) -> None:
    reply = gw.post(envelope(function("<getAPISession/>"), login=("demo_user", "demo_company", "bad")))
    assert_same_shape("response_failure_authentication", reply.root)


def test_response_failure_control(gw: GatewayClient) -> None:
    body = envelope(function("<getAPISession/>")).decode()
    reply = gw.post(
        body.replace("<includewhitespace>", "<policyid>test</policyid><includewhitespace>").encode()
    )
    assert_same_shape("response_failure_control", reply.root)


def test_response_failure_duplicate(gw: GatewayClient) -> None:
    gw.create(customer_xml("UT01")).ok()
    reply = gw.call(function(f"<create>{customer_xml('UT01')}</create>"))
    assert_same_shape("response_failure_duplicate", reply.root)


def test_response_failure_update_not_found(gw: GatewayClient) -> None:
    gw.create(customer_xml("UT01")).ok()
    reply = gw.call(
        function(
            "<update><CUSTOMER><CUSTOMERID>UT01</CUSTOMERID><COMMENTS>x</COMMENTS></CUSTOMER>"
            "<CUSTOMER><CUSTOMERID>UT99</CUSTOMERID><COMMENTS>y</COMMENTS></CUSTOMER></update>"
        )
    )
    assert_same_shape("response_failure_update_not_found", reply.root)
    result = reply.result
    assert result.status == "failure"
    assert [row["CUSTOMERID"] for row in result.records()] == ["UT01"]  # written before UT99 failed
    assert "UT99" in result.message
    assert gw.query("CUSTOMER", "CUSTOMERID = 'UT01'")[0]["COMMENTS"] == "x"


def test_response_generic_create_success(gw: GatewayClient) -> None:
    reply = gw.call(function(f"<create>{customer_xml('UT01')}{customer_xml('UT02')}</create>"))
    assert_same_shape("response_generic_create_success", reply.root)
    assert [row["CUSTOMERID"] for row in reply.result.records()] == ["UT01", "UT02"]


def test_response_getapisession_success(gw: GatewayClient) -> None:
    assert_same_shape("response_getapisession_success", gw.call(function("<getAPISession/>")).root)


def test_response_legacy_create_key(gw: GatewayClient) -> None:
    gw.create(customer_xml("C1")).ok()
    assert_same_shape("response_legacy_create_key", gw.call(function(invoice_xml("C1"))).root)


def test_response_readbyquery_paged(gw: GatewayClient) -> None:
    gw.create(customer_xml("C1") + customer_xml("C2")).ok()
    reply = gw.call(
        function("<readByQuery><object>CUSTOMER</object><query/><pagesize>1</pagesize></readByQuery>")
    )
    assert_same_shape("response_readbyquery_paged", reply.root)


def test_response_transaction_aborted(gw: GatewayClient) -> None:
    reply = gw.call(
        function("<readByQuery><object>VENDOR9</object><query/></readByQuery>"),
        transaction=True,
    )
    assert_same_shape("response_transaction_aborted", reply.root)
    assert reply.result.errornos == ["Query Failed", "XL03000009"]
    assert "VENDOR9" in reply.result.message
