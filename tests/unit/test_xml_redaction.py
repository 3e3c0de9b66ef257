"""redact() and SecretScrubber: secrets never reach logs, the debugger or exception messages."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dbt_intacct.client.calls import MAX_LOGGED_BODY_CHARS, loggable
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


HARD = "p&ss<W0rd>\"it's]]>%+ é"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("raw", HARD),
        ("XML text", "p&amp;ss&lt;W0rd&gt;\"it's]]&gt;%+ é"),
        ("XML attribute, named quotes", "p&amp;ss&lt;W0rd&gt;&quot;it&apos;s]]&gt;%+ é"),
        ("Python html.escape", "p&amp;ss&lt;W0rd&gt;&quot;it&#x27;s]]&gt;%+ é"),
        ("PHP htmlspecialchars", "p&amp;ss&lt;W0rd&gt;&quot;it&#039;s]]&gt;%+ é"),
        ("decimal references", "p&#38;ss&#60;W0rd&#62;&#34;it&#39;s]]&#62;%+ é"),
        ("hex references", "p&#x26;ss&#x3c;W0rd&#x3e;&#x22;it&#x27;s]]&#x3e;%+ é"),
        ("escaped twice", "p&amp;amp;ss&amp;lt;W0rd&amp;gt;\"it's]]&amp;gt;%+ é"),
        ("inside CDATA", "p&ss<W0rd>\"it's]]]]><![CDATA[>%+ é"),
        ("URL-encoded", "p%26ss%3CW0rd%3E%22it%27s%5D%5D%3E%25%2B%20%C3%A9"),
        ("form-encoded", "p%26ss%3CW0rd%3E%22it%27s%5D%5D%3E%25%2B+%C3%A9"),
        ("JSON string", "p&ss<W0rd>\\\"it's]]>%+ \\u00e9"),
    ],
)
def test_scrubber_masks_every_usual_encoding_of_a_secret(name: str, shown: str) -> None:
    scrubber = SecretScrubber([SecretStr(HARD)])
    assert scrubber.scrub(f"<error>bad login {shown} here</error>") == "<error>bad login *** here</error>", (
        name
    )


def test_scrubber_masks_a_longer_secret_before_one_it_contains() -> None:
    scrubber = SecretScrubber([SecretStr("abcd1234"), SecretStr("abcd12345678")])
    assert scrubber.scrub("x abcd12345678 y abcd1234 z") == "x *** y *** z"


def test_scrubber_without_a_word_in_the_secret_still_masks_it() -> None:
    scrubber = SecretScrubber([SecretStr("&<>&\"'")])
    assert scrubber.scrub("a &amp;&lt;&gt;&amp;&quot;&apos; b &<>&\"' c") == "a *** b *** c"


def test_a_large_body_is_kept_cut_and_without_a_secret_across_the_cut() -> None:
    secret = "pw-across-the-cut-S3CRET"
    scrubber = SecretScrubber([SecretStr(secret)])
    filler = b"x" * (MAX_LOGGED_BODY_CHARS - 5)
    body = filler + secret.encode() + b"<sessionid>sess-1</sessionid>" + b"y" * 5_000_000
    kept = loggable(body, scrubber)
    assert kept.startswith(filler.decode()) and kept.endswith(f"<!-- cut: the body was {len(body)} bytes -->")
    assert len(kept) < MAX_LOGGED_BODY_CHARS + 100
    assert secret[:5] not in kept[len(filler) :]


def test_scrubber_tells_from_bytes_when_no_secret_can_be_there() -> None:
    scrubber = SecretScrubber([SecretStr("p&ss-W0rdy-1")])
    assert not SecretScrubber().may_occur_in(b"anything")
    assert not scrubber.may_occur_in(b"<response><status>success</status></response>")
    assert scrubber.may_occur_in(b"<e>p&amp;ss-W0rdy-1</e>")  # its word is there
    assert scrubber.may_occur_in(b"<e>&#112;&#38;ss</e>")  # references could spell it
    assert scrubber.may_occur_in("<e>W0rdy</e>".encode("utf-16-le"))  # a wide encoding spreads it
    assert SecretScrubber([SecretStr("&<>&\"'")]).may_occur_in(b"<e/>")  # no word to look for


@pytest.mark.parametrize("outer", ["once", "twice"])
def test_an_error_echoing_the_request_escaped_by_another_writer_reveals_no_secret(outer: str) -> None:
    """A function error echoing the request, the request's XML escaped again by the gateway's own writer
    (quotes escaped, where the request's writer left them): the message is unescaped for the user after
    parsing, and must not show the password then (it did, in the hostile gateway's echo case)."""
    import html

    from dbt_intacct.xml.response import parse_response

    password = "Snd&Pw<Kite9>'s"
    session = "sess-Hostile-0042"
    request = build_request(
        sender_id="s",
        sender_password=SecretStr(password),
        controlid="c1",
        uniqueid=True,
        auth=SessionAuth(SecretStr(session)),
        functions=[Function(controlid="f1", body=functions.get_api_session())],
    ).decode()
    echoed = html.escape(request) if outer == "once" else html.escape(html.escape(request))
    body = (
        "<response><control><status>success</status></control><operation><authentication>"
        "<status>success</status></authentication><result><status>failure</status><function>create"
        f"</function><controlid>f1</controlid><errormessage><error><errorno>BL01001973</errorno>"
        f"<description>{echoed}</description><description2>{html.escape(echoed)}</description2>"
        f"<correction>{echoed}</correction></error></errormessage></result></operation></response>"
    ).encode()
    scrubber = SecretScrubber([SecretStr(password), SecretStr(session)])
    (result,) = parse_response(body, scrubber=scrubber).results
    message = result.message
    for secret in (password, session):
        for form in (secret, html.escape(secret), html.escape(secret, quote=False), "Kite9", "Hostile-0042"):
            assert form not in message, message
    assert "BL01001973" in message
