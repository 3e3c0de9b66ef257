"""parse_response against every SDK response vector, plus hostile and broken bodies."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from dbt_intacct.errors import IntacctError, TerminalIntacctError, TransientIntacctError
from dbt_intacct.secrets import SecretScrubber
from dbt_intacct.xml.response import ErrorDetail, FunctionResult, Response, parse_response
from dbt_intacct.xml.safe import MAX_XML_BYTES

VECTORS = Path("/work/shared/intacct/vectors")
RESPONSE_VECTORS = sorted(path.stem for path in VECTORS.glob("response_*.xml"))
_INDEXED = re.compile(r"^data/(?P<tag>[^/\[]+)\[(?P<index>\d+)\]/(?P<field>[^/@]+)$")


def load(name: str) -> tuple[Response, dict[str, Any]]:
    vector = json.loads((VECTORS / f"{name}.json").read_text())
    return parse_response((VECTORS / f"{name}.xml").read_bytes()), vector


def level_errornos(response: Response) -> list[str]:
    if response.control_failed:
        return [error.errorno for error in response.control_errors]
    if response.auth_failed:
        return [error.errorno for error in response.auth_errors]
    return list(response.results[0].errornos)


def check_expectation(response: Response, key: str, expected: Any) -> None:
    result = response.results[0] if response.results else None
    match key:
        case "control.status":
            assert response.control_status == expected
        case "authentication.status":
            assert response.auth_status == expected
        case "errornos":
            assert level_errornos(response) == expected
        case "status":
            assert result is not None and result.status == expected
        case "created":
            assert result is not None and result.records() == expected
        case "key":
            assert result is not None and result.key == expected
        case "sessionid" | "endpoint":
            assert result is not None and result.records()[0][key] == expected
        case "sessiontimeout":
            assert response.session_timeout == datetime.fromisoformat(expected)
        case "count" | "totalcount" | "numremaining":
            assert result is not None and getattr(result, key) == expected
        case "resultId":
            assert result is not None and result.result_id == expected
        case _:
            pytest.fail(f"the test does not know the expectation {key!r}; teach it")


def test_every_response_vector_is_covered() -> None:
    assert len(RESPONSE_VECTORS) >= 9


@pytest.mark.parametrize("name", RESPONSE_VECTORS)
def test_response_vector_expectations(name: str) -> None:
    response, vector = load(name)
    for key, expected in vector.get("expect", {}).items():
        check_expectation(response, key, expected)


@pytest.mark.parametrize("name", RESPONSE_VECTORS)
def test_response_vector_records_and_errors_match_fields(name: str) -> None:
    """The vector's `fields` of result-level vectors: each data/<tag>[i]/<FIELD> and each error."""
    response, vector = load(name)
    if not response.results:
        return
    result = response.results[0]
    records = result.records()
    for path, value in vector["fields"].items():
        indexed = _INDEXED.match(path)
        if indexed:
            assert records[int(indexed["index"])][indexed["field"]] == value
        error = re.match(r"^errormessage/error\[(\d+)\]/(\w+)$", path)
        if error:
            assert getattr(result.errors[int(error[1])], error[2]) == value
        if path in ("status", "function", "controlid"):
            assert getattr(result, path) == value


def test_generic_create_success() -> None:
    response, _ = load("response_generic_create_success")
    result = response.result_for("create")
    assert result.ok and result.listtype == "objects" and result.count == 2
    assert result.errors == () and result.message == ""
    assert not result.is_duplicate and not result.is_repeated_controlid


def test_duplicate_is_recognised_and_message_skips_generic_wrappers() -> None:
    response, _ = load("response_failure_duplicate")
    result = response.results[0]
    assert not result.ok
    assert result.is_duplicate
    assert not result.is_transient
    assert result.message == (
        "BL34000061: Another Class with the given value(s) UT01 already exists Use a unique value instead."
    )
    assert result.count == 0 and result.records() == []


