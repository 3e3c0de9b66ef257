"""Multi-entity companies: entity logins, who owns a record, who sees it, and what a write may name."""

from __future__ import annotations

import re

import pytest

from dbt_intacct.emulator import EmulatorAdmin, EmulatorServer
from tests.emulator.support import (
    CAPTURED,
    GatewayClient,
    customer_xml,
    envelope,
    function,
    invoice_xml,
    journal_xml,
)

BALANCED = [("1000", "1", "50.00"), ("4000", "-1", "50.00")]


def _client(server: EmulatorServer, entity: str | None) -> GatewayClient:
    client = GatewayClient(server.url)
    client.login(entity)
    return client


def _query(client: GatewayClient, object_name: str, show_private: bool = False) -> list[dict[str, object]]:
    options = "<options><showprivate>true</showprivate></options>" if show_private else ""
    body = (
        f"<query><object>{object_name}</object><select><field>RECORDNO</field><field>CUSTOMERID</field>"
        f"<field>MEGAENTITYID</field><field>MEGAENTITYNAME</field></select>{options}</query>"
    )
    return client.one(body).ok().records()


def _ids(rows: list[dict[str, object]]) -> set[object]:
    return {row["CUSTOMERID"] for row in rows}


def test_login_to_an_entity_must_name_a_declared_entity(server: EmulatorServer, admin: EmulatorAdmin) -> None:
    client = GatewayClient(server.url)
    entity = client.post(envelope(function("<getAPISession/>"), locationid="200")).result.ok()
    assert entity.element.findtext("data/api/locationid") == "200"
    top = client.post(envelope(function("<getAPISession/>"), locationid="")).result.ok()
    assert top.element.findtext("data/api/locationid") == ""

    unknown = client.post(envelope(function("<getAPISession/>"), locationid="DEPT-9"))
    assert unknown.auth_status == "failure"
    assert [error.errorno for error in unknown.auth_errors] == ["XL03000006"]
    assert "DEPT-9" in unknown.auth_errors[0].description2
    switched = client.call(function("<getAPISession><locationid>999</locationid></getAPISession>"))
    assert switched.result.status == "failure"


def test_records_carry_their_owning_entity(server: EmulatorServer, admin: EmulatorAdmin) -> None:
    west, top = _client(server, "200"), _client(server, None)
    west.create(customer_xml("C-WEST")).ok()
    top.create(customer_xml("C-SHARED")).ok()

    rows = {row["CUSTOMERID"]: row for row in _query(west, "CUSTOMER")}
    assert (rows["C-WEST"]["MEGAENTITYID"], rows["C-WEST"]["MEGAENTITYNAME"]) == ("200", "West Coast")
    assert (rows["C-SHARED"]["MEGAENTITYID"], rows["C-SHARED"]["MEGAENTITYNAME"]) == ("", "")
    stored = {record["CUSTOMERID"]: record for record in admin.records("CUSTOMER")}
    assert stored["C-WEST"]["MEGAENTITYID"] == "200"


def test_reads_see_own_entity_and_top_level_and_private_only_when_asked(
    server: EmulatorServer, admin: EmulatorAdmin
) -> None:
    hq, west, top = _client(server, "100"), _client(server, "200"), _client(server, None)
    hq.create(customer_xml("C-HQ")).ok()
    west.create(customer_xml("C-WEST")).ok()
    top.create(customer_xml("C-SHARED")).ok()

    assert _ids(_query(hq, "CUSTOMER")) == {"C-HQ", "C-SHARED"}
    assert _ids(_query(west, "CUSTOMER")) == {"C-WEST", "C-SHARED"}
    assert _ids(_query(west, "CUSTOMER", show_private=True)) == {"C-WEST", "C-SHARED"}
    assert _ids(_query(top, "CUSTOMER")) == {"C-SHARED"}
    assert _ids(_query(top, "CUSTOMER", show_private=True)) == {"C-HQ", "C-WEST", "C-SHARED"}
    assert {row["CUSTOMERID"] for row in hq.query("CUSTOMER")} == {"C-HQ", "C-SHARED"}
    by_name = hq.one(
        "<readByName><object>CUSTOMER</object><keys>C-HQ,C-WEST</keys><fields>*</fields></readByName>"
    )
    assert [row["CUSTOMERID"] for row in by_name.ok().records()] == ["C-HQ"]
    west_no = next(row["RECORDNO"] for row in _query(west, "CUSTOMER") if row["CUSTOMERID"] == "C-WEST")
    read = hq.one(f"<read><object>CUSTOMER</object><keys>{west_no}</keys><fields>*</fields></read>")
    assert read.ok().records() == []


def test_ids_stay_unique_across_the_company(server: EmulatorServer, admin: EmulatorAdmin) -> None:
    hq, west = _client(server, "100"), _client(server, "200")
    hq.create(customer_xml("C-ONE")).ok()
    again = west.create(customer_xml("C-ONE"))
    assert again.status == "failure"
    assert "already exists" in again.message


