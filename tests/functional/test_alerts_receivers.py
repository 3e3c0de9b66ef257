"""Alerts reach real receivers on loopback: an HTTP server for Slack, webhooks, PagerDuty and the SMS API,
aiosmtpd for email (plain, STARTTLS with login, implicit TLS). What arrived is asserted byte for byte."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from dbt_intacct.observe.alerts import AlertRule, Notification, decide, parse_alerts, send, send_all, settle
from tests.unit.test_alerts import BROKEN, CLEAN, RUN_WIDE, rejecting

# -- an HTTP receiver --------------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


class HttpReceiver:
    """Records every request; answers from a script of Answers, then 200 ok."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Answer] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.received.append(
                    Received(
                        "POST",
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length),
                    )
                )
                answer = receiver.script.pop(0) if receiver.script else Answer()
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.received.clear()
        self.script.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def http(http_receiver: HttpReceiver) -> HttpReceiver:
    http_receiver.reset()
    return http_receiver


def one_rule(raw: Mapping[str, Any]) -> AlertRule:
    return parse_alerts([{"name": "test-alert", **raw}])[0]


def first_notice(rule: AlertRule, run: Any = BROKEN, previous: str = "ok") -> Notification:
    return decide([rule], run, {rule.name: previous}).notifications[0]


# -- Slack, webhook, PagerDuty, SMS --------------------------------------------------------------------------
def test_slack_receives_text_and_blocks_at_the_secret_url(http: HttpReceiver) -> None:
    rule = one_rule({"kind": "slack", "url": f"{http.url}/services/T01/B02/slack-secret-path"})
    result = send(first_notice(rule))
    assert result.delivered and result.attempts == 1
    assert result.detail == f"HTTP 200 from {http.url}"  # the secret path is not in the detail
    (request,) = http.received
    assert request.path == "/services/T01/B02/slack-secret-path"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("dbt-intacct/")
    payload = request.json()
    assert payload["text"].startswith("dbt-intacct sync on prod FAILED: intacct_customers in error")
    assert [block["type"] for block in payload["blocks"]] == ["section", "section", "section", "context"]
    assert "relation main.intacct_customers does not exist" in payload["blocks"][2]["text"]["text"]
    assert "dbt-intacct show run-1" in payload["blocks"][3]["elements"][0]["text"]


def test_webhook_receives_the_documented_document_with_its_headers(http: HttpReceiver) -> None:
    rule = one_rule(
        {
            "kind": "webhook",
            "url": f"{http.url}/hook?token=webhook-secret",
            "headers": {"Authorization": "Bearer hs"},
        }
    )
    assert send(first_notice(rule, rejecting(4))).delivered
    (request,) = http.received
    assert request.path == "/hook?token=webhook-secret"
    assert request.headers["authorization"] == "Bearer hs"
    document = request.json()
    assert document["schema"] == "dbt-intacct/alert/v1"
    assert (document["event"], document["state"], document["previous_state"]) == (
        "rejected_rows",
        "rejecting",
        "ok",
    )
    assert document["run"]["id"] == "run-1" and document["problem_rows"] == 4
    assert [m["name"] for m in document["models"]] == ["intacct_customers", "intacct_journal_entries"]
    assert document["models"][1]["counts"]["rejected"] == 4
    assert len(document["first_errors"]) == 4
    assert document["command"] == "dbt-intacct show run-1"


def test_pagerduty_gets_one_trigger_per_incident_and_one_resolve(http: HttpReceiver) -> None:
    rules = parse_alerts(
        [
            {
                "name": "oncall",
                "kind": "pagerduty",
                "routing_key": "R0UT1NGKEY",
                "url": f"{http.url}/v2/enqueue",
            }
        ]
    )
    http.script = [Answer(202, b'{"status":"success","message":"Event processed","dedup_key":"x"}')] * 2
    states: dict[str, str] = {}
    for run in (CLEAN, BROKEN, BROKEN, RUN_WIDE, CLEAN, CLEAN):
        decision = decide(rules, run, states)
        assert all(result.delivered for result in send_all(decision.notifications))
        states = dict(decision.states)
    events = [request.json() for request in http.received]
    assert [event["event_action"] for event in events] == ["trigger", "resolve"]
    assert {event["dedup_key"] for event in events} == {"dbt-intacct/prod/oncall"}
    assert {event["routing_key"] for event in events} == {"R0UT1NGKEY"}
    payload = events[0]["payload"]
    assert payload["severity"] == "error" and payload["source"] == "dbt-intacct prod"
    assert payload["summary"].startswith("dbt-intacct sync on prod FAILED")
    assert payload["custom_details"]["command"] == "dbt-intacct show run-1"