def test_update_not_found_is_a_plain_failure() -> None:
    response, _ = load("response_failure_update_not_found")
    result = response.results[0]
    assert result.status == "failure"
    assert result.message == "Cannot update non-existing CLASS with CLASSID=UT99."
    assert not result.is_duplicate


def test_aborted_transaction() -> None:
    response, _ = load("response_transaction_aborted")
    result = response.result_for("testFunctionId")
    assert result.status == "aborted" and not result.ok
    assert result.message == "Query Failed: Object definition VENDOR9 not found"


def test_control_failure_has_no_operation() -> None:
    response, _ = load("response_failure_control")
    assert response.control_failed and not response.auth_failed
    assert response.auth_status is None and response.results == ()
    assert response.message == "XL03000006: test is not a valid transport policy."


def test_authentication_failure() -> None:
    response, _ = load("response_failure_authentication")
    assert not response.control_failed and response.auth_failed
    assert response.results == ()
    assert response.message == "XL03000006: Sign-in information is incorrect"


def test_session_times_and_legacy_key() -> None:
    response, _ = load("response_legacy_create_key")
    assert response.session_timestamp == datetime.fromisoformat("2015-10-25T10:08:34-07:00")
    assert response.session_timeout == datetime.fromisoformat("2015-10-26T10:08:34-07:00")
    assert response.results[0].key == "C1234" and response.results[0].data is None


def test_result_for_unknown_controlid_raises_key_error() -> None:
    response, _ = load("response_legacy_create_key")
    with pytest.raises(KeyError):
        response.result_for("nope")


def envelope(result_xml: str) -> bytes:
    return (
        "<response><control><status>success</status></control><operation><authentication>"
        "<status>success</status></authentication>" + result_xml + "</operation></response>"
    ).encode()


def single(result_xml: str) -> FunctionResult:
    return parse_response(envelope(result_xml)).results[0]


def test_records_flatten_nested_elements_to_dotted_keys_and_repeats_to_lists() -> None:
    result = single(
        "<result><status>success</status><function>read</function><controlid>r</controlid>"
        '<data listtype="GLBATCH" count="1"><GLBATCH><RECORDNO>7</RECORDNO><BATCH_TITLE/>'
        "<DISPLAYCONTACT><EMAIL1>a@b.c</EMAIL1><MAILADDRESS><CITY>Oslo</CITY></MAILADDRESS></DISPLAYCONTACT>"
        "<ENTRIES><GLENTRY><ACCOUNTNO>1000</ACCOUNTNO></GLENTRY><GLENTRY><ACCOUNTNO>4000</ACCOUNTNO>"
        "<LOC><ID>L1</ID></LOC></GLENTRY></ENTRIES></GLBATCH></data></result>"
    )
    assert result.records() == [
        {
            "RECORDNO": "7",
            "BATCH_TITLE": "",
            "DISPLAYCONTACT.EMAIL1": "a@b.c",
            "DISPLAYCONTACT.MAILADDRESS.CITY": "Oslo",
            "ENTRIES.GLENTRY": [{"ACCOUNTNO": "1000"}, {"ACCOUNTNO": "4000", "LOC.ID": "L1"}],
        }
    ]


def test_query_page_attributes() -> None:
    result = single(
        "<result><status>success</status><function>query</function><controlid>q</controlid>"
        '<data listtype="CUSTOMER" totalcount="5" offset="2" count="2" numremaining="1">'
        "<CUSTOMER><RECORDNO>3</RECORDNO></CUSTOMER><CUSTOMER><RECORDNO>4</RECORDNO></CUSTOMER></data></result>"
    )
    assert (result.listtype, result.totalcount, result.offset, result.count, result.numremaining) == (
        "CUSTOMER",
        5,
        2,
        2,
        1,
    )
    assert result.result_id is None
    assert [record["RECORDNO"] for record in result.records()] == ["3", "4"]


