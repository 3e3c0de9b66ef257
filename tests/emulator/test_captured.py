"""Requests captured from three real third-party clients, replayed in the order each client sent them.

``CAPTURED-SESSION-ID..`` is replaced with a session the emulator opened. The requests that name a
customer by RECORDNO (100 and 103 in the captures) are rewritten to the RECORDNO the emulator gave
that client's customer: the test creates customer ``C-LEG`` first (the legacy invoice and adjustment
name it), so the emulator's numbers differ from the captured company's.
"""

from __future__ import annotations

import re

import pytest

from dbt_intacct.emulator import EmulatorAdmin
from tests.emulator.support import CAPTURED, GatewayClient, Reply, customer_xml

# (file stem, what must happen), in each client's own order (their control IDs are timestamps).
SCENARIOS: dict[str, list[tuple[str, str]]] = {
    "sageintacctsdk": [
        ("getAPISession-badlogin", "auth-failure"),
        ("getAPISession", "session"),
        ("create-CUSTOMER", "customer-created"),
        ("readByQuery-CUSTOMER", "customer-read"),
        ("update-CUSTOMER", "customer-renamed"),
        ("create-CONTACT", "contact-created"),
        ("create-GLBATCH", "journal-created"),
        ("create-GLBATCH-unbalanced", "unbalanced"),
        ("create-CUSTOMER-duplicate", "duplicate"),
        ("delete-CUSTOMER", "customer-deleted"),
        ("create_invoice", "invoice-created"),
        ("query-CUSTOMER-count", "counted"),
    ],
    "intacct-sdk-js": [
        ("getAPISession-badlogin", "auth-failure"),
        ("getAPISession", "session"),
        ("create-CUSTOMER", "customer-created"),
        ("readByQuery-CUSTOMER", "customer-read"),
        ("update-CUSTOMER", "customer-renamed"),
        ("create-CONTACT", "contact-created"),
        ("create-GLBATCH", "journal-created"),
        ("create-GLBATCH-unbalanced", "unbalanced"),
        ("create-CUSTOMER-duplicate", "duplicate"),
        ("delete_customer", "customer-deleted"),
        ("create_invoice", "invoice-created"),
        ("create_aradjustment", "adjustment-created"),
        ("readByQuery-CUSTOMER-all", "customers-listed"),
    ],
    "pyintacct": [
        ("getAPISession-badlogin", "auth-failure"),
        ("getAPISession", "session"),
        ("create-CUSTOMER", "customer-created"),
        ("readByQuery-CUSTOMER", "customer-read"),
        ("update-CUSTOMER", "customer-renamed"),
        ("create-CONTACT", "contact-created"),
        ("create_contact", "legacy-contact-created"),
        ("create-GLBATCH", "journal-created"),
        ("create-GLBATCH-unbalanced", "unbalanced"),
        ("create-CUSTOMER-duplicate", "duplicate"),
        ("delete-CUSTOMER", "customer-deleted"),
        ("create_invoice", "invoice-created"),
    ],
}


def test_every_captured_request_is_in_a_scenario() -> None:
    replayed = {f"{client}-{stem}.xml" for client, steps in SCENARIOS.items() for stem, _ in steps}
    assert replayed == {path.name for path in CAPTURED.glob("*.xml")}


def _customer_id(text: str) -> str:
    match = re.search(
        r"<CUSTOMERID>([^<]+)</CUSTOMERID>|customerid=\"([^\"]+)\"|CUSTOMERID = '([^']+)'", text
    )
    assert match
    return next(group for group in match.groups() if group)


