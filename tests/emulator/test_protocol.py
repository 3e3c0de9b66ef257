"""The envelope: control block, authentication, sessions, and Intacct's three failure levels."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
import requests

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from tests.emulator.support import GatewayClient, customer_xml, envelope, function, parse

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")


def test_login_getapisession_answers_session_endpoint_and_timeout(
    server: EmulatorServer, gw: GatewayClient
) -> None:
    reply = gw.post(envelope(function("<getAPISession/>", "login-1"), controlid="ctl-9"))

    assert reply.http_status == 200
    assert reply.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert reply.control_status == "success"
    assert reply.root.findtext("control/controlid") == "ctl-9"
    assert reply.root.findtext("control/senderid") == "demo_sender"
    assert reply.root.findtext("control/uniqueid") == "false"
    assert reply.root.findtext("control/dtdversion") == "3.0"
    auth = reply.root.find("operation/authentication")
    assert auth is not None
    assert auth.findtext("status") == "success"
    assert auth.findtext("userid") == "demo_user"
    assert auth.findtext("companyid") == "demo_company"
    stamp, timeout = auth.findtext("sessiontimestamp") or "", auth.findtext("sessiontimeout") or ""
    assert ISO_UTC.match(stamp) and ISO_UTC.match(timeout)
    lifetime = datetime.fromisoformat(timeout) - datetime.fromisoformat(stamp)
    assert abs(lifetime.total_seconds() - 3600) <= 1
    result = reply.result.ok()
    assert (result.function, result.controlid) == ("getAPISession", "login-1")
    assert result.element.findtext("data/api/sessionid")
    assert result.element.findtext("data/api/endpoint") == server.url
    assert result.element.findtext("data/api/locationid") == ""


def test_session_authenticated_calls_slide_the_timeout(server: EmulatorServer) -> None:
    with EmulatorServer(EmulatorConfig(port=0, session_timeout=2)) as short:
        client = GatewayClient(short.url)
        client.login()
        first = client.call(function("<getAPISession/>"))
        time.sleep(1.2)
        second = client.call(function("<getAPISession/>"))
        later = datetime.fromisoformat(second.root.findtext("operation/authentication/sessiontimeout") or "")
        earlier = datetime.fromisoformat(first.root.findtext("operation/authentication/sessiontimeout") or "")
        assert later > earlier
        time.sleep(1.2)  # less than 2 s after the last call: still valid, because each call slid it
        assert client.call(function("<getAPISession/>")).auth_status == "success"
        time.sleep(2.2)
        expired = client.call(function("<getAPISession/>"))
        assert expired.auth_status == "failure"
        assert [e.errorno for e in expired.auth_errors] == ["XL03000006"]


def test_session_is_reused_and_login_with_entity(gw: GatewayClient) -> None:
    reply = gw.call(function("<getAPISession/>"))
    assert reply.result.element.findtext("data/api/sessionid") == gw.session_id
    entity = gw.call(function("<getAPISession><locationid>100</locationid></getAPISession>")).result.ok()
    entity_session = entity.element.findtext("data/api/sessionid")
    assert entity_session and entity_session != gw.session_id
    assert entity.element.findtext("data/api/locationid") == "100"
    reply = gw.post(envelope(function(customer_xml_create("E1")), session=entity_session))
    assert reply.root.findtext("operation/authentication/locationid") == "100"
    login_entity = gw.post(envelope(function("<getAPISession/>"), locationid="100")).result.ok()
    assert login_entity.element.findtext("data/api/locationid") == "100"
    unknown = gw.post(envelope(function("<getAPISession/>"), locationid="NOPE"))
    assert unknown.auth_status == "failure"


def customer_xml_create(customer_id: str) -> str:
    return f"<create>{customer_xml(customer_id)}</create>"


def test_bad_sender_is_a_control_failure(gw: GatewayClient) -> None:
    reply = gw.post(envelope(function("<getAPISession/>"), sender=("demo_sender", "wrong")))
    assert reply.control_status == "failure"
    assert reply.root.find("operation") is None
    (error,) = reply.control_errors
    assert error.errorno == "XL03000006"
    assert error.description2
    assert "wrong" not in reply.text


def test_bad_login_is_an_authentication_failure_without_results(gw: GatewayClient) -> None:
    reply = gw.post(envelope(function("<getAPISession/>"), login=("demo_user", "demo_company", "nope")))
    assert reply.control_status == "success"
    assert reply.auth_status == "failure"
    assert reply.results == []
    assert [e.errorno for e in reply.auth_errors] == ["XL03000006"]
    assert reply.root.findtext("operation/authentication/userid") == "demo_user"
    assert "nope" not in reply.text


def test_unknown_session_fails_authentication(gw: GatewayClient) -> None:
    reply = gw.post(envelope(function(customer_xml_create("S1")), session="not-a-session.."))
    assert reply.auth_status == "failure"
    assert reply.results == []
    assert reply.auth_errors[0].errorno == "XL03000006"
    assert reply.auth_errors[0].description2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty"),
        (b"   \n", "blank"),
        (b"this is not xml", "not XML"),
        (b"<request><control>", "truncated"),
        (b"<response/>", "wrong root"),
        (b"<request><operation/></request>", "no control"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><request>&lol3;</request>',
            "billion laughs",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><request>&xxe;</request>',
            "XXE",
        ),
        (b'<!DOCTYPE request SYSTEM "http://example.invalid/x.dtd"><request/>', "external DTD"),
        (b"<request>&undefined;</request>", "undefined entity"),
        (b"\xff\xfe\x00<\x00r", "bad encoding"),
    ],
)
def test_hostile_or_malformed_bodies_get_xl03000003(gw: GatewayClient, body: bytes, why: str) -> None:
    started = time.monotonic()
    reply = gw.post(body)
    assert time.monotonic() - started < 5, why
    assert reply.http_status == 200, why
    assert reply.control_status == "failure", why
    assert [e.errorno for e in reply.control_errors] == ["XL03000003"], why
    assert reply.control_errors[0].description2, why
    assert "root:" not in reply.text  # never the content of /etc/passwd


@pytest.mark.parametrize(
    ("change", "errorno"),
    [
        (("<dtdversion>3.0</dtdversion>", "<dtdversion>9.9</dtdversion>"), "XL03000003"),
        (("<dtdversion>3.0</dtdversion>", ""), "XL03000003"),
        (("<controlid>request-1</controlid>", "<controlid></controlid>"), "XL03000003"),
        (("<controlid>request-1</controlid>", f"<controlid>{'x' * 257}</controlid>"), "XL03000003"),
        (("<uniqueid>false</uniqueid>", "<uniqueid>maybe</uniqueid>"), "XL03000003"),
        (("<includewhitespace>", "<policyid>test</policyid><includewhitespace>"), "XL03000006"),
    ],
)
def test_control_block_problems(gw: GatewayClient, change: tuple[str, str], errorno: str) -> None:
    body = envelope(function("<getAPISession/>")).decode().replace(*change).encode()
    reply = gw.post(body)
    assert reply.control_status == "failure"
    assert [e.errorno for e in reply.control_errors] == [errorno]


def test_transport_policy_message_matches_intacct(gw: GatewayClient) -> None:
    body = envelope(function("<getAPISession/>")).decode()
    reply = gw.post(
        body.replace("<includewhitespace>", "<policyid>test</policyid><includewhitespace>").encode()
    )
    assert reply.control_errors[0].description2 == "test is not a valid transport policy."


def test_getapisession_must_be_alone(gw: GatewayClient) -> None:
    reply = gw.call(function("<getAPISession/>"), function(customer_xml_create("ALONE")))
    assert [r.status for r in reply.results] == ["failure", "failure"]
    assert all(r.errornos == ["XL03000003"] for r in reply.results)
    assert gw.query("CUSTOMER", "CUSTOMERID = 'ALONE'") == []


def test_dtd_21_takes_legacy_functions_only(gw: GatewayClient) -> None:
    gw.create(customer_xml("C21")).ok()
    reply = gw.call(
        function("<delete_customer customerid='C21'/>"),
        function(customer_xml_create("C22")),
        dtdversion="2.1",
    )
    legacy, generic = reply.results
    legacy.ok()
    assert generic.status == "failure"
    assert generic.errornos == ["XL03000003"]
    assert "3.0" in generic.message


def test_results_echo_function_and_controlid_in_order(gw: GatewayClient) -> None:
    reply = gw.call(
        function(customer_xml_create("E-1"), "first"),
        function("<readByQuery><object>CUSTOMER</object><query/></readByQuery>", "second"),
        function("<nosuchfunction/>", "third"),
    )
    assert [(r.function, r.controlid, r.status) for r in reply.results] == [
        ("create", "first", "success"),
        ("readByQuery", "second", "success"),
        ("nosuchfunction", "third", "failure"),
    ]
    assert reply.results[2].errornos == ["XL03000003"]


def test_every_error_has_four_parts_with_a_description2(gw: GatewayClient) -> None:
    gw.create(customer_xml("DUP")).ok()
    result = gw.create(customer_xml("DUP"))
    for error in result.element.findall("errormessage/error"):
        assert [child.tag for child in error] == ["errorno", "description", "description2", "correction"]
        assert error.findtext("description2")


def test_empty_content_is_a_successful_operation(gw: GatewayClient) -> None:
    reply = gw.call()
    assert reply.control_status == "success"
    assert reply.auth_status == "success"
    assert reply.results == []


def test_includewhitespace_true_gives_an_indented_answer(gw: GatewayClient) -> None:
    body = (
        envelope(function("<getAPISession/>"))
        .decode()
        .replace(
            "<includewhitespace>false</includewhitespace>", "<includewhitespace>true</includewhitespace>"
        )
    )
    reply = gw.post(body.encode())
    assert "\n  <control>" in reply.text


def test_other_paths_and_methods(server: EmulatorServer) -> None:
    assert requests.post(server.base_url + "/somewhere", data=b"<request/>", timeout=10).status_code == 404
    assert requests.get(server.url, timeout=10).status_code == 404


def test_uniqueid_defaults_to_true_when_left_out(gw: GatewayClient) -> None:
    first = gw.call(function(customer_xml_create("U-DEFAULT"), "same-id"), uniqueid=None).result
    first.ok()
    second = gw.call(function(customer_xml_create("U-OTHER"), "same-id"), uniqueid=None).result
    assert second.errornos == ["XL03000010"]


def test_response_declares_utf8_and_keeps_non_ascii(gw: GatewayClient) -> None:
    gw.create(customer_xml("UTF-1", "Crème & Brûlée <Ltd>")).ok()
    reply = gw.call(
        function("<readByName><object>CUSTOMER</object><keys>UTF-1</keys><fields>NAME</fields></readByName>")
    )
    assert reply.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert reply.result.records()[0]["NAME"] == "Crème & Brûlée <Ltd>"
    assert (
        parse(reply.text.encode("utf-8")).findtext("operation/result/data/CUSTOMER/NAME")
        == "Crème & Brûlée <Ltd>"
    )


def test_clock_is_utc(gw: GatewayClient) -> None:
    reply = gw.call(function("<getAPISession/>"))
    stamp = datetime.fromisoformat(reply.root.findtext("operation/authentication/sessiontimestamp") or "")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 5
