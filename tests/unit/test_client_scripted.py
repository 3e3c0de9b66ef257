"""IntacctClient over real loopback HTTP against a scripted gateway: one answer per request, chosen by
the test. It isolates the client's decisions (retry, re-login, classify, redact) from the emulator's
protocol, which tests/functional/test_client_emulator.py covers.
"""

from __future__ import annotations

import gzip
import html
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as xml_escape

import pytest
from lxml import etree
from pydantic import SecretStr

from dbt_intacct.client import ApiCall, Credentials, IntacctClient, RetryPolicy
from dbt_intacct.client.transport import Delivery, HttpTransport, TransportError
from dbt_intacct.errors import (
    AmbiguousOutcomeError,
    ConfigError,
    IntacctError,
    TerminalIntacctError,
    TransientIntacctError,
)
from dbt_intacct.xml.request import Function

SENDER_PASSWORD = "sender-pw-S3CRET"
USER_PASSWORD = "user-pw-S3CRET"
SESSION_PREFIX = "sess-S3CRET-"
SECRETS = (SENDER_PASSWORD, USER_PASSWORD, SESSION_PREFIX)
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=3.0, max_total=30.0)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without answering."""


@dataclass(frozen=True)
class Drip:
    """Answer 200 with a Content-Length, then send the answer one byte every ``interval`` seconds
    (the status line and headers too, with ``headers_too``)."""

    body: bytes
    interval: float = 0.05
    headers_too: bool = False


@dataclass(frozen=True)
class Echo:
    """Fail every function with an error whose description2 echoes the whole request, escaped as XML
    text (or inside CDATA), as a careless gateway does."""

    cdata: bool = False


@dataclass(frozen=True)
class Answer:
    """Answer with what ``make`` makes of the request."""

    make: Callable[[Seen], Reply]


Action = Reply | Drop | Drip | Echo | Answer


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    root: etree._Element

    @property
    def function_names(self) -> list[str]:
        return [str(f[0].tag) for f in self.root.iterfind("operation/content/function")]

    @property
    def controlids(self) -> list[str]:
        return [str(f.get("controlid")) for f in self.root.iterfind("operation/content/function")]

    @property
    def session_id(self) -> str | None:
        return self.root.findtext("operation/authentication/sessionid")


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def envelope(operation: str, control_status: str = "success", control_errors: str = "") -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><response><control><status>{control_status}</status>"
        "<senderid>s</senderid><controlid>c</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion>"
        f"</control>{control_errors}{operation}</response>"
    ).encode()


def error_xml(errorno: str, description2: str) -> str:
    return (
        f"<errormessage><error><errorno>{errorno}</errorno><description></description>"
        f"<description2>{description2}</description2><correction></correction></error></errormessage>"
    )


def authenticated(results: str, lifetime: float = 3600.0) -> str:
    now = datetime.now(UTC)
    return (
        "<operation><authentication><status>success</status><userid>u</userid><companyid>co</companyid>"
        f"<sessiontimestamp>{stamp(now)}</sessiontimestamp>"
        f"<sessiontimeout>{stamp(now + timedelta(seconds=lifetime))}</sessiontimeout>"
        f"</authentication>{results}</operation>"
    )


def success_results(seen: Seen) -> str:
    return "".join(
        f"<result><status>success</status><function>{name}</function><controlid>{controlid}</controlid>"
        f'<data listtype="objects" count="1"><customer><RECORDNO>{index}</RECORDNO></customer></data>'
        "</result>"
        for index, (name, controlid) in enumerate(zip(seen.function_names, seen.controlids, strict=True))
    )


def auth_failure(errorno: str = "XL03000006", text: str = "Invalid session") -> Reply:
    operation = (
        "<operation><authentication><status>failure</status><userid>u</userid><companyid>co</companyid>"
        f"</authentication>{error_xml(errorno, text)}</operation>"
    )
    return Reply(body=envelope(operation))


def control_failure(errorno: str, text: str, status: int = 200) -> Reply:
    return Reply(status=status, body=envelope("", "failure", error_xml(errorno, text)))


HTML_502 = Reply(
    502, b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>cf</body></html>"
)


@dataclass
class ScriptedGateway:
    """A loopback HTTP server: logins succeed; other requests take the next scripted action, else succeed."""

    server: ThreadingHTTPServer
    url: str
    actions: deque[Action] = field(default_factory=deque)
    login_actions: deque[Action] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    session_lifetime: float = 3600.0
    login_endpoint: str | None = None
    login_locationid: str | None = None  # the entity a login's answer names (default: the one asked for)
    work_delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, seen: Seen) -> Action:
        with self.lock:
            self.seen.append(seen)
            is_login = seen.function_names == ["getAPISession"]
            queue = self.login_actions if is_login else self.actions
            if queue:
                return queue.popleft()
            if is_login:
                self.logins += 1
                asked = seen.root.findtext("operation/authentication/login/locationid") or ""
                location = asked if self.login_locationid is None else self.login_locationid
                api = (
                    f"<api><sessionid>{SESSION_PREFIX}{self.logins}</sessionid>"
                    f"<endpoint>{self.login_endpoint or self.url}</endpoint>"
                    f"<locationid>{location}</locationid></api>"
                )
                results = (
                    "<result><status>success</status><function>getAPISession</function>"
                    f"<controlid>{seen.controlids[0]}</controlid><data>{api}</data></result>"
                )
                return Reply(body=envelope(authenticated(results, self.session_lifetime)))
        return Reply(
            body=envelope(authenticated(success_results(seen), self.session_lifetime)), delay=self.work_delay
        )

    @property
    def work(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.function_names != ["getAPISession"]]


def echo_reply(seen: Seen, cdata: bool) -> Reply:
    request = seen.body.decode()
    echoed = f"<![CDATA[{request}]]>" if cdata else xml_escape(request)
    results = "".join(
        f"<result><status>failure</status><function>create</function><controlid>{controlid}</controlid>"
        "<errormessage><error><errorno>XL03000003</errorno><description>Cannot process</description>"
        f"<description2>{echoed}</description2><correction></correction></error></errormessage></result>"
        for controlid in seen.controlids
    )
    return Reply(body=envelope(authenticated(results)))


def drip(handler: BaseHTTPRequestHandler, action: Drip) -> None:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {len(action.body)}\r\n\r\n"
    ).encode()
    if not action.headers_too:
        handler.wfile.write(head)
        handler.wfile.flush()
    for byte in (head if action.headers_too else b"") + action.body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(action.interval)


def make_handler(gateway_ref: Callable[[], ScriptedGateway]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            gateway = gateway_ref()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen = Seen(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body, etree.fromstring(body)
            )
            with gateway.lock:
                gateway.in_flight += 1
                gateway.max_in_flight = max(gateway.max_in_flight, gateway.in_flight)
            try:
                action = gateway.answer(seen)
                if isinstance(action, Echo):
                    action = echo_reply(seen, action.cdata)
                if isinstance(action, Answer):
                    action = action.make(seen)
                if isinstance(action, Drop):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(action, Drip):
                    self.close_connection = True
                    drip(self, action)
                    return
                time.sleep(action.delay)
                self.send_response(action.status)
                self.send_header("Content-Type", "text/xml; charset=UTF-8")
                for name, value in action.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(action.body)))
                self.end_headers()
                self.wfile.write(action.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                with gateway.lock:
                    gateway.in_flight -= 1

    return Handler


@pytest.fixture
def gateway() -> Iterator[ScriptedGateway]:
    holder: list[ScriptedGateway] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(lambda: holder[0]))
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}/ia/xml/xmlgw.phtml"
    holder.append(ScriptedGateway(server=server, url=url))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()


def credentials(url: str) -> Credentials:
    return Credentials(
        sender_id="sender",
        sender_password=SecretStr(SENDER_PASSWORD),
        company_id="co",
        user_id="u",
        user_password=SecretStr(USER_PASSWORD),
        entity_id=None,
        endpoint=url,
    )


@pytest.fixture
def calls() -> list[ApiCall]:
    return []


@pytest.fixture
def client(gateway: ScriptedGateway, calls: list[ApiCall]) -> Iterator[IntacctClient]:
    with IntacctClient(credentials(gateway.url), timeout=5.0, retry=FAST, on_call=calls.append) as made:
        yield made


def create(controlid: str) -> Function:
    return Function(
        controlid, etree.fromstring("<create><CUSTOMER><CUSTOMERID>C1</CUSTOMERID></CUSTOMER></create>")
    )


def assert_no_secrets(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text), f"secret leaked into {str(text)[:200]!r}"


def assert_calls_clean(calls: list[ApiCall]) -> None:
    for call in calls:
        assert_no_secrets(call.request_xml, call.response_xml, call.error, repr(call))


# --- the happy path ------------------------------------------------------------------------------


def test_login_once_then_session_requests_with_the_right_headers(
    gateway: ScriptedGateway, client: IntacctClient, calls: list[ApiCall]
) -> None:
    first = client.execute([create("a"), create("b")], uniqueid=True)
    second = client.execute([create("c")], uniqueid=True)
    assert list(first) == ["a", "b"] and all(result.ok for result in first.values())
    assert list(second) == ["c"]
    assert [seen.function_names for seen in gateway.seen] == [
        ["getAPISession"],
        ["create", "create"],
        ["create"],
    ]
    login = gateway.seen[0]
    assert login.root.findtext("operation/authentication/login/password") == USER_PASSWORD
    assert login.root.find("operation/authentication/login/locationid") is None
    assert {seen.session_id for seen in gateway.work} == {f"{SESSION_PREFIX}1"}
    assert all(seen.root.findtext("control/uniqueid") == "true" for seen in gateway.work)
    headers = gateway.seen[1].headers
    assert headers["content-type"] == "application/xml"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert [call.outcome for call in calls] == ["ok", "ok", "ok"]
    assert [call.function_count for call in calls] == [1, 2, 1]
    assert_calls_clean(calls)
    stats = client.stats
    assert (stats.calls, stats.requests, stats.functions_sent, stats.logins, stats.retries) == (3, 2, 4, 1, 0)


def test_entity_login_sends_locationid(gateway: ScriptedGateway) -> None:
    creds = credentials(gateway.url)
    entity = Credentials(**{**creds.__dict__, "entity_id": "ENTITY-US"})
    with IntacctClient(entity, retry=FAST) as client:
        client.open_session()
    assert gateway.seen[0].root.findtext("operation/authentication/login/locationid") == "ENTITY-US"


def test_a_session_in_another_entity_than_asked_is_refused(gateway: ScriptedGateway) -> None:
    """A record belongs to the entity whose session creates it: a login answered in another entity (a
    user restricted to one) must not be written through."""
    creds = credentials(gateway.url)
    entity = Credentials(**{**creds.__dict__, "entity_id": "ENTITY-US"})
    gateway.login_locationid = ""
    with IntacctClient(entity, retry=FAST) as client:
        with pytest.raises(TerminalIntacctError, match="in the top level, not in entity 'ENTITY-US'"):
            client.execute([create("a")], uniqueid=True)
        top = client.for_entity("")
        gateway.login_locationid = "ENTITY-UK"
        with pytest.raises(TerminalIntacctError, match="in entity 'ENTITY-UK', not in the top level"):
            top.execute([create("b")], uniqueid=True)
    assert gateway.work == []
    # A connection that names no entity takes the session Intacct gives.
    with IntacctClient(creds, retry=FAST) as client:
        client.execute([create("c")], uniqueid=True)
    assert len(gateway.work) == 1


def test_later_calls_go_to_the_session_endpoint(gateway: ScriptedGateway, client: IntacctClient) -> None:
    gateway.login_endpoint = gateway.url.replace("xmlgw.phtml", "session-endpoint.phtml")
    client.execute([create("a")], uniqueid=True)
    assert [seen.path for seen in gateway.seen] == ["/ia/xml/xmlgw.phtml", "/ia/xml/session-endpoint.phtml"]


def test_a_session_endpoint_on_a_foreign_host_is_refused(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    gateway.login_endpoint = "https://evil.example.com/ia/xml/xmlgw.phtml"
    with pytest.raises(TerminalIntacctError, match=r"evil\.example\.com"):
        client.open_session()


def test_empty_batch_sends_nothing(gateway: ScriptedGateway, client: IntacctClient) -> None:
    assert client.execute([], uniqueid=True) == {}
    assert gateway.seen == []


def test_duplicate_controlids_in_one_request_are_a_programming_error(client: IntacctClient) -> None:
    with pytest.raises(ValueError, match="unique"):
        client.execute([create("a"), create("a")], uniqueid=True)


def test_gzip_responses_are_decoded(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    body = envelope(authenticated(success_results_for(["x"])))
    gateway.actions.append(Reply(body=gzip.compress(body), headers=(("Content-Encoding", "gzip"),)))
    assert client.execute([create("x")], uniqueid=True)["x"].ok


def success_results_for(controlids: list[str]) -> str:
    return "".join(
        f"<result><status>success</status><function>create</function><controlid>{c}</controlid></result>"
        for c in controlids
    )


# --- transient faults ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (Reply(503, b"Service Unavailable"), "http_503"),
        (Reply(500, b""), "http_500"),
        (HTML_502, "http_502"),
        (Reply(504, b"<html><title>Gateway Timeout</title></html>"), "http_504"),
        (control_failure("GW-0010", "Too many requests", status=429), "rate_limited"),
        (control_failure("XL99", "API rate limit exceeded"), "rate_limited"),
        (control_failure("XL99", "The Service is Temporarily Off-line"), "rate_limited"),
        (Reply(200, b"API rate limit exceeded"), "rate_limited"),
    ],
)
def test_transient_faults_are_retried_and_survived(
    gateway: ScriptedGateway, client: IntacctClient, calls: list[ApiCall], action: Action, kind: str
) -> None:
    client.open_session()
    gateway.actions.extend([action, action])
    results = client.execute([create("a")], uniqueid=False)
    assert results["a"].ok
    assert len(gateway.work) == 3
    assert [call.fault for call in calls[1:]] == [kind, kind, None]
    assert [call.outcome for call in calls[1:]] == ["transient", "transient", "ok"]
    assert [call.attempt for call in calls[1:]] == [1, 2, 3]
    stats = client.stats
    assert stats.retries == 2 and stats.faults[kind] == 2 and stats.faults_survived[kind] == 2


def test_each_retry_is_told_to_on_retry_and_nothing_is_logged(
    gateway: ScriptedGateway, caplog: pytest.LogCaptureFixture
) -> None:
    retries: list[tuple[str, float, int, int]] = []
    with IntacctClient(
        credentials(gateway.url),
        retry=FAST,
        on_retry=lambda kind, delay, attempt, limit: retries.append((kind, delay, attempt, limit)),
    ) as client:
        client.open_session()
        gateway.actions.extend([Reply(503, b""), HTML_502])
        with caplog.at_level(logging.DEBUG, logger="dbt_intacct"):
            assert client.execute([create("a")], uniqueid=True)["a"].ok
    assert [(kind, attempt, limit) for kind, _, attempt, limit in retries] == [
        ("http_503", 2, FAST.max_attempts),
        ("http_502", 3, FAST.max_attempts),
    ]
    assert all(0 <= delay <= FAST.max_delay for _, delay, _, _ in retries)
    assert caplog.records == []


def test_retry_after_is_honoured(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.actions.append(
        Reply(429, control_failure("GW-0010", "Rate limit").body, headers=(("Retry-After", "1"),))
    )
    started = time.monotonic()
    assert client.execute([create("a")], uniqueid=True)["a"].ok
    assert time.monotonic() - started >= 0.95


def test_transient_faults_give_up_after_max_attempts(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.actions.extend([HTML_502] * 10)
    with pytest.raises(TransientIntacctError) as caught:
        client.execute([create("a")], uniqueid=True)
    assert not isinstance(caught.value, AmbiguousOutcomeError)
    assert "HTTP 502" in str(caught.value) and "after 4 attempts" in str(caught.value)
    assert len(gateway.work) == FAST.max_attempts


def test_total_time_bound_stops_retrying(gateway: ScriptedGateway) -> None:
    policy = RetryPolicy(max_attempts=50, base_delay=0.2, max_delay=0.2, max_total=0.5)
    with IntacctClient(credentials(gateway.url), retry=policy) as client:
        client.open_session()
        gateway.actions.extend([Reply(503, b"")] * 50)
        started = time.monotonic()
        with pytest.raises(TransientIntacctError):
            client.execute([create("a")], uniqueid=True)
        assert time.monotonic() - started < 2.0
        assert len(gateway.work) < 10


def test_only_throttled_results_mean_nothing_ran(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    throttled = "".join(
        f"<result><status>failure</status><function>create</function><controlid>{c}</controlid>"
        f"{error_xml('XL99', 'API rate limit exceeded')}</result>"
        for c in ("a", "b")
    )
    gateway.actions.append(Reply(body=envelope(authenticated(throttled))))
    results = client.execute([create("a"), create("b")], uniqueid=False)
    assert all(result.ok for result in results.values()) and len(gateway.work) == 2


def test_connect_refused_is_transient(calls: list[ApiCall]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ia/xml/xmlgw.phtml"
    with (
        IntacctClient(credentials(url), retry=FAST, on_call=calls.append) as client,
        pytest.raises(TransientIntacctError) as caught,
    ):
        client.open_session()
    assert not isinstance(caught.value, AmbiguousOutcomeError)
    assert {call.fault for call in calls} == {"connect_failed"}
    assert len(calls) == FAST.max_attempts


# --- ambiguous outcomes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (Reply(524, b"<html><title>524: A timeout occurred</title></html>"), "http_524"),
        (Drop(), "connection_dropped"),
    ],
)
def test_ambiguous_without_uniqueid_is_not_resent(
    gateway: ScriptedGateway, client: IntacctClient, calls: list[ApiCall], action: Action, kind: str
) -> None:
    client.open_session()
    gateway.actions.append(action)
    with pytest.raises(AmbiguousOutcomeError, match="may"):
        client.execute([create("a")], uniqueid=False)
    assert len(gateway.work) == 1
    assert calls[-1].outcome == "ambiguous" and calls[-1].fault == kind


@pytest.mark.parametrize("action", [Reply(524, b""), Drop()])
def test_ambiguous_with_uniqueid_is_resent_with_the_same_controlids(
    gateway: ScriptedGateway, client: IntacctClient, action: Action
) -> None:
    client.open_session()
    gateway.actions.append(action)
    assert client.execute([create("a"), create("b")], uniqueid=True)["b"].ok
    first, second = gateway.work
    assert first.controlids == second.controlids == ["a", "b"]
    assert etree.tostring(first.root.find("operation/content")) == etree.tostring(
        second.root.find("operation/content")
    )


def test_read_timeout_is_ambiguous(gateway: ScriptedGateway) -> None:
    with IntacctClient(credentials(gateway.url), timeout=0.3, retry=FAST) as client:
        client.open_session()
        gateway.actions.append(Reply(body=b"", delay=1.0))
        with pytest.raises(AmbiguousOutcomeError, match=r"0\.3s"):
            client.execute([create("a")], uniqueid=False)


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "status line and headers"])
def test_an_answer_that_drips_is_cut_at_the_deadline_as_a_timeout(
    gateway: ScriptedGateway, calls: list[ApiCall], headers_too: bool
) -> None:
    """Each byte comes well within the socket timeout; the whole answer would take 10 seconds."""
    body = envelope(authenticated(success_results_for(["a"])))
    interval = 10.0 / len(body)
    with IntacctClient(credentials(gateway.url), timeout=0.5, retry=FAST, on_call=calls.append) as client:
        client.open_session()
        gateway.actions.append(Drip(body, interval, headers_too))
        started = time.monotonic()
        with pytest.raises(AmbiguousOutcomeError, match=r"0\.5s"):
            client.execute([create("a")], uniqueid=False)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"one attempt took {elapsed:.1f}s with a 0.5s timeout"
    assert (calls[-1].fault, calls[-1].outcome) == ("read_timeout", "ambiguous")


def test_a_dripping_answer_with_uniqueid_is_resent_after_the_deadline(gateway: ScriptedGateway) -> None:
    body = envelope(authenticated(success_results_for(["a"])))
    with IntacctClient(credentials(gateway.url), timeout=0.5, retry=FAST) as client:
        client.open_session()
        gateway.actions.append(Drip(body, 10.0 / len(body)))
        assert client.execute([create("a")], uniqueid=True)["a"].ok
    assert len(gateway.work) == 2 and client.stats.faults_survived["read_timeout"] == 1


def test_the_transport_bounds_an_exchange_from_start_to_last_byte(gateway: ScriptedGateway) -> None:
    body = envelope(authenticated(success_results_for(["a"])))
    gateway.actions.append(Drip(body, 10.0 / len(body)))
    transport = HttpTransport(timeout=0.4, verify_tls=True)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        transport.post(gateway.url, b"<request/>")
    elapsed = time.monotonic() - started
    transport.close()
    assert (caught.value.kind, caught.value.delivery) == ("read_timeout", Delivery.MAYBE_SENT)
    assert elapsed < 1.5


def test_missing_result_is_ambiguous(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.actions.append(Reply(body=envelope(authenticated(success_results_for(["a"])))))
    with pytest.raises(AmbiguousOutcomeError, match="no single result for 1 of 2"):
        client.execute([create("a"), create("b")], uniqueid=True)


def test_every_answer_for_each_controlid_is_handed_over(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    # Missing, duplicated and unknown results are the caller's to settle (a sync reads Intacct back).
    client.open_session()
    gateway.actions.append(Reply(body=envelope(authenticated(success_results_for(["a", "a", "zzz"])))))
    answers = client.execute_answers([create("a"), create("b")], uniqueid=True)
    assert sorted(answers) == ["a", "b"]
    assert [r.status for r in answers["a"]] == ["success", "success"]
    assert answers["b"] == ()
    gateway.actions.append(Reply(body=envelope(authenticated(success_results_for(["a", "a"])))))
    with pytest.raises(AmbiguousOutcomeError, match="no single result for 1 of 1"):
        client.execute([create("a")], uniqueid=True)


# --- terminal failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errorno", "text", "hint"),
    [
        ("XL03000006", "Incorrect Intacct XML Partner ID or password.", "sender_password"),
        ("XMLGW_JPP0002", "Sign-in information is incorrect.", "sender_id"),
        ("PL04000055", "This company has expired.", "expired"),
        ("XL03000003", "XML parse error", "bug"),
        ("XL01234567", "Something unknown", None),
    ],
)
def test_control_failures_are_terminal_and_not_retried(
    gateway: ScriptedGateway, client: IntacctClient, errorno: str, text: str, hint: str | None
) -> None:
    client.open_session()
    gateway.actions.append(control_failure(errorno, text))
    with pytest.raises(TerminalIntacctError) as caught:
        client.execute([create("a")], uniqueid=True)
    assert caught.value.errorno == errorno
    assert text in str(caught.value)
    if hint:
        assert hint in str(caught.value)
    assert len(gateway.work) == 1
    assert_no_secrets(caught.value)


def test_bad_login_is_terminal_and_names_no_password(gateway: ScriptedGateway, calls: list[ApiCall]) -> None:
    gateway.login_actions.append(auth_failure("XL03000006", "Sign-in information is incorrect"))
    with (
        IntacctClient(credentials(gateway.url), retry=FAST, on_call=calls.append) as client,
        pytest.raises(TerminalIntacctError) as caught,
    ):
        client.execute([create("a")], uniqueid=True)
    assert caught.value.errorno == "XL03000006"
    assert "Sign-in information is incorrect" in str(caught.value) and "'u'" in str(caught.value)
    assert len(gateway.seen) == 1
    assert calls[0].outcome == "auth_failed"
    assert_no_secrets(caught.value, repr(caught.value))
    assert_calls_clean(calls)


@pytest.mark.parametrize(
    "action",
    [
        Reply(200, b"<html><head><title>Maintenance</title></head></html>"),
        Reply(403, b"<!DOCTYPE html><html><title>Forbidden</title></html>"),
        Reply(404, b"Not Found"),
        Reply(302, b"", headers=(("Location", "https://elsewhere.example.com/"),)),
    ],
)
def test_unusable_non_5xx_answers_are_terminal(
    gateway: ScriptedGateway, client: IntacctClient, action: Action
) -> None:
    client.open_session()
    gateway.actions.append(action)
    with pytest.raises(
        TerminalIntacctError, match=f"HTTP {action.status}" if isinstance(action, Reply) else ""
    ):
        client.execute([create("a")], uniqueid=True)
    assert len(gateway.work) == 1


def test_hostile_response_is_refused(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.actions.append(
        Reply(body=b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><response/>')
    )
    with pytest.raises(TerminalIntacctError, match="DTD"):
        client.execute([create("a")], uniqueid=True)


def test_function_failures_are_results_not_exceptions(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    client.open_session()
    results = (
        "<result><status>success</status><function>create</function><controlid>a</controlid></result>"
        "<result><status>failure</status><function>create</function><controlid>b</controlid>"
        f"{error_xml('BL34000061', 'Another Customer with the given value(s) C1 already exists')}</result>"
    )
    gateway.actions.append(Reply(body=envelope(authenticated(results))))
    outcome = client.execute([create("a"), create("b")], uniqueid=True)
    assert outcome["a"].ok and outcome["b"].is_duplicate
    assert len(gateway.work) == 1


# --- sessions ------------------------------------------------------------------------------------


def test_rejected_session_logs_in_again_once(
    gateway: ScriptedGateway, client: IntacctClient, calls: list[ApiCall]
) -> None:
    client.open_session()
    gateway.actions.append(auth_failure())
    assert client.execute([create("a")], uniqueid=True)["a"].ok
    assert [seen.session_id for seen in gateway.work] == [f"{SESSION_PREFIX}1", f"{SESSION_PREFIX}2"]
    assert gateway.logins == 2
    assert client.stats.faults_survived["session_expired"] == 1
    work_calls = [call for call in calls if "getAPISession" not in call.request_xml]
    assert [(call.attempt, call.outcome) for call in work_calls] == [(1, "auth_failed"), (2, "ok")]
    assert client.stats.retries == 0  # a renewed session is resent at once, not held against the policy
    assert_calls_clean(calls)


def test_a_fresh_session_rejected_again_is_terminal(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.actions.extend([auth_failure(), auth_failure()])
    with pytest.raises(TerminalIntacctError, match="fresh session") as caught:
        client.execute([create("a")], uniqueid=True)
    assert gateway.logins == 2
    assert_no_secrets(caught.value)


def test_session_is_renewed_before_it_expires(gateway: ScriptedGateway, client: IntacctClient) -> None:
    gateway.session_lifetime = 2.0  # renewed in the last quarter of its life: after 1.5s
    client.execute([create("a")], uniqueid=True)
    client.execute([create("b")], uniqueid=True)
    assert gateway.logins == 1
    time.sleep(1.6)
    client.execute([create("c")], uniqueid=True)
    assert gateway.logins == 2
    assert gateway.work[-1].session_id == f"{SESSION_PREFIX}2"


def test_each_response_slides_the_session_forward(gateway: ScriptedGateway, client: IntacctClient) -> None:
    gateway.session_lifetime = 2.0
    for _ in range(4):
        client.execute([create("a")], uniqueid=True)
        time.sleep(0.6)  # 2.4s in all: beyond the first timeout, but never idle for 1.5s
    assert gateway.logins == 1


# --- secrets -------------------------------------------------------------------------------------


def test_secrets_stay_out_of_reprs_and_api_calls(
    gateway: ScriptedGateway, client: IntacctClient, calls: list[ApiCall]
) -> None:
    client.execute([create("a")], uniqueid=True)
    assert_no_secrets(
        repr(client), repr(credentials(gateway.url)), str(credentials(gateway.url)), client.stats
    )
    assert_calls_clean(calls)
    login_call = calls[0]
    assert "<password>***</password>" in login_call.request_xml
    assert login_call.response_xml is not None and "<sessionid>***</sessionid>" in login_call.response_xml
    assert "<sessionid>***</sessionid>" in calls[1].request_xml


def test_a_secret_echoed_in_an_error_is_scrubbed(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.actions.append(
        control_failure("XL03000003", f"cannot parse near '{USER_PASSWORD}' and {SESSION_PREFIX}1")
    )
    with pytest.raises(TerminalIntacctError) as caught:
        client.execute([create("a")], uniqueid=True)
    assert_no_secrets(caught.value)


# Characters every escaping changes, and a word that survives all of them.
HARD_SENDER_PASSWORD = "Snd&Pw<QvX7kite91>'s\"x"
HARD_USER_PASSWORD = 'Usr"Pw%ZeBra-4471&<x>'


def forms(secret: str) -> set[str]:
    """The secret as an echo may show it: raw, escaped for XML or HTML, escaped twice."""
    escaped = {secret, xml_escape(secret), html.escape(secret), html.escape(secret, quote=False)}
    return escaped | {xml_escape(form) for form in escaped}


def assert_none_of(secrets: list[str], *texts: object) -> None:
    for text in texts:
        for secret in secrets:
            for form in forms(secret):
                assert form not in str(text), f"{form!r} leaked into {str(text)[:300]!r}"


@pytest.mark.parametrize("cdata", [False, True], ids=["escaped", "cdata"])
def test_a_gateway_echoing_the_request_in_function_errors_leaks_no_secret(
    gateway: ScriptedGateway, calls: list[ApiCall], cdata: bool
) -> None:
    hard = Credentials(
        **{
            **credentials(gateway.url).__dict__,
            "sender_password": SecretStr(HARD_SENDER_PASSWORD),
            "user_password": SecretStr(HARD_USER_PASSWORD),
        }
    )
    with IntacctClient(hard, retry=FAST, on_call=calls.append) as client:
        client.open_session()
        gateway.actions.append(Echo(cdata))
        results = client.execute([create("a"), create("b")], uniqueid=True)
    session_id = gateway.work[0].session_id
    assert session_id and HARD_SENDER_PASSWORD in gateway.work[0].body.decode().replace("&amp;", "&").replace(
        "&lt;", "<"
    ).replace("&gt;", ">")  # the request did carry it, escaped
    secrets = [HARD_SENDER_PASSWORD, HARD_USER_PASSWORD, session_id]
    for result in results.values():
        assert not result.ok and "Cannot process" in result.message  # the rest of the text is kept
        assert_none_of(secrets, result.message, result.errors, repr(result))
        for error in result.errors:
            assert_none_of(secrets, error.description, error.description2, error.text())
    assert_none_of(secrets, *(call.response_xml for call in calls), *(call.error for call in calls))


def test_records_of_a_read_are_scrubbed(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    note = f"session {SESSION_PREFIX}1, password {xml_escape(xml_escape(SENDER_PASSWORD))}"

    def page(seen: Seen) -> Reply:
        result = (
            "<result><status>success</status><function>query</function>"
            f"<controlid>{seen.controlids[0]}</controlid>"
            '<data listtype="CUSTOMER" count="1" numremaining="0"><CUSTOMER><RECORDNO>1</RECORDNO>'
            f"<NOTE>{xml_escape(note)}</NOTE></CUSTOMER></data></result>"
        )
        return Reply(body=envelope(authenticated(result)))

    gateway.actions.append(Answer(page))
    records = list(client.query("CUSTOMER", ["RECORDNO", "NOTE"]))
    assert records == [{"RECORDNO": "1", "NOTE": "session ***, password ***"}]


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="https"):
        IntacctClient(credentials("http://intacct.example.com/ia/xml/xmlgw.phtml"))


# --- batches in flight ---------------------------------------------------------------------------


def test_execute_batches_keeps_requests_in_flight(gateway: ScriptedGateway, client: IntacctClient) -> None:
    client.open_session()
    gateway.work_delay = 0.3
    started = time.monotonic()
    outcomes = list(
        client.execute_batches(([create(f"f{i}")] for i in range(4)), uniqueid=True, concurrency=2)
    )
    elapsed = time.monotonic() - started
    sent = sorted(next(iter(outcome)) for _, outcome in outcomes if isinstance(outcome, dict))
    assert sent == ["f0", "f1", "f2", "f3"]
    assert gateway.max_in_flight == 2
    assert elapsed < 1.0  # four 0.3s requests, two at a time


def test_execute_batches_stops_after_a_terminal_error(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    client.open_session()
    gateway.actions.append(control_failure("XL03000003", "bad request"))
    taken: list[int] = []

    def batches() -> Iterator[list[Function]]:
        for i in range(10):
            taken.append(i)
            yield [create(f"f{i}")]

    outcomes = list(client.execute_batches(batches(), uniqueid=True, concurrency=1))
    assert len(outcomes) == 1 and isinstance(outcomes[0][1], TerminalIntacctError)
    assert taken == [0] and len(gateway.work) == 1


def test_execute_batches_yields_transient_errors_and_goes_on(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    client.open_session()
    gateway.actions.extend([Reply(503, b"")] * FAST.max_attempts)
    outcomes = list(client.execute_batches(([create(f"f{i}")] for i in range(3)), uniqueid=True))
    kinds = [type(outcome).__name__ if isinstance(outcome, IntacctError) else "ok" for _, outcome in outcomes]
    assert kinds == ["TransientIntacctError", "ok", "ok"]


def test_execute_batches_takes_batches_ahead_and_refills_before_yielding(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    client.open_session()
    taken: list[int] = []

    def batches() -> Iterator[list[Function]]:
        for i in range(10):
            taken.append(i)
            yield [create(f"f{i}")]

    outcomes = client.execute_batches(batches(), uniqueid=True, concurrency=1, ahead=2)
    first = next(outcomes)
    # Before the first answer is handed over: one batch answered, one slot and two places ahead filled.
    assert isinstance(first[1], dict) and len(taken) == 4
    rest = list(outcomes)
    assert sorted(next(iter(o)) for _, o in [first, *rest] if isinstance(o, dict)) == sorted(
        f"f{i}" for i in range(10)
    )
    assert gateway.max_in_flight == 1


def test_execute_batches_raises_what_the_batches_raise_after_the_requests_in_flight(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    client.open_session()

    def batches() -> Iterator[list[Function]]:
        yield [create("f0")]
        yield [create("f1")]
        raise ValueError("the warehouse went away")

    answered: list[str] = []
    with pytest.raises(ValueError, match="went away"):
        for _, outcome in client.execute_batches(batches(), uniqueid=True, concurrency=2):
            assert isinstance(outcome, dict)
            answered += list(outcome)
    # Batches taken but not yet sent when the source failed are not sent; no request is left running.
    assert set(answered) <= {"f0", "f1"} and len(gateway.work) == len(answered)


def test_a_lookup_made_between_batches_takes_one_of_the_slots(
    gateway: ScriptedGateway, client: IntacctClient
) -> None:
    client.open_session()
    gateway.work_delay = 0.1
    looked_up: list[dict[str, object]] = []

    def batches() -> Iterator[list[Function]]:
        for i in range(6):
            if i == 4:  # taken when the first answer lands: two requests are in flight again
                looked_up.extend(client.query_in("CUSTOMER", "CUSTOMERID", ["C1"], ["RECORDNO"]))
            yield [create(f"f{i}")]

    outcomes = list(client.execute_batches(batches(), uniqueid=True, concurrency=2, ahead=2))
    assert len(outcomes) == 6 and looked_up
    assert gateway.max_in_flight == 2
    assert len(gateway.work) == 7


# --- transport limits ----------------------------------------------------------------------------


def test_transport_refuses_a_response_over_its_size_limit(gateway: ScriptedGateway) -> None:
    gateway.actions.append(Reply(body=b"<response>" + b" " * 5000 + b"</response>"))
    transport = HttpTransport(timeout=5.0, verify_tls=True, max_bytes=1000)
    body = (
        b"<request><control/><operation><authentication><sessionid>x</sessionid></authentication>"
        b'<content><function controlid="a"><create/></function></content></operation></request>'
    )
    with pytest.raises(TransportError) as caught:
        transport.post(gateway.url, body)
    transport.close()
    assert caught.value.kind == "response_too_large" and caught.value.delivery is Delivery.UNUSABLE
