"""redact() and SecretScrubber: secrets never reach logs, the debugger or exception messages."""

from __future__ import annotations

from pydantic import SecretStr

from dbt_intacct.secrets import SecretScrubber, redact
from dbt_intacct.xml import functions
from dbt_intacct.xml.request import Function, LoginAuth, SessionAuth, build_request


def test_redacts_built_login_request() -> None:
    body = build_request(
        sender_id="acme_sender",
        sender_password=SecretStr("sender-pw-123"),
        controlid="c1",
        uniqueid=False,
        auth=LoginAuth(company_id="ACME", user_id="ws_user", user_password=SecretStr("user-pw-456")),
        functions=[Function("login", functions.get_api_session())],
    )
    redacted = redact(body)
    assert "sender-pw-123" not in redacted and "user-pw-456" not in redacted
    assert redacted.count("<password>***</password>") == 2
    assert "<senderid>acme_sender</senderid>" in redacted and "<userid>ws_user</userid>" in redacted


def test_redacts_session_ids_in_requests_and_responses() -> None:
    request = build_request(
        sender_id="s",
        sender_password=SecretStr("pw-pw-pw"),
        controlid="c",
        uniqueid=False,
        auth=SessionAuth(SecretStr("SeSsIoN..42")),
        functions=[],
    )
    assert "SeSsIoN..42" not in redact(request)
    response = "<data><api><sessionid>abc123def</sessionid><endpoint>https://x</endpoint></api></data>"
    assert (
        redact(response) == "<data><api><sessionid>***</sessionid><endpoint>https://x</endpoint></api></data>"
    )


def test_any_element_named_like_password_in_any_case_with_attributes() -> None:
    text = (
        '<USER_PASSWORD a="1">one</USER_PASSWORD><Password>two</Password><passwordHint>three</passwordHint>'
    )
    assert redact(text) == (
        '<USER_PASSWORD a="1">***</USER_PASSWORD><Password>***</Password><passwordHint>***</passwordHint>'
    )


def test_leaves_other_elements_and_empty_ones_alone() -> None:
    text = "<password/><password></password><NAME>password</NAME><sessionidx>keep</sessionidx>"
    assert (
        redact(text)
        == "<password/><password>***</password><NAME>password</NAME><sessionidx>keep</sessionidx>"
    )


def test_truncated_and_multiline_bodies() -> None:
    assert redact("<control><password>abc\ndef") == "<control><password>***"
    assert redact(b"<sessionid>\n  multi\n  line\n</sessionid>") == "<sessionid>***</sessionid>"
    assert redact(b"<password>caf\xc3\xa9</password>\xff") == "<password>***</password>\ufffd"


def test_scrubber_masks_known_values_and_learns_new_ones() -> None:
    scrubber = SecretScrubber([SecretStr("sender-pw"), SecretStr(""), SecretStr("ab")])
    assert scrubber.scrub("failed for sender-pw at ab") == "failed for *** at ab"
    scrubber.add(SecretStr("session-777"))
    assert scrubber.scrub("url?sid=session-777") == "url?sid=***"
    assert "sender-pw" not in repr(scrubber) and "session-777" not in repr(scrubber)
