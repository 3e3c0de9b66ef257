"""fylein's ``sageintacctsdk`` (PyPI), unchanged, against the emulator.

The SDK hard-codes ``https://api.intacct.com/ia/xml/xmlgw.phtml``: each API object keeps its URL in the
name-mangled attribute ``_ApiBase__api_url``, and the constructor logs in at once on ``api_base``. So we
log in on an ``ApiBase`` whose URL attribute names the emulator, hand the session to the SDK's
constructor (its ``session_id`` parameter), and set the same attribute on every API object. No SDK code
is changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sageintacctsdk import SageIntacctSDK
from sageintacctsdk.apis import ApiBase
from sageintacctsdk.exceptions import InternalServerError, InvalidTokenError, WrongParamsError

from dbt_intacct.emulator import EmulatorAdmin, EmulatorConfig, EmulatorServer

DEMO = {
    "sender_id": "demo_sender",
    "sender_password": "demo_sender_pw",
    "user_id": "demo_user",
    "company_id": "demo_company",
    "user_password": "demo_password",
}
URL_ATTRIBUTE = "_ApiBase__api_url"


def connect(
    url: str, entity_id: str | None = None, show_private: bool = False, **overrides: str
) -> SageIntacctSDK:
    """A SageIntacctSDK whose every API object talks to ``url``, logged in to ``entity_id`` (the SDK's
    own parameter) and asking queries for private records with ``show_private``."""
    credentials = {**DEMO, **overrides}
    login = ApiBase()
    setattr(login, URL_ATTRIBUTE, url)
    login.set_sender_id(credentials["sender_id"])
    login.set_sender_password(credentials["sender_password"])
    session = login.get_session_id(
        credentials["user_id"], credentials["company_id"], credentials["user_password"], entity_id
    )
    sdk = SageIntacctSDK(**credentials, entity_id=entity_id, show_private=show_private, session_id=session)
    for api in vars(sdk).values():
        if isinstance(api, ApiBase):
            setattr(api, URL_ATTRIBUTE, getattr(login, URL_ATTRIBUTE))  # the endpoint getAPISession returned
    return sdk


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0)) as running:
        yield running


@pytest.fixture
def sdk(server: EmulatorServer) -> SageIntacctSDK:
    server.admin.reset()
    return connect(server.url)


def test_customer_create_read_update_delete(sdk: SageIntacctSDK, server: EmulatorServer) -> None:
    created = sdk.customers.post(
        {
            "CUSTOMERID": "SDK-1",
            "NAME": "SDK Customer",
            "DISPLAYCONTACT": {"PRINTAS": "SDK Customer", "EMAIL1": "a@b.c"},
        }
    )
    recordno = created["data"]["customer"]["RECORDNO"]
    assert created["data"]["customer"]["CUSTOMERID"] == "SDK-1"

    read = sdk.customers.get(field="CUSTOMERID", value="SDK-1")
    assert read["@totalcount"] == "1"
    assert read["customer"]["NAME"] == "SDK Customer"
    assert read["customer"]["DISPLAYCONTACT"]["EMAIL1"] == "a@b.c"

    sdk.customers.update({"CUSTOMERID": "SDK-1", "NAME": "SDK Customer renamed"})
    assert sdk.customers.get(field="RECORDNO", value=recordno)["customer"]["NAME"] == "SDK Customer renamed"

    assert sdk.customers.count() == 1
    everyone = sdk.customers.get_all()  # a query selecting the SDK's own field list for CUSTOMER
    assert [row["CUSTOMERID"] for row in everyone] == ["SDK-1"]
    assert everyone[0]["STATUS"] == "active"

    with pytest.raises(WrongParamsError) as duplicate:
        sdk.customers.post({"CUSTOMERID": "SDK-1", "NAME": "Again", "DISPLAYCONTACT": {"PRINTAS": "Again"}})
    assert duplicate.value.response["error"][0]["errorno"] == "BL34000061"

    sdk.customers.delete(recordno)
    assert sdk.customers.count() == 0
    assert server.admin.records("CUSTOMER") == []


def test_contact_journal_entry_and_invoice(sdk: SageIntacctSDK, server: EmulatorServer) -> None:
    contact = sdk.contacts.post({"CONTACTNAME": "SDK Contact", "PRINTAS": "SDK Contact", "FIRSTNAME": "Ada"})
    assert contact["data"]["contact"]["CONTACTNAME"] == "SDK Contact"
    entry = sdk.journal_entries.post(
        {
            "JOURNAL": "GJ",
            "BATCH_DATE": "11/28/2026",
            "BATCH_TITLE": "SDK journal",
            "ENTRIES": {
                "GLENTRY": [
                    {"ACCOUNTNO": "6000", "TR_TYPE": "1", "TRX_AMOUNT": "42.10", "DESCRIPTION": "debit"},
                    {"ACCOUNTNO": "1000", "TR_TYPE": "-1", "TRX_AMOUNT": "42.10", "DESCRIPTION": "credit"},
                ]
            },
        }
    )
    assert entry["data"]["glbatch"]["RECORDNO"]
    sdk.customers.post({"CUSTOMERID": "SDK-LEG", "NAME": "Legacy", "DISPLAYCONTACT": {"PRINTAS": "Legacy"}})
    invoice = sdk.ar_invoices.post(
        {
            "customerid": "SDK-LEG",
            "datecreated": {"year": "2025", "month": "01", "day": "15"},
            "termname": "N30",
            "invoiceno": "SDK-INV-1",
            "invoiceitems": {"lineitem": [{"glaccountno": "4000", "amount": "100.00", "memo": "line"}]},
        }
    )
    (row,) = server.admin.records("ARINVOICE")
    assert invoice["key"] == row["RECORDNO"]
    assert (row["RECORDID"], row["WHENDUE"], row["TOTALDUE"]) == ("SDK-INV-1", "02/14/2025", "100.00")
    assert sdk.ar_invoices.get(field="RECORDID", value="SDK-INV-1")["arinvoice"]["TOTALENTERED"] == "100.00"


def test_bad_password_and_rate_limit_are_seen_by_the_sdk(server: EmulatorServer) -> None:
    server.admin.reset()
    with pytest.raises(InvalidTokenError):
        connect(server.url, user_password="wrong")
    sdk = connect(server.url)
    admin: EmulatorAdmin = server.admin
    admin.set_faults(rate_limit_body={"next": 1})
    try:
        with pytest.raises(InternalServerError, match="API rate limit exceeded"):
            sdk.customers.count()
        assert sdk.customers.count() == 0
    finally:
        admin.clear_faults()


def test_entity_sessions_and_show_private(server: EmulatorServer) -> None:
    """The SDK's entity_id logs in to an entity (the login's <locationid>) and show_private adds
    <options><showprivate>true</showprivate></options> to its queries."""
    server.admin.reset()
    west, top = connect(server.url, entity_id="200"), connect(server.url)
    west.customers.post({"CUSTOMERID": "SDK-W", "NAME": "West", "DISPLAYCONTACT": {"PRINTAS": "West"}})
    top.customers.post({"CUSTOMERID": "SDK-TOP", "NAME": "Top", "DISPLAYCONTACT": {"PRINTAS": "Top"}})
    owners = {r["CUSTOMERID"]: r.get("MEGAENTITYID") or "" for r in server.admin.records("CUSTOMER")}
    assert owners == {"SDK-W": "200", "SDK-TOP": ""}

    def seen(sdk: SageIntacctSDK) -> set[str]:
        return {row["CUSTOMERID"] for row in sdk.customers.get_all()}

    assert seen(west) == {"SDK-W", "SDK-TOP"}
    assert seen(top) == {"SDK-TOP"}
    assert seen(connect(server.url, show_private=True)) == {"SDK-W", "SDK-TOP"}
    assert seen(connect(server.url, entity_id="100", show_private=True)) == {"SDK-TOP"}