@pytest.mark.parametrize("client", sorted(SCENARIOS))
def test_replay_captured_client(client: str, gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("C-LEG", "Legacy customer")).ok()
    session = ""
    customer_recordno = ""
    for stem, expectation in SCENARIOS[client]:
        text = (CAPTURED / f"{client}-{stem}.xml").read_text("utf-8")
        text = text.replace("CAPTURED-SESSION-ID..", session)
        if customer_recordno:
            text = re.sub(r"<keys>\d+</keys>", f"<keys>{customer_recordno}</keys>", text)
            text = re.sub(r"<RECORDNO>\d+</RECORDNO>", f"<RECORDNO>{customer_recordno}</RECORDNO>", text)
        reply = gw.post(text.encode("utf-8"))
        where = f"{client}-{stem}"
        assert reply.http_status == 200, where
        assert reply.control_status == "success", where
        if expectation == "auth-failure":
            assert reply.auth_status == "failure", where
            assert [e.errorno for e in reply.auth_errors] == ["XL03000006"], where
            continue
        assert reply.auth_status == "success", where
        result = reply.result
        if expectation == "duplicate":
            assert result.errornos[:2] == ["BL34000061", "BL01001973"], where
            assert _customer_id(text) in result.errors[0].description2
            continue
        if expectation == "unbalanced":
            assert result.status == "failure", where
            assert "not balanced" in result.message, where
            continue
        result.ok()
        customer_recordno = (
            _check_effect(expectation, text, reply, gw, customer_recordno) or customer_recordno
        )
        if expectation == "session":
            session = result.element.findtext("data/api/sessionid") or ""
            assert session
    assert admin.stats()["functions_failed"] == 2  # the duplicate and the unbalanced entry


def _check_effect(expectation: str, text: str, reply: Reply, gw: GatewayClient, recordno: str) -> str | None:
    """What the captured request must have done; returns the customer's RECORDNO once created."""
    result = reply.result
    if expectation == "customer-created":
        (row,) = result.records()
        assert row["CUSTOMERID"] == _customer_id(text)
        return str(row["RECORDNO"])
    if expectation == "customer-read":
        (row,) = result.records()
        assert row["RECORDNO"] == recordno
        assert row["CUSTOMERID"] == _customer_id(text)
    if expectation == "customer-renamed":
        (row,) = gw.query("CUSTOMER", f"RECORDNO = {recordno}")
        assert str(row["NAME"]).endswith(" renamed")
        assert row["DISPLAYCONTACT"], "an empty <DISPLAYCONTACT/> on update must not clear the contact"
    if expectation == "contact-created":
        (row,) = result.records()
        name = re.search(r"<CONTACTNAME>([^<]+)</CONTACTNAME>", text)
        assert name and row["CONTACTNAME"] == name.group(1)
    if expectation == "legacy-contact-created":
        assert result.key == "Legacy Contact"
        (row,) = gw.query("CONTACT", "CONTACTNAME = 'Legacy Contact'")
        assert row["EMAIL1"] == "x@example.invalid"
    if expectation == "journal-created":
        (row,) = result.records()
        (journal,) = gw.query("GLBATCH", f"RECORDNO = {row['RECORDNO']}")
        assert journal["JOURNAL"] == "GJ"
        assert len(journal["ENTRIES"]["GLENTRY"]) == 2  # type: ignore[index]
    if expectation == "customer-deleted":
        assert gw.query("CUSTOMER", f"RECORDNO = {recordno}") == []
    if expectation == "invoice-created":
        (invoice,) = gw.query("ARINVOICE", f"RECORDNO = {result.key}")
        assert invoice["CUSTOMERID"] == "C-LEG"
        assert invoice["TOTALENTERED"] == "100.00"
        assert invoice["WHENCREATED"] == "01/15/2025"
        assert invoice["WHENDUE"]
    if expectation == "adjustment-created":
        (adjustment,) = gw.query("ARADJUSTMENT", f"RECORDNO = {result.key}")
        assert adjustment["RECORDID"] == "ADJ-1"
        assert adjustment["TOTALENTERED"] == "-25.00"
    if expectation == "counted":
        assert (
            result.data is not None and result.data.get("totalcount") == "1"
        )  # C-LEG; the other was deleted
    if expectation == "customers-listed":
        rows = result.records()
        assert [row["CUSTOMERID"] for row in rows] == ["C-LEG"]
        assert set(rows[0]) == {"RECORDNO", "CUSTOMERID", "NAME"}
    return None
