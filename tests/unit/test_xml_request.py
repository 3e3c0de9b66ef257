"""build_request against the SDK envelope vectors, compared as parsed trees (the SDK tests do the same)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import SecretStr

from dbt_intacct.errors import ConfigError
from dbt_intacct.xml import functions
from dbt_intacct.xml.request import Function, LoginAuth, SessionAuth, build_request

VECTORS = Path("/work/shared/intacct/vectors")


def canonical(element: etree._Element) -> tuple[Any, ...]:
    """Tag, attributes, text (whitespace-only text ignored: vectors are indented) and children, in order."""
    text = (element.text or "").strip()
    children = tuple(canonical(child) for child in element if isinstance(child.tag, str))
    return (element.tag, dict(element.attrib), text, children)


def vector_tree(name: str) -> etree._Element:
    return etree.fromstring((VECTORS / f"{name}.xml").read_bytes())


def vector_fields(name: str) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())["fields"]
    return fields


def session_request(functions: list[Function]) -> bytes:
    """A request in session "sess" of sender "s", controlid "c", uniqueid true."""
    return build_request(
        sender_id="s",
        sender_password=SecretStr("p"),
        controlid="c",
        uniqueid=True,
        auth=SessionAuth(SecretStr("sess")),
        functions=functions,
    )


def test_whole_request_with_session_matches_vector() -> None:
    fields = vector_fields("envelope_request_session")
    body = build_request(
        sender_id=fields["control/senderid"],
        sender_password=SecretStr(fields["control/password"]),
        controlid=fields["control/controlid"],
        uniqueid=fields["control/uniqueid"],
        auth=SessionAuth(SecretStr(fields["operation/authentication/sessionid"])),
        functions=[],
    )
    assert canonical(etree.fromstring(body)) == canonical(vector_tree("envelope_request_session"))


def test_control_block_matches_vector_without_policyid() -> None:
    fields = vector_fields("envelope_control_uniqueid_policy")
    body = build_request(
        sender_id=fields["senderid"],
        sender_password=SecretStr(fields["password"]),
        controlid=fields["controlid"],
        uniqueid=fields["uniqueid"],
        auth=SessionAuth(SecretStr("any-session")),
        functions=[],
    )
    expected = vector_tree("envelope_control_uniqueid_policy")
    policyid = expected.find("policyid")
    assert policyid is not None
    expected.remove(policyid)
    control = etree.fromstring(body).find("control")
    assert control is not None
    assert canonical(control) == canonical(expected)


def test_login_operation_with_getapisession_matches_vector() -> None:
    fields = vector_fields("envelope_operation_login_getapisession")
    body = build_request(
        sender_id="sender",
        sender_password=SecretStr("sender-pw"),
        controlid="request-1",
        uniqueid=False,
        auth=LoginAuth(
            company_id=fields["authentication/login/companyid"],
            user_id=fields["authentication/login/userid"],
            user_password=SecretStr(fields["authentication/login/password"]),
        ),
        functions=[Function(fields["content/function/@controlid"], functions.get_api_session())],
    )
    operation = etree.fromstring(body).find("operation")
    assert operation is not None
    assert canonical(operation) == canonical(vector_tree("envelope_operation_login_getapisession"))


def test_entity_login_puts_locationid_after_password() -> None:
    auth = LoginAuth(company_id="co", user_id="u", user_password=SecretStr("pw"), entity_id="ENTITY-US")
    body = build_request(
        sender_id="s", sender_password=SecretStr("sp"), controlid="c", uniqueid=False, auth=auth, functions=[]
    )
    login = etree.fromstring(body).find("operation/authentication/login")
    assert login is not None
    assert [child.tag for child in login] == ["userid", "companyid", "password", "locationid"]
    assert login.findtext("locationid") == "ENTITY-US"


def test_declaration_encoding_and_escaping() -> None:
    body_element = etree.fromstring("<create><CUSTOMER><NAME/></CUSTOMER></create>")
    name = body_element.find("CUSTOMER/NAME")
    assert name is not None
    name.text = "Acme & Sons <Zürich> \"quoted\" 'single'"
    body = build_request(
        sender_id="s",
        sender_password=SecretStr("p&<>"),
        controlid="c",
        uniqueid=True,
        auth=SessionAuth(SecretStr("sess")),
        functions=[Function("f-1", body_element)],
        transaction=True,
    )
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "Zürich".encode() in body
    assert b"Acme &amp; Sons &lt;Z" in body
    parsed = etree.fromstring(body)
    assert parsed.findtext("operation/content/function/create/CUSTOMER/NAME") == name.text
    assert parsed.findtext("control/password") == "p&<>"
    assert parsed.findtext("control/uniqueid") == "true"
    assert parsed.find("operation") is not None
    assert parsed.get("transaction") is None
    assert parsed.find("operation").get("transaction") == "true"  # type: ignore[union-attr]
    assert parsed.find("control/policyid") is None


def test_functions_keep_their_order_and_controlids_and_bodies_are_not_moved() -> None:
    bodies = [
        etree.fromstring(f"<create><CUSTOMER><CUSTOMERID>C{i}</CUSTOMERID></CUSTOMER></create>")
        for i in range(3)
    ]
    batch = [Function(f"fn-{i}", body) for i, body in enumerate(bodies)]
    first = session_request(batch)
    second = session_request(batch)
    assert first == second
    wrappers = etree.fromstring(first).findall("operation/content/function")
    assert [w.get("controlid") for w in wrappers] == ["fn-0", "fn-1", "fn-2"]
    assert [w.findtext("create/CUSTOMER/CUSTOMERID") for w in wrappers] == ["C0", "C1", "C2"]
    assert all(body.getparent() is None for body in bodies)


def test_the_functions_bytes_are_those_of_the_whole_tree_serialised_at_once() -> None:
    # build_request splices each function's own serialisation into the envelope; the bytes must be what
    # lxml writes for the whole document, whatever the controlid, text, attributes and characters hold.
    bodies = [
        "<create><CUSTOMER><NAME>Z\u00fcrich &amp; &lt;Sons&gt; \"q\" 'a'</NAME><EMPTY/></CUSTOMER></create>",
        '<update_sotransaction key="SO &amp; &quot;1&quot;"><memo>line\nbreak\ttab</memo>'
        "</update_sotransaction>",
        "<query><object>GLACCOUNT</object><filter><like><field>TITLE</field><value>%\u20ac%</value></like>"
        "</filter></query>",
    ]
    controlids = ["plain", 'with "quotes" & <angles>', "tab\tand\nnewline"]
    batch = [Function(c, etree.fromstring(body)) for c, body in zip(controlids, bodies, strict=True)]
    body = session_request(batch)
    whole = etree.fromstring(session_request([]))
    content = whole.find("operation/content")
    assert content is not None
    for function in batch:
        wrapper = etree.SubElement(content, "function", controlid=function.controlid)
        wrapper.append(copy.deepcopy(function.body))
    assert body == b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(whole, encoding="UTF-8")
    assert [w.get("controlid") for w in etree.fromstring(body).iter("function")] == controlids


@pytest.mark.parametrize("length", [0, 257])
def test_function_controlid_length_is_validated(length: int) -> None:
    with pytest.raises(ValueError, match="1 to 256"):
        Function("x" * length, etree.Element("create"))


def test_function_controlid_of_256_characters_is_accepted() -> None:
    assert len(Function("x" * 256, etree.Element("create")).controlid) == 256


def test_request_controlid_length_is_validated() -> None:
    with pytest.raises(ValueError, match="request controlid"):
        build_request(
            sender_id="s",
            sender_password=SecretStr("p"),
            controlid="",
            uniqueid=False,
            auth=SessionAuth(SecretStr("sess")),
            functions=[],
        )


def test_function_body_must_be_an_element() -> None:
    with pytest.raises(ValueError, match="element"):
        Function("c", etree.Comment("not a function"))


def test_credentials_xml_cannot_carry_raise_config_error_without_the_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        build_request(
            sender_id="s",
            sender_password=SecretStr("bad\x00secret"),
            controlid="c",
            uniqueid=False,
            auth=SessionAuth(SecretStr("sess")),
            functions=[],
        )
    assert "secret" not in str(caught.value)


def test_auth_values_hide_secrets_in_repr() -> None:
    login = LoginAuth(company_id="co", user_id="u", user_password=SecretStr("hunter22"))
    session = SessionAuth(SecretStr("SESSION-XYZ-123"))
    assert "hunter22" not in repr(login) and "hunter22" not in str(login)
    assert "SESSION-XYZ-123" not in repr(session) and "SESSION-XYZ-123" not in str(session)


def test_query_body_shape() -> None:
    element = functions.query(
        "CUSTOMER",
        ["RECORDNO", "CUSTOMERID"],
        filter=functions.in_filter("CUSTOMERID", ["C1", "C2"]),
        order_by="RECORDNO",
        page_size=500,
        offset=1000,
        show_private=True,
    )
    assert canonical(element) == canonical(
        etree.fromstring(
            "<query><object>CUSTOMER</object>"
            "<select><field>RECORDNO</field><field>CUSTOMERID</field></select>"
            "<filter><in><field>CUSTOMERID</field><value>C1</value><value>C2</value></in></filter>"
            "<orderby><order><field>RECORDNO</field><ascending/></order></orderby>"
            "<options><showprivate>true</showprivate></options>"
            "<pagesize>500</pagesize><offset>1000</offset></query>"
        )
    )


def test_query_limits() -> None:
    with pytest.raises(ValueError):
        functions.in_filter("F", [str(i) for i in range(1001)])
    with pytest.raises(ValueError):
        functions.in_filter("F", [])
    with pytest.raises(ValueError):
        functions.query("CUSTOMER", ["RECORDNO"], page_size=2001)
    with pytest.raises(ValueError):
        functions.query("CUSTOMER", [])
    with pytest.raises(ValueError):
        functions.read_by_query("CUSTOMER", ["*"], "", page_size=1001)


def test_read_by_query_and_read_more_bodies() -> None:
    assert canonical(
        functions.read_by_query("CUSTOMER", ["RECORDNO", "NAME"], "NAME = 'O\\'Brien'", page_size=10)
    ) == (
        canonical(
            etree.fromstring(
                "<readByQuery><object>CUSTOMER</object><fields>RECORDNO,NAME</fields>"
                "<query>NAME = 'O\\'Brien'</query><pagesize>10</pagesize></readByQuery>"
            )
        )
    )
    assert canonical(functions.read_more("abc")) == canonical(
        etree.fromstring("<readMore><resultId>abc</resultId></readMore>")
    )
