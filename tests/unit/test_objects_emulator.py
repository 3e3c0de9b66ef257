"""The builders' bodies sent over loopback HTTP to the local Intacct emulator, which is written as
Intacct's side of the wire without the catalogue: each checks the other (element order, field names,
dates, amounts, custom fields, line updates by position, result shapes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from pydantic import SecretStr

from dbt_intacct.client import Credentials, IntacctClient
from dbt_intacct.emulator import (
    DEMO_COMPANY_ID,
    DEMO_SENDER_ID,
    DEMO_SENDER_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_PASSWORD,
    EmulatorAdmin,
    EmulatorConfig,
    EmulatorServer,
)
from dbt_intacct.objects import IntacctObject, RecordRef, get_object
from dbt_intacct.xml import Function, FunctionResult

CUSTOMER = get_object("customer")
CONTACT = get_object("contact")
JOURNAL = get_object("journal_entry")
INVOICE = get_object("invoice")
ADJUSTMENT = get_object("ar_adjustment")
PAYMENT = get_object("ar_payment")
TRANSACTION = get_object("transaction")


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: EmulatorServer) -> Iterator[IntacctClient]:
    credentials = Credentials(
        DEMO_SENDER_ID,
        SecretStr(DEMO_SENDER_PASSWORD),
        DEMO_COMPANY_ID,
        DEMO_USER_ID,
        SecretStr(DEMO_USER_PASSWORD),
        endpoint=server.url,
    )
    with IntacctClient(credentials) as opened:
        opened.open_session()
        yield opened


@pytest.fixture
def admin(server: EmulatorServer) -> EmulatorAdmin:
    server.admin.reset()
    return server.admin


def send(client: IntacctClient, body: etree._Element) -> FunctionResult:
    controlid = uuid.uuid4().hex
    result = client.execute([Function(controlid=controlid, body=body)], uniqueid=True)[controlid]
    assert result.ok, result.message
    return result


def create(
    client: IntacctClient, obj: IntacctObject, values: dict[str, Any], custom: dict[str, Any]
) -> RecordRef:
    result = send(client, obj.build_create(values, custom))
    return obj.ref_from_result(result.data, result.key)


def a_customer(client: IntacctClient, customer_id: str = "C1") -> RecordRef:
    return create(client, CUSTOMER, {"CUSTOMERID": customer_id, "NAME": f"{customer_id} & Co"}, {})


def test_customer_create_update_clear_delete(client: IntacctClient, admin: EmulatorAdmin) -> None:
    values = {
        "CUSTOMERID": "C1",
        "NAME": "Zürich <Söhne>",
        "DISPLAYCONTACT.EMAIL1": "ap@example.com",
        "DISPLAYCONTACT.MAILADDRESS.CITY": "Zürich",
        "CREDITLIMIT": 0.1 + 0.2,
        "STATUS": True,
        "DELIVERYOPTIONS": ["Print", "E-Mail"],
    }
    ref = create(client, CUSTOMER, values, {"REGION": "EMEA"})
    assert ref.id == "C1" and ref.recordno
    (record,) = admin.records("CUSTOMER")
    assert record["NAME"] == "Zürich <Söhne>"
    assert record["DISPLAYCONTACT"]["PRINTAS"] == "Zürich <Söhne>"
    assert record["CREDITLIMIT"] == "0.30"
    assert record["REGION"] == "EMEA"
    send(client, CUSTOMER.build_update(RecordRef(id="C1"), {"NAME": "Renamed"}, {"REGION": "AMER"}))
    send(client, CUSTOMER.build_clear(ref, ["DISPLAYCONTACT.EMAIL1", "CREDITLIMIT", "NAME"], ["REGION"]))
    (record,) = admin.records("CUSTOMER")
    assert record["NAME"] == "Renamed"
    assert "EMAIL1" not in record["DISPLAYCONTACT"] and "CREDITLIMIT" not in record and "REGION" not in record
    send(client, CUSTOMER.build_delete(RecordRef(id="C1")))
    assert admin.records("CUSTOMER") == []


def test_contact_rename_and_generic_delete(client: IntacctClient, admin: EmulatorAdmin) -> None:
    ref = create(
        client, CONTACT, {"CONTACTNAME": "Jane", "PRINTAS": "Jane Doe", "MAILADDRESS.CITY": "Paris"}, {}
    )
    send(client, CONTACT.build_update(ref, {"CONTACTNAME": "Jane R"}, {}))
    assert [r["CONTACTNAME"] for r in admin.records("CONTACT")] == ["Jane R"]
    send(client, CONTACT.build_delete(ref))
    assert admin.records("CONTACT") == []


def test_journal_entry_with_signed_amounts_and_custom_fields(
    client: IntacctClient, admin: EmulatorAdmin
) -> None:
    lines = [
        {
            "ACCOUNTNO": "6000",
            "AMOUNT": "100.10",
            "DEPARTMENT": "ADM",
            "customfields": {"COST_CENTER": "CC1"},
        },
        {"ACCOUNTNO": "1000", "AMOUNT": -100.1, "DESCRIPTION": "cash"},
    ]
    values = {"JOURNAL": "GJ", "BATCH_DATE": "2024-05-01", "BATCH_TITLE": "May", "ENTRIES": lines}
    ref = create(client, JOURNAL, values, {"SOURCE_SYSTEM": "dbt"})
    assert ref.recordno
    (record,) = admin.records("GLBATCH")
    assert record["BATCH_DATE"] == "05/01/2024"
    assert record["SOURCE_SYSTEM"] == "dbt"
    entries = record["ENTRIES"]["GLENTRY"]
    # a float keeps the decimals it prints with; only more than two are rounded
    assert [(e["TR_TYPE"], e["TRX_AMOUNT"]) for e in entries] == [("1", "100.10"), ("-1", "100.1")]
    assert entries[0]["COST_CENTER"] == "CC1"


def test_invoice_lines_by_position_then_payment_and_adjustment(
    client: IntacctClient, admin: EmulatorAdmin
) -> None:
    a_customer(client)
    lines = [
        {"glaccountno": "4000", "amount": 100, "customfields": {"REVENUE_TYPE": "x"}},
        {"accountlabel": "Services", "amount": 50, "departmentid": "SALES"},
    ]
    values = {
        "customerid": "C1",
        "datecreated": "2024-05-01",
        "termname": "N30",
        "invoiceno": "INV-1",
        "invoiceitems": lines,
    }
    ref = create(client, INVOICE, values, {"SALES_CHANNEL": "web"})
    assert ref.recordno
    update = [{"amount": 120}, {"amount": 60}, {"glaccountno": "4100", "amount": 5}]
    send(
        client,
        INVOICE.build_update(
            ref, {"description": "May", "invoiceitems": update}, {}, existing_lines={"invoiceitems": 2}
        ),
    )
    (record,) = admin.records("ARINVOICE")
    assert (
        record["RECORDID"] == "INV-1" and record["SALES_CHANNEL"] == "web" and record["DESCRIPTION"] == "May"
    )
    assert [item["AMOUNT"] for item in record["ARINVOICEITEMS"]["arinvoiceitem"]] == ["120", "60", "5"]
    assert record["TOTALENTERED"] == "185.00"

    detail = {"RECORDKEY": ref.recordno, "TRX_PAYMENTAMOUNT": 85}
    payment = {
        "FINANCIALENTITY": "BOA",
        "PAYMENTMETHOD": "EFT",
        "CUSTOMERID": "C1",
        "RECEIPTDATE": "2024-05-02",
    }
    assert create(client, PAYMENT, {**payment, "ARPYMTDETAILS": [detail]}, {}).recordno
    assert create(
        client, PAYMENT, {**payment, "TRX_AMOUNTTOPAY": 30}, {}
    ).recordno  # an advance: create_arpayment
    legacy = {
        "customerid": "C1",
        "paymentamount": 10,
        "bankaccountid": "BOA",
        "datereceived": "2024-05-02",
        "paymentmethod": "Cash",
        "arpaymentitem": [{"invoicekey": ref.recordno, "amount": 10}],
    }
    assert create(client, PAYMENT, legacy, {}).recordno
    (invoice,) = admin.records("ARINVOICE")
    assert invoice["TOTALPAID"] == "95.00"

    adjustment = {
        "customerid": "C1",
        "datecreated": "2024-05-03",
        "adjustmentno": "ADJ-1",
        "aradjustmentitems": [{"glaccountno": "4000", "amount": -25, "customfields": {"REASON_CODE": "R"}}],
    }
    assert create(client, ADJUSTMENT, adjustment, {}).recordno


def test_sales_order_create_update_clear_delete(client: IntacctClient, admin: EmulatorAdmin) -> None:
    a_customer(client)
    values = {
        "transactiontype": "Sales Order",
        "datecreated": "2024-05-01",
        "customerid": "C1",
        "message": "hello",
        "sotransitems": [
            {"itemid": "WIDGET", "quantity": 2, "price": "9.99", "customfields": {"REVENUE_TYPE": "r"}}
        ],
    }
    ref = create(client, TRANSACTION, values, {"SALES_CHANNEL": "web"})
    assert ref.id and ref.id.startswith("Sales Order-")
    lines = [{"quantity": 3}, {"itemid": "CONSULTING", "quantity": 1}]
    send(
        client, TRANSACTION.build_update(ref, {"sotransitems": lines}, {}, existing_lines={"sotransitems": 1})
    )
    (record,) = admin.records("SODOCUMENT")
    assert record["DOCID"] == ref.id
    send(client, TRANSACTION.build_clear(ref, ["message", "documentno", "sotransitems"], []))
    send(client, TRANSACTION.build_delete(ref))
    assert admin.records("SODOCUMENT") == []