@pytest.mark.parametrize(
    ("errorno", "description2", "repeated"),
    [
        ("XL03000010", "whatever the text", True),
        ("XL99999999", "The function with control ID 'x' was already executed and completed", True),
        ("", "This request cannot be repeated", True),
        ("BL34000061", "Another Customer with the given value(s) C1 already exists", False),
    ],
)
def test_repeated_controlid_detection(errorno: str, description2: str, repeated: bool) -> None:
    result = single(
        "<result><status>failure</status><function>create</function><controlid>c</controlid>"
        f"<errormessage><error><errorno>{errorno}</errorno><description></description>"
        f"<description2>{description2}</description2><correction></correction></error></errormessage></result>"
    )
    assert result.is_repeated_controlid is repeated


def test_error_text_strips_tags_unescapes_and_decodes_support_id() -> None:
    error = ErrorDetail(
        errorno="BL01001973",
        description="",
        description2="Could not create <b>Customer</b> &amp; friends [Support ID: ab%7Ecd%40ef]",
        correction="   ",
    )
    assert error.text() == "BL01001973: Could not create Customer & friends [Support ID: ab~cd@ef]"
    assert ErrorDetail("", "", "", "").text() == ""
    assert ErrorDetail("GW-0010", "", "", "").text() == "GW-0010"


def test_transient_result_errors() -> None:
    result = single(
        "<result><status>failure</status><function>create</function><controlid>c</controlid>"
        "<errormessage><error><errorno>XYZ</errorno><description></description>"
        "<description2>API rate limit exceeded</description2><correction></correction></error>"
        "</errormessage></result>"
    )
    assert result.is_transient