def test_sms_posts_twilio_form_fields_with_basic_auth_once_per_number(http: HttpReceiver) -> None:
    rule = one_rule(
        {
            "kind": "sms",
            "url": f"{http.url}/2010-04-01/Accounts/{{account_sid}}/Messages.json",
            "account_sid": "AC0123456789",
            "auth_token": "twilio-token-secret",
            "from": "+15550001111",
            "to": ["+15550002222", "+15550003333"],
        }
    )
    http.script = [Answer(201, b'{"sid": "SM1", "status": "queued"}')] * 2
    result = send(first_notice(rule))
    assert result.delivered, result.detail
    assert len(http.received) == 2
    for request, number in zip(http.received, ["+15550002222", "+15550003333"], strict=True):
        assert request.path == "/2010-04-01/Accounts/AC0123456789/Messages.json"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        scheme, credentials = request.headers["authorization"].split()
        assert scheme == "Basic"
        assert base64.b64decode(credentials).decode() == "AC0123456789:twilio-token-secret"
        form = request.form()
        assert form["From"] == ["+15550001111"] and form["To"] == [number]
        (body,) = form["Body"]
        assert len(body) <= 320 and body.endswith("See: dbt-intacct show run-1")
        assert "FAILED" in body


# -- retries, timeouts, failures never raise, secrets never leak ---------------------------------------------
SECRET_URL_PATH = "/services/T9/B9/very-secret-token"


def test_a_transient_answer_is_retried_once(http: HttpReceiver) -> None:
    rule = one_rule({"kind": "slack", "url": f"{http.url}{SECRET_URL_PATH}"})
    http.script = [Answer(503, b"busy")]
    result = send(first_notice(rule), retry_delay=0.05)
    assert result.delivered and result.attempts == 2
    assert len(http.received) == 2


def test_retry_after_is_honoured(http: HttpReceiver) -> None:
    rule = one_rule({"kind": "webhook", "url": f"{http.url}/hook"})
    http.script = [Answer(429, b"slow down", {"Retry-After": "1"})]
    began = time.monotonic()
    result = send(first_notice(rule), retry_delay=0.05)
    assert result.delivered and result.attempts == 2
    assert time.monotonic() - began >= 1.0


def test_a_refusal_is_not_retried_and_is_reported_without_secrets(
    http: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    rule = one_rule({"kind": "slack", "url": f"{http.url}{SECRET_URL_PATH}"})
    http.script = [Answer(404, b"no_service")]
    with caplog.at_level(logging.INFO, logger="dbt_intacct.alerts"):
        result = send(first_notice(rule), retry_delay=0.05)
    assert not result.delivered and result.attempts == 1 and len(http.received) == 1
    assert result.detail == f"HTTP 404 from {http.url}: no_service"
    assert "very-secret-token" not in caplog.text + repr(result)
    assert "not delivered" in caplog.text


def test_a_receiver_that_hangs_times_out_twice_and_the_sync_goes_on(
    http: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    rule = one_rule({"kind": "slack", "url": f"{http.url}{SECRET_URL_PATH}", "timeout_seconds": 0.3})
    http.script = [Answer(delay=1.0), Answer(delay=1.0)]
    with caplog.at_level(logging.INFO, logger="dbt_intacct.alerts"):
        result = send(first_notice(rule), retry_delay=0.05)
    assert not result.delivered and result.attempts == 2
    assert f"{http.url} did not answer within 0.3 s" in result.detail
    assert "very-secret-token" not in caplog.text + repr(result)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_port_is_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}{SECRET_URL_PATH}"
    results = send_all([first_notice(one_rule({"kind": "slack", "url": url}))], retry_delay=0.05)
    assert [(r.delivered, r.attempts) for r in results] == [(False, 2)]
    assert results[0].detail.startswith("could not connect to http://127.0.0.1:")
    assert "very-secret-token" not in results[0].detail


# -- email over SMTP ------------------------------------------------------------------------------------
@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    tls: bool


class SmtpReceiver:
    """aiosmtpd on its own event loop thread, on a port the OS picked."""

    def __init__(
        self, *, starttls: ssl.SSLContext | None = None, implicit_tls: ssl.SSLContext | None = None
    ) -> None:
        self.mails: list[Mail] = []
        self.logins: list[tuple[str, str]] = []
        self.data_replies: list[str] = []  # scripted replies to DATA before "250 OK"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        receiver = self

        class Handler:
            async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
                if receiver.data_replies:
                    return receiver.data_replies.pop(0)
                content = envelope.original_content or b""
                receiver.mails.append(
                    Mail(
                        mail_from=str(envelope.mail_from),
                        rcpt_tos=list(envelope.rcpt_tos),
                        message=message_from_bytes(content, policy=policy.default),  # type: ignore[arg-type]
                        login=session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
                        tls=server.transport is not None
                        and server.transport.get_extra_info("ssl_object") is not None,
                    )
                )
                return "250 OK"

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            if isinstance(data, LoginPassword):
                receiver.logins.append((data.login.decode(), data.password.decode()))
                if data.login == b"alerts" and data.password == b"smtp-password-secret":
                    return AuthResult(success=True, auth_data=data.login)
            return AuthResult(success=False, handled=False)

        def protocol() -> SMTP:
            return SMTP(
                Handler(),
                hostname="localhost",
                loop=self.loop,
                tls_context=starttls,
                require_starttls=starttls is not None,
                authenticator=authenticator,
                auth_require_tls=starttls is not None or implicit_tls is not None,
            )

        self.server = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(protocol, "127.0.0.1", 0, ssl=implicit_tls), self.loop
        ).result(timeout=10)
        self.port = int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1; the key is next to it as key.pem."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem"