def test_writes_cannot_reach_another_entitys_private_records(
    server: EmulatorServer, admin: EmulatorAdmin
) -> None:
    hq, west, top = _client(server, "100"), _client(server, "200"), _client(server, None)
    west.create(customer_xml("C-WEST")).ok()
    top.create(customer_xml("C-SHARED")).ok()

    refused = hq.one(invoice_xml("C-WEST"))
    assert refused.status == "failure"
    assert "C-WEST" in refused.message
    assert top.one(invoice_xml("C-WEST")).status == "failure"
    hq.one(invoice_xml("C-SHARED")).ok()
    west.one(invoice_xml("C-WEST")).ok()

    update = hq.one("<update><CUSTOMER><CUSTOMERID>C-WEST</CUSTOMERID><NAME>x</NAME></CUSTOMER></update>")
    assert update.status == "failure"
    assert "non-existing" in update.message
    assert hq.one("<delete_customer customerid='C-WEST'/>").status == "failure"
    assert {record["NAME"] for record in admin.records("CUSTOMER") if record["CUSTOMERID"] == "C-WEST"} == {
        "Customer C-WEST"
    }


def test_journal_entries_are_owned_by_the_entity_that_posts_them(
    server: EmulatorServer, admin: EmulatorAdmin
) -> None:
    hq, top = _client(server, "100"), _client(server, None)
    created = hq.create(journal_xml(BALANCED, title="HQ accrual")).ok()
    recordno = created.records()[0]["RECORDNO"]
    body = (
        "<query><object>GLBATCH</object>"
        "<select><field>BATCH_TITLE</field><field>MEGAENTITYID</field></select>"
    )
    assert hq.one(body + "</query>").ok().records() == [{"BATCH_TITLE": "HQ accrual", "MEGAENTITYID": "100"}]
    assert top.one(body + "</query>").ok().records() == []
    private = "<options><showprivate>true</showprivate></options></query>"
    assert len(top.one(body + private).ok().records()) == 1
    deleted = top.one(f"<delete><object>GLBATCH</object><keys>{recordno}</keys></delete>")
    assert deleted.status == "failure"


# The logins real clients send (tests/emulator/support.CAPTURED), with an entity put where each client
# puts its entity ID: sageintacctsdk in the login's <locationid> (empty when it has none), pyintacct in
# getAPISession's own <locationid>, intacct-sdk-js after the login's password (it sends none without).
def _with_entity(client: str, text: str, entity: str) -> str:
    if client == "sageintacctsdk":
        return text.replace("<locationid></locationid>", f"<locationid>{entity}</locationid>")
    if client == "pyintacct":
        return re.sub(
            r"<getAPISession>\s*<locationid></locationid>",
            f"<getAPISession><locationid>{entity}</locationid>",
            text,
        )
    return text.replace("</password></login>", f"</password><locationid>{entity}</locationid></login>")


@pytest.mark.parametrize("client", ["sageintacctsdk", "pyintacct", "intacct-sdk-js"])
@pytest.mark.parametrize("entity", ["", "200"], ids=["top-level", "entity-200"])
def test_captured_logins_open_a_session_in_the_entity_they_name(
    server: EmulatorServer, admin: EmulatorAdmin, client: str, entity: str
) -> None:
    captured = (CAPTURED / f"{client}-getAPISession.xml").read_text("utf-8")
    text = _with_entity(client, captured, entity) if entity else captured
    assert text.count(f"<locationid>{entity}</locationid>") == (
        1 if entity or client != "intacct-sdk-js" else 0
    )
    gateway = GatewayClient(server.url)
    reply = gateway.post(text.encode("utf-8"))
    api = reply.result.ok().element
    assert api.findtext("data/api/locationid") == entity
    gateway.session_id = api.findtext("data/api/sessionid") or ""
    gateway.create(customer_xml(f"C-{client}")).ok()
    (record,) = admin.records("CUSTOMER")
    assert (record.get("MEGAENTITYID") or "") == entity
    # The top level sees the record only when it asks for private ones too; the entity sees its own.
    top = _client(server, None)
    assert _ids(_query(top, "CUSTOMER")) == ({f"C-{client}"} if not entity else set())
    assert _ids(_query(top, "CUSTOMER", show_private=True)) == {f"C-{client}"}


def test_an_unknown_entity_in_a_captured_login_is_refused(
    server: EmulatorServer, admin: EmulatorAdmin
) -> None:
    for client in ("sageintacctsdk", "pyintacct", "intacct-sdk-js"):
        text = _with_entity(client, (CAPTURED / f"{client}-getAPISession.xml").read_text("utf-8"), "999")
        reply = GatewayClient(server.url).post(text.encode("utf-8"))
        if client == "pyintacct":  # the login itself is fine; getAPISession names the entity
            assert reply.result.status == "failure", client
            assert "999" in reply.result.message, client
        else:
            assert reply.auth_status == "failure", client
            assert [error.errorno for error in reply.auth_errors] == ["XL03000006"], client
