"""classify: every class of answer the client meets, from status, headers and body alone (no I/O)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dbt_intacct.client.classify import (
    Failure,
    Verdict,
    classify_reply,
    classify_transport_failure,
    first_errorno,
    refusal,
)
from dbt_intacct.client.transport import Delivery, TransportError
from dbt_intacct.errors import (
    AmbiguousOutcomeError,
    LoginRefused,
    RequestTooLarge,
    TerminalIntacctError,
    TransientIntacctError,
)
from dbt_intacct.secrets import SecretScrubber
from dbt_intacct.xml.response import ErrorDetail, Response

PASSWORD = "pw-S3CRET-value"
SCRUBBER = SecretScrubber([SecretStr(PASSWORD)])
HTML_PAGE = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>cf</body></html>"


def envelope(operation: str = "", control_status: str = "success", control_errors: str = "") -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><response><control><status>{control_status}</status>"
        f"<senderid>s</senderid><controlid>c</controlid></control>{control_errors}{operation}</response>"
    ).encode()


def errors(errorno: str, description2: str) -> str:
    return (
        f"<errormessage><error><errorno>{errorno}</errorno><description></description>"
        f"<description2>{description2}</description2><correction></correction></error></errormessage>"
    )


def result(controlid: str, status: str = "success", error: str = "") -> str:
    return (
        f"<result><status>{status}</status><function>create</function><controlid>{controlid}</controlid>"
        f"{error}</result>"
    )


def operation(*results: str, auth_status: str = "success", auth_errors: str = "") -> str:
    return (
        f"<operation><authentication><status>{auth_status}</status><userid>u</userid>"
        f"<companyid>co</companyid></authentication>{auth_errors}{''.join(results)}</operation>"
    )


OK_BODY = envelope(operation(result("a")))


def failure(status: int, body: bytes, headers: dict[str, str] | None = None) -> Failure:
    classified = classify_reply(status, headers or {}, body, SCRUBBER)
    assert isinstance(classified, Failure), f"expected a failure, got {classified!r}"
    return classified


def response(status: int, body: bytes) -> Response:
    classified = classify_reply(status, {}, body, SCRUBBER)
    assert isinstance(classified, Response), f"expected a response, got {classified!r}"
    return classified


# --- processed requests --------------------------------------------------------------------------


def test_a_processed_request_is_a_response_even_when_some_functions_failed() -> None:
    body = envelope(operation(result("a"), result("b", "failure", errors("BL34000061", "already exists"))))
    parsed = response(200, body)
    assert [r.ok for r in parsed.results] == [True, False]


def test_an_authentication_failure_is_a_response_for_the_caller_to_judge() -> None:
    parsed = response(200, envelope(operation(auth_status="failure", auth_errors=errors("XL03000006", "x"))))
    assert parsed.auth_failed and not parsed.control_failed


# --- transient -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_5xx_and_408_are_transient_with_a_parsed_body(status: int) -> None:
    found = failure(status, OK_BODY, {"Retry-After": "7"})
    assert (found.verdict, found.kind, found.retry_after) == (Verdict.TRANSIENT, f"http_{status}", 7.0)
    assert f"HTTP {status}" in found.message
    assert type(found.error()) is TransientIntacctError


@pytest.mark.parametrize("status", [500, 502, 503, 520])
def test_an_unusable_body_on_5xx_is_transient(status: int) -> None:
    found = failure(status, HTML_PAGE)
    assert (found.verdict, found.kind) == (Verdict.TRANSIENT, f"http_{status}")
    assert "502 Bad Gateway" in found.message


def test_429_is_transient_and_honours_retry_after() -> None:
    body = envelope(control_status="failure", control_errors=errors("GW-0010", "Too many requests"))
    found = failure(429, body, {"Retry-After": "3"})
    assert (found.verdict, found.kind, found.retry_after, found.errorno) == (
        Verdict.TRANSIENT,
        "rate_limited",
        3.0,
        "GW-0010",
    )


@pytest.mark.parametrize(
    ("errorno", "text"),
    [
        ("GW-0010", "Too many requests"),
        ("XL99", "API rate limit exceeded"),
        ("XL99", "The Service is Temporarily Off-line"),
    ],
)
def test_throttling_at_the_control_level_is_transient_even_on_200(errorno: str, text: str) -> None:
    found = failure(200, envelope(control_status="failure", control_errors=errors(errorno, text)))
    assert (found.verdict, found.kind) == (Verdict.TRANSIENT, "rate_limited")
    assert text in found.message


def test_throttling_at_the_authentication_level_is_transient() -> None:
    body = envelope(operation(auth_status="failure", auth_errors=errors("XL99", "API rate limit exceeded")))
    assert failure(200, body).verdict is Verdict.TRANSIENT


def test_throttling_of_every_function_is_transient_nothing_ran() -> None:
    throttled = errors("XL99", "API rate limit exceeded")
    body = envelope(operation(result("a", "failure", throttled), result("b", "failure", throttled)))
    found = failure(200, body)
    assert (found.verdict, found.kind) == (Verdict.TRANSIENT, "rate_limited")


def test_throttling_of_some_functions_only_is_a_response_the_others_ran() -> None:
    throttled = errors("XL99", "API rate limit exceeded")
    parsed = response(200, envelope(operation(result("a"), result("b", "failure", throttled))))
    assert parsed.results[1].is_transient and parsed.results[0].ok


def test_throttling_wording_in_a_plain_text_body_is_transient() -> None:
    assert failure(200, b"API rate limit exceeded").kind == "rate_limited"


# --- ambiguous, too large, redirects -------------------------------------------------------------


def test_524_is_ambiguous() -> None:
    found = failure(524, b"<html><title>524: A timeout occurred</title></html>", {"Retry-After": "2"})
    assert (found.verdict, found.kind, found.retry_after) == (Verdict.AMBIGUOUS, "http_524", 2.0)
    assert isinstance(found.error(), AmbiguousOutcomeError)


def test_413_is_too_large_for_the_caller_to_split() -> None:
    found = failure(413, b"too big")
    assert (found.verdict, found.errorno) == (Verdict.TOO_LARGE, "HTTP 413")
    assert isinstance(found.error(), RequestTooLarge) and not found.retryable


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_terminal_and_name_the_target(status: int) -> None:
    found = failure(status, b"", {"Location": "https://elsewhere.example.com/"})
    assert found.verdict is Verdict.TERMINAL and "elsewhere.example.com" in found.message


# --- terminal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errorno", "hint"),
    [
        ("XL03000006", "Web Services authorizations"),
        ("XMLGW_JPP0002", "check sender_id and sender_password"),
        ("PL04000055", "renew it in Intacct"),
        ("XL03000003", "dbt-intacct bug"),
        ("XL01234567", None),
    ],
)
def test_control_failures_are_terminal_with_a_hint(errorno: str, hint: str | None) -> None:
    body = envelope(control_status="failure", control_errors=errors(errorno, "refused"))
    found = failure(200, body)
    assert (found.verdict, found.kind, found.errorno) == (Verdict.TERMINAL, "control_failure", errorno)
    assert "Intacct refused the request: " in found.message
    assert (hint in found.message) if hint else "(" not in found.message
    # The sender's credentials refused: a configuration error (exit 2), still terminal.
    expected = LoginRefused if errorno in {"XL03000006", "XMLGW_JPP0002"} else TerminalIntacctError
    assert type(found.error()) is expected


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, HTML_PAGE),
        (200, b""),
        (200, b"not xml"),
        (200, b"<other/>"),
        (403, HTML_PAGE),
        (404, b"Not Found"),
        (200, b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "x">]><response/>'),
    ],
)
def test_an_unusable_body_outside_5xx_is_terminal(status: int, body: bytes) -> None:
    found = failure(status, body)
    assert (found.verdict, found.kind) == (Verdict.TERMINAL, "unusable_body")
    assert f"HTTP {status}" in found.message


def test_messages_are_scrubbed_of_known_secrets() -> None:
    body = envelope(control_status="failure", control_errors=errors("XL03000003", f"near '{PASSWORD}'"))
    assert PASSWORD not in failure(200, body).message
    assert PASSWORD not in failure(503, f"<html><title>{PASSWORD}</title></html>".encode()).message


# --- transport failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delivery", "verdict", "error_type"),
    [
        (Delivery.NOT_SENT, Verdict.TRANSIENT, TransientIntacctError),
        (Delivery.MAYBE_SENT, Verdict.AMBIGUOUS, AmbiguousOutcomeError),
        (Delivery.UNUSABLE, Verdict.TERMINAL, TerminalIntacctError),
    ],
)
def test_transport_failures_by_delivery(
    delivery: Delivery, verdict: Verdict, error_type: type[Exception]
) -> None:
    failed = TransportError("some_kind", delivery, f"failed at {PASSWORD}")
    found = classify_transport_failure(failed, SCRUBBER)
    assert (found.verdict, found.kind) == (verdict, "some_kind")
    assert type(found.error()) is error_type
    assert PASSWORD not in found.message
    assert ("may have been applied" in found.message) is (delivery is Delivery.MAYBE_SENT)


# --- helpers -------------------------------------------------------------------------------------


def test_refusal_takes_the_first_error_number_and_scrubs() -> None:
    details = [ErrorDetail("", "", "", ""), ErrorDetail("BL1", "d", "", ""), ErrorDetail("BL2", "", "", "")]
    assert first_errorno(details) == "BL1"
    error = refusal(f"refused {PASSWORD}", details, SCRUBBER)
    assert error.errorno == "BL1" and PASSWORD not in str(error)