def server_context(certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    return context


@pytest.fixture
def smtp_plain() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_starttls(certificate: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpReceiver]:
    monkeypatch.setenv(
        "SSL_CERT_FILE", str(certificate)
    )  # the client trusts our test CA, as it would a relay's
    receiver = SmtpReceiver(starttls=server_context(certificate))
    yield receiver
    receiver.close()


def email_rule(port: int, **overrides: Any) -> AlertRule:
    raw = {
        "kind": "email",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "starttls": False,
        "from": "dbt-intacct@example.com",
        "to": ["controller@example.com", "ops@example.com"],
        "timeout_seconds": 5,
    }
    return one_rule({**raw, **overrides})


def test_email_arrives_as_text_and_html_with_status_and_counts(smtp_plain: SmtpReceiver) -> None:
    result = send(first_notice(email_rule(smtp_plain.port), rejecting(3)))
    assert result.delivered, result.detail
    assert result.detail == f"accepted by 127.0.0.1:{smtp_plain.port} for 2 recipient(s)"
    (mail,) = smtp_plain.mails
    assert mail.mail_from == "dbt-intacct@example.com"
    assert mail.rcpt_tos == ["controller@example.com", "ops@example.com"]
    message = mail.message
    assert message["Subject"] == (
        "[dbt-intacct] dbt-intacct sync on prod: 3 rows rejected or failed (alert at 1) "
        "in intacct_journal_entries"
    )
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert "intacct_journal_entries (journal_entry, insert): success; created 1, rejected 3" in text
    assert "intacct_journal_entries row JE-0: ENTRIES: the entry does not balance" in text
    assert "See the run: dbt-intacct show run-1" in text
    assert "<code>dbt-intacct show run-1</code>" in html.get_content()


def test_email_over_starttls_with_login(smtp_starttls: SmtpReceiver) -> None:
    rule = email_rule(smtp_starttls.port, starttls=True, username="alerts", password="smtp-password-secret")
    result = send(first_notice(rule))
    assert result.delivered, result.detail
    (mail,) = smtp_starttls.mails
    assert mail.tls and mail.login == "alerts"
    assert mail.message["Subject"].startswith("[dbt-intacct] dbt-intacct sync on prod FAILED")


def test_a_wrong_smtp_password_is_reported_once_without_the_password(
    smtp_starttls: SmtpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    rule = email_rule(smtp_starttls.port, starttls=True, username="alerts", password="wrong-password-value")
    with caplog.at_level(logging.INFO, logger="dbt_intacct.alerts"):
        result = send(first_notice(rule), retry_delay=0.05)
    assert not result.delivered and result.attempts == 1
    assert result.detail == f"127.0.0.1:{smtp_starttls.port} refused the login (535)"
    assert set(smtp_starttls.logins) == {
        ("alerts", "wrong-password-value")
    }  # smtplib tries PLAIN, then LOGIN
    assert "wrong-password-value" not in caplog.text + repr(result) + repr(rule)
    assert not smtp_starttls.mails


def test_an_untrusted_certificate_is_refused(certificate: Path) -> None:
    receiver = SmtpReceiver(starttls=server_context(certificate))  # no SSL_CERT_FILE: the CA is unknown
    try:
        result = send(first_notice(email_rule(receiver.port, starttls=True)), retry_delay=0.05)
    finally:
        receiver.close()
    assert not result.delivered and result.attempts == 1
    assert result.detail.startswith(f"TLS with 127.0.0.1:{receiver.port} failed (CERTIFICATE_VERIFY_FAILED")
    assert not receiver.mails


def test_email_over_implicit_tls(certificate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    receiver = SmtpReceiver(implicit_tls=server_context(certificate))
    try:
        result = send(first_notice(email_rule(receiver.port, ssl=True)))
    finally:
        receiver.close()
    assert result.delivered, result.detail
    assert [mail.tls for mail in receiver.mails] == [True]


def test_a_temporary_smtp_refusal_is_retried(smtp_plain: SmtpReceiver) -> None:
    smtp_plain.data_replies = ["451 4.3.0 try again later"]
    result = send(first_notice(email_rule(smtp_plain.port)), retry_delay=0.05)
    assert result.delivered and result.attempts == 2
    assert len(smtp_plain.mails) == 1


def test_a_permanent_smtp_refusal_is_not_retried(smtp_plain: SmtpReceiver) -> None:
    smtp_plain.data_replies = ["554 5.7.1 rejected by policy"]
    result = send(first_notice(email_rule(smtp_plain.port)), retry_delay=0.05)
    assert not result.delivered and result.attempts == 1
    assert result.detail == f"127.0.0.1:{smtp_plain.port} answered 554 5.7.1 rejected by policy"


def test_every_channel_fires_once_per_change_of_state(http: HttpReceiver, smtp_plain: SmtpReceiver) -> None:
    rules = parse_alerts(
        [
            {"name": "slack", "kind": "slack", "url": f"{http.url}/slack"},
            {"name": "hook", "kind": "webhook", "url": f"{http.url}/hook", "rejected_rows_threshold": 3},
            {"name": "pd", "kind": "pagerduty", "routing_key": "rk", "url": f"{http.url}/pd"},
            {"name": "sms", "kind": "sms", "url": f"{http.url}/sms/{{account_sid}}", "account_sid": "AC1",
             "auth_token": "tok", "from": "+1555", "to": ["+1556"]},
        ]
    )  # fmt: skip
    mail_rule = email_rule(smtp_plain.port)
    runs: Sequence[Any] = (CLEAN, BROKEN, BROKEN, rejecting(5), rejecting(5), CLEAN, CLEAN)
    states: dict[str, str] = {}
    for run in runs:
        decision = decide([*rules, mail_rule], run, states)
        assert all(r.delivered for r in send_all(decision.notifications, retry_delay=0.05))
        states = dict(decision.states)
    by_path: dict[str, int] = {}
    for request in http.received:
        path = request.path.split("?")[0]
        by_path[path] = by_path.get(path, 0) + 1
    # failure, rejected rows, recovery: three changes of state, three notices per channel
    assert by_path == {"/slack": 3, "/hook": 3, "/pd": 3, "/sms/AC1": 3}
    subjects = [mail.message["Subject"] for mail in smtp_plain.mails]
    assert len(subjects) == 3
    assert "FAILED" in subjects[0] and "rows rejected" in subjects[1] and "RECOVERED" in subjects[2]


def test_a_notice_the_channel_missed_is_sent_after_the_next_run(http: HttpReceiver) -> None:
    rules = parse_alerts([{"name": "slack", "kind": "slack", "url": f"{http.url}/slack"}])
    http.script = [Answer(500, b"down"), Answer(500, b"down")]
    states: dict[str, str] = {}
    outcomes = []
    for run in (BROKEN, BROKEN, BROKEN):
        decision = decide(rules, run, states)
        results = send_all(decision.notifications, retry_delay=0.05)
        outcomes.append([(r.event, r.delivered, r.attempts) for r in results])
        states = dict(settle(decision, results))
    assert outcomes == [[("failure", False, 2)], [("failure", True, 1)], []]
    assert len(http.received) == 3