# --- hostile and broken bodies -------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<response><control><status>success</status></control><operation><result><status>&lol9;</status>
</result></operation></response>"""


def xxe(path: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE response [<!ENTITY xxe SYSTEM "file://{path}">]>'
        "<response><control><status>success</status></control><operation><result>"
        "<status>&xxe;</status></result></operation></response>"
    ).encode()


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(TerminalIntacctError, match="DTD or entities"):
        parse_response(BILLION_LAUGHS, http_status=200)


def test_xxe_file_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET-CONTENT")
    with pytest.raises(TerminalIntacctError) as caught:
        parse_response(xxe(secret_file), http_status=200)
    assert "TOP-SECRET-CONTENT" not in str(caught.value)


def test_xxe_parameter_entity_and_plain_doctype_are_refused() -> None:
    parameter = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><response/>'
    )
    doctype_only = b'<?xml version="1.0"?><!DOCTYPE response SYSTEM "http://127.0.0.1:1/r.dtd"><response/>'
    for body in (parameter, doctype_only):
        with pytest.raises(TerminalIntacctError, match="DTD"):
            parse_response(body, http_status=200)


def test_doctype_in_utf16_is_refused() -> None:
    """UTF-16 hides the declarations from the byte scan; the parser and the DTD check still refuse."""
    declared = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE response [<!ENTITY a "x">]><response/>'
    with pytest.raises(TerminalIntacctError, match="DTD"):
        parse_response(declared.encode("utf-16"), http_status=200)
    laughs = BILLION_LAUGHS.decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'
    )
    with pytest.raises(TerminalIntacctError, match="cannot be used"):
        parse_response(laughs.encode("utf-16"), http_status=200)


def test_body_over_the_limit_is_refused() -> None:
    body = envelope("<result><status>success</status></result>") + b" " * 100
    with pytest.raises(TerminalIntacctError, match="over the 64-byte limit"):
        parse_response(body, http_status=200, max_bytes=64)
    with pytest.raises(TerminalIntacctError, match="limit"):
        parse_response(b"<response>" + b" " * MAX_XML_BYTES + b"</response>", http_status=200)


def test_huge_text_node_and_deep_nesting_are_refused_cleanly() -> None:
    huge_text = b"<response><control><status>" + b"x" * (11 * 1024 * 1024) + b"</status></control></response>"
    deep = b"<response>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</response>"
    for body in (huge_text, deep):
        with pytest.raises(TerminalIntacctError, match="not well-formed"):
            parse_response(body, http_status=200)


@pytest.mark.parametrize(
    ("http_status", "error_type"),
    [
        (502, TransientIntacctError),
        (503, TransientIntacctError),
        (500, TransientIntacctError),
        (429, TransientIntacctError),
        (200, TerminalIntacctError),
        (403, TerminalIntacctError),
        (404, TerminalIntacctError),
    ],
)
def test_html_error_page_is_classified_by_status(http_status: int, error_type: type[IntacctError]) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>cloudflare</p></body></html>"
    )
    with pytest.raises(IntacctError) as caught:
        parse_response(page, http_status=http_status)
    assert type(caught.value) is error_type
    assert f"HTTP {http_status}" in str(caught.value)
    assert "502 Bad Gateway" in str(caught.value)


@pytest.mark.parametrize("body", [b"", b"   \n", b"not xml at all", b"<response><control>", b"\x00\xff\xfe"])
def test_empty_and_garbage_bodies(body: bytes) -> None:
    with pytest.raises(TerminalIntacctError, match="HTTP 200"):
        parse_response(body, http_status=200)
    with pytest.raises(TransientIntacctError, match="HTTP 503"):
        parse_response(body, http_status=503)


def test_xml_that_is_not_a_response() -> None:
    with pytest.raises(TerminalIntacctError, match="not Intacct's <response>"):
        parse_response(b"<customer><id>1</id></customer>", http_status=200)
    with pytest.raises(TerminalIntacctError, match="no <control>"):
        parse_response(b"<response><operation/></response>", http_status=200)


def test_plain_text_throttling_is_transient_even_with_200() -> None:
    with pytest.raises(TransientIntacctError, match="rate limit"):
        parse_response(b"API rate limit exceeded. Try again later.", http_status=200)


def test_unusable_body_message_does_not_echo_secrets() -> None:
    body = b"<request><control><password>sender-secret-pw</password></control>"  # truncated echo
    with pytest.raises(IntacctError) as caught:
        parse_response(body, http_status=500)
    assert "sender-secret-pw" not in str(caught.value)


CDN_PAGE = (
    "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>example.com | 520: Web server "
    "is returning an unknown error</title></head><body><h1>Web server is returning an unknown error</h1>"
    "</body></html>"
)


@pytest.mark.parametrize("http_status", [502, 503, 520])
def test_a_cdns_html_page_is_described_as_such_not_as_an_attack(http_status: int) -> None:
    with pytest.raises(TransientIntacctError) as caught:
        parse_response(CDN_PAGE.encode(), http_status=http_status)
    message = str(caught.value)
    assert f"HTTP {http_status} with an HTML page, not Intacct XML" in message
    assert "proxy or CDN" in message and "520: Web server is returning an unknown error" in message
    assert "DTD" not in message and "entit" not in message


def test_an_html_page_on_200_points_at_the_endpoint() -> None:
    with pytest.raises(TerminalIntacctError) as caught:
        parse_response(
            b"<html><head><title>Sign in</title></head><body>portal</body></html>", http_status=200
        )
    assert "HTML page, not Intacct XML" in str(caught.value) and "endpoint" in str(caught.value)
    assert "'Sign in'" in str(caught.value)


def test_a_doctype_with_an_internal_subset_is_still_an_attack_even_if_it_says_html() -> None:
    with pytest.raises(TerminalIntacctError, match="DTD or entities"):
        parse_response(b'<!DOCTYPE html [<!ENTITY x "x">]><html>&x;</html>', http_status=200)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_wide_body_is_described_in_its_own_encoding(encoding: str) -> None:
    page = CDN_PAGE.encode(encoding)
    with pytest.raises(TransientIntacctError) as caught:
        parse_response(page, http_status=502)
    assert "520: Web server is returning an unknown error" in str(caught.value)
    text = "Service down: the database is unreachable".encode(encoding)
    with pytest.raises(TerminalIntacctError) as caught:
        parse_response(text, http_status=200)
    assert "\x00" not in str(caught.value) and "\\x00" not in str(caught.value)
    assert "Service down: the database is unreachable" in str(caught.value)


def test_a_body_in_a_declared_single_byte_encoding_is_decoded_with_it() -> None:
    body = "<?xml version='1.0' encoding='ISO-8859-1'?><oops>Caf\u00e9 ferm\u00e9</oops>".encode("latin-1")
    with pytest.raises(TerminalIntacctError, match="Café fermé"):
        parse_response(body, http_status=200)


def test_a_secret_spelled_in_character_references_is_scrubbed() -> None:
    password = "Pw-S3cret&Word"
    spelled = "".join(f"&#{ord(char)};" for char in password)
    body = envelope(
        "<result><status>failure</status><function>create</function><controlid>c</controlid>"
        f"<errormessage><error><errorno>XL1</errorno><description2>echo {spelled}</description2>"
        "</error></errormessage></result>"
    )
    result = parse_response(body, scrubber=SecretScrubber([SecretStr(password)])).results[0]
    assert result.errors[0].description2 == "echo ***"


LARGE = 256 * 1024  # above this size an answer is parsed incrementally


def test_a_large_read_page_streams_its_records_in_order_and_scrubbed() -> None:
    password = "Pw-S3cret&Word"
    records = "".join(
        f"<CUSTOMER><RECORDNO>{n}</RECORDNO><NAME>name {n}</NAME><DISPLAYCONTACT><EMAIL1>{n}@x</EMAIL1>"
        "</DISPLAYCONTACT></CUSTOMER>"
        for n in range(6000)
    )
    echo = "<CUSTOMER><RECORDNO>echo</RECORDNO><NAME>pw Pw-S3cret&amp;Word</NAME></CUSTOMER>"
    body = envelope(
        "<result><status>success</status><function>query</function><controlid>q</controlid>"
        f'<data listtype="CUSTOMER" count="6001" totalcount="9000" offset="0" numremaining="2999">'
        f"{records}{echo}</data></result>"
    )
    assert len(body) > LARGE
    result = parse_response(body, scrubber=SecretScrubber([SecretStr(password)])).results[0]
    assert result.data is not None and len(result.data) == 0  # the records left the tree
    assert (result.count, result.numremaining, result.listtype) == (6001, 2999, "CUSTOMER")
    found = list(result.iter_records())
    assert len(found) == 6001 and found == result.records()
    assert found[0] == {"RECORDNO": "0", "NAME": "name 0", "DISPLAYCONTACT.EMAIL1": "0@x"}
    assert found[5999]["RECORDNO"] == "5999"
    assert found[-1] == {"RECORDNO": "echo", "NAME": "pw ***"}


def test_a_large_answer_to_writes_keeps_its_data_and_is_scrubbed() -> None:
    password = "Pw-S3cret&Word"
    results = "".join(
        f"<result><status>success</status><function>create</function><controlid>c{n}</controlid>"
        f'<data listtype="objects" count="1"><customer><RECORDNO>{n}</RECORDNO></customer></data></result>'
        for n in range(3000)
    )
    failed = (
        "<result><status>failure</status><function>create</function><controlid>bad</controlid>"
        f"<errormessage><error><errorno>XL1</errorno><description2>{password.replace('&', '&amp;')}"
        "</description2></error></errormessage></result>"
    )
    body = envelope(results + failed)
    assert len(body) > LARGE
    response = parse_response(body, scrubber=SecretScrubber([SecretStr(password)]))
    assert [r.data.findtext("customer/RECORDNO") for r in response.results[:3] if r.data is not None] == [
        "0",
        "1",
        "2",
    ]
    assert response.result_for("c2999").records() == [{"RECORDNO": "2999"}]
    assert response.result_for("bad").message == "XL1: ***"
