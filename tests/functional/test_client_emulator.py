"""IntacctClient against the real emulator over loopback HTTP: sessions, batches, paged reads, faults."""

from __future__ import annotations

import http.server
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from pydantic import SecretStr

from dbt_intacct.client import ApiCall, Credentials, IntacctClient, RetryPolicy
from dbt_intacct.emulator import (
    DEMO_COMPANY_ID,
    DEMO_SENDER_ID,
    DEMO_SENDER_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_PASSWORD,
    EmulatorAdmin,
    EmulatorConfig,
    EmulatorServer,
)
from dbt_intacct.errors import AmbiguousOutcomeError, TerminalIntacctError
from dbt_intacct.xml.request import Function

# Fast enough for tests, slow enough that a concurrency limit clears between attempts.
RETRY = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=0.3, max_retry_after=2.0, max_total=60.0)
MANY = 1200  # more than one <in> chunk of 1000 and more than one page of 500


def credentials(url: str, **changes: Any) -> Credentials:
    values: dict[str, Any] = {
        "sender_id": DEMO_SENDER_ID,
        "sender_password": SecretStr(DEMO_SENDER_PASSWORD),
        "company_id": DEMO_COMPANY_ID,
        "user_id": DEMO_USER_ID,
        "user_password": SecretStr(DEMO_USER_PASSWORD),
        "entity_id": None,
        "endpoint": url,
    }
    return Credentials(**{**values, **changes})


def customer(customer_id: str, name: str | None = None) -> etree._Element:
    body = etree.Element("create")
    record = etree.SubElement(body, "CUSTOMER")
    etree.SubElement(record, "CUSTOMERID").text = customer_id
    etree.SubElement(record, "NAME").text = name or f"Customer {customer_id}"
    etree.SubElement(etree.SubElement(record, "DISPLAYCONTACT"), "PRINTAS").text = name or customer_id
    return body


def create(controlid: str, customer_id: str) -> Function:
    return Function(controlid, customer(customer_id))


def customer_ids(admin: EmulatorAdmin) -> list[str]:
    return sorted(str(record["CUSTOMERID"]) for record in admin.records("CUSTOMER"))


@pytest.fixture
def calls() -> list[ApiCall]:
    return []


@pytest.fixture
def client(
    emulator_server: EmulatorServer, emulator: EmulatorAdmin, calls: list[ApiCall]
) -> Iterator[IntacctClient]:
    with IntacctClient(
        credentials(emulator_server.url), timeout=30.0, retry=RETRY, on_call=calls.append
    ) as made:
        yield made


# --- sessions ------------------------------------------------------------------------------------


def test_session_is_opened_once_and_reused(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    client.open_session()
    for index in range(3):
        assert client.execute([create(f"c{index}", f"C{index}")], uniqueid=True)[f"c{index}"].ok
    assert client.stats.logins == 1 and client.stats.calls == 4
    assert emulator.stats()["authentication_failures"] == 0


@pytest.mark.parametrize("how", ["admin", "fault"])
def test_session_expired_by_the_emulator_is_renewed(
    client: IntacctClient, emulator: EmulatorAdmin, how: str
) -> None:
    assert client.execute([create("before", "C-BEFORE")], uniqueid=True)["before"].ok
    if how == "admin":
        assert emulator.expire_sessions() >= 1
    else:
        emulator.set_faults(expire_session={"next": 1})
    assert client.execute([create("after", "C-AFTER")], uniqueid=True)["after"].ok
    assert client.stats.logins == 2
    assert client.stats.faults_survived["session_expired"] == 1
    assert customer_ids(emulator) == ["C-AFTER", "C-BEFORE"]


@pytest.fixture(scope="module")
def short_sessions() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, session_timeout=2.0)) as server:
        yield server


def test_session_is_renewed_before_the_emulator_times_it_out(short_sessions: EmulatorServer) -> None:
    with IntacctClient(credentials(short_sessions.url), retry=RETRY) as client:
        assert client.execute([create("s1", "S1")], uniqueid=True)["s1"].ok
        time.sleep(1.6)  # inside the last quarter of a 2 s session
        assert client.execute([create("s2", "S2")], uniqueid=True)["s2"].ok
        time.sleep(2.2)  # past the timeout: an unrenewed session would be refused
        assert client.execute([create("s3", "S3")], uniqueid=True)["s3"].ok
        assert client.stats.logins == 3
    assert short_sessions.admin.stats()["authentication_failures"] == 0


def test_bad_user_password_is_terminal(emulator_server: EmulatorServer, emulator: EmulatorAdmin) -> None:
    bad = credentials(emulator_server.url, user_password=SecretStr("wrong-password-123"))
    with IntacctClient(bad, retry=RETRY) as client, pytest.raises(TerminalIntacctError) as caught:
        client.execute([create("x", "X")], uniqueid=True)
    assert caught.value.errorno == "XL03000006"
    assert "wrong-password-123" not in str(caught.value) and DEMO_SENDER_PASSWORD not in str(caught.value)
    assert emulator.stats()["requests"] == 1


def test_bad_sender_password_is_terminal(emulator_server: EmulatorServer, emulator: EmulatorAdmin) -> None:
    bad = credentials(emulator_server.url, sender_password=SecretStr("wrong-sender-pw"))
    with IntacctClient(bad, retry=RETRY) as client, pytest.raises(TerminalIntacctError) as caught:
        client.open_session()
    assert caught.value.errorno == "XL03000006" and "sender_password" in str(caught.value)
    assert "wrong-sender-pw" not in str(caught.value)


# --- writes --------------------------------------------------------------------------------------


def test_mixed_batch_one_failure_the_rest_apply(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    assert client.execute([create("seed", "DUP")], uniqueid=True)["seed"].ok
    batch = [create("m1", "M1"), create("m2", "DUP"), create("m3", "M3")]
    results = client.execute(batch, uniqueid=True)
    assert list(results) == ["m1", "m2", "m3"]
    assert results["m1"].ok and results["m3"].ok
    assert results["m1"].records()[0]["CUSTOMERID"] == "M1" and results["m1"].records()[0]["RECORDNO"]
    assert results["m2"].status == "failure" and results["m2"].is_duplicate
    assert "DUP" in results["m2"].message
    assert customer_ids(emulator) == ["DUP", "M1", "M3"]


def test_transaction_rolls_back_and_aborts_the_others(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    assert client.execute([create("seed", "DUP")], uniqueid=True)["seed"].ok
    results = client.execute([create("t1", "T1"), create("t2", "DUP")], uniqueid=True, transaction=True)
    assert results["t1"].status == "aborted" and "XL03000009" in results["t1"].errornos
    assert results["t2"].is_duplicate
    assert customer_ids(emulator) == ["DUP"]


def test_repeated_controlid_is_recognised(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    assert client.execute([create("once", "ONCE")], uniqueid=True)["once"].ok
    again = client.execute([create("once", "ONCE")], uniqueid=True)["once"]
    assert not again.ok and again.is_repeated_controlid and not again.is_duplicate
    assert customer_ids(emulator) == ["ONCE"]


# --- faults --------------------------------------------------------------------------------------


def test_latency_is_survived(client: IntacctClient, emulator: EmulatorAdmin, calls: list[ApiCall]) -> None:
    client.open_session()
    emulator.set_faults(latency_ms=250, jitter_ms=50)
    assert client.execute([create("slow", "SLOW")], uniqueid=True)["slow"].ok
    assert 250 <= calls[-1].duration_ms < 5000


@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503"])
def test_5xx_is_retried_and_applied_once(client: IntacctClient, emulator: EmulatorAdmin, fault: str) -> None:
    client.open_session()
    emulator.set_faults({fault: {"next": 2}})
    assert client.execute([create("f", "F5XX")], uniqueid=False)["f"].ok
    status = fault.removeprefix("http_")
    assert client.stats.faults_survived[f"http_{status}"] == 2
    assert customer_ids(emulator) == ["F5XX"]


@pytest.mark.parametrize("fault", ["http_524_after_commit", "drop_after_commit"])
def test_lost_answer_with_uniqueid_is_resent_without_a_duplicate(
    client: IntacctClient, emulator: EmulatorAdmin, fault: str
) -> None:
    client.open_session()
    emulator.set_faults({fault: {"next": 1}})
    results = client.execute([create("j1", "J1"), create("j2", "J2")], uniqueid=True)
    # The first send was applied; the resend is refused as a repeat, which the caller resolves by reading.
    assert all(result.is_repeated_controlid for result in results.values())
    assert customer_ids(emulator) == ["J1", "J2"]
    assert sum(client.stats.faults_survived.values()) == 1


@pytest.mark.parametrize("fault", ["http_524_after_commit", "drop_after_commit"])
def test_lost_answer_without_uniqueid_is_ambiguous_and_not_resent(
    client: IntacctClient, emulator: EmulatorAdmin, fault: str
) -> None:
    client.open_session()
    emulator.set_faults({fault: {"next": 1}})
    with pytest.raises(AmbiguousOutcomeError):
        client.execute([create("k1", "K1")], uniqueid=False)
    assert customer_ids(emulator) == ["K1"]  # applied once, never twice
    assert emulator.stats()["requests"] == 2  # the login and the one send


def test_429_with_retry_after_is_honoured(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    client.open_session()
    emulator.set_faults(http_429={"next": 1}, retry_after_seconds=1)
    started = time.monotonic()
    assert client.execute([create("r", "R429")], uniqueid=False)["r"].ok
    assert time.monotonic() - started >= 0.95
    assert client.stats.faults_survived["rate_limited"] == 1
    assert customer_ids(emulator) == ["R429"]


def test_rate_limit_body_is_retried(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    client.open_session()
    emulator.set_faults(rate_limit_body={"next": 2})
    assert client.execute([create("b", "BODY")], uniqueid=False)["b"].ok
    assert client.stats.faults_survived["rate_limited"] == 2
    assert customer_ids(emulator) == ["BODY"]


def test_concurrency_limit_is_survived(client: IntacctClient, emulator: EmulatorAdmin) -> None:
    client.open_session()
    emulator.set_faults(concurrency_limit=1, latency_ms=100, retry_after_seconds=1)
    batches = [[create(f"q{b}-{i}", f"Q{b}-{i}") for i in range(5)] for b in range(4)]
    outcomes = list(client.execute_batches(batches, uniqueid=True, concurrency=2))
    assert len(outcomes) == 4
    for _, outcome in outcomes:
        assert isinstance(outcome, dict) and all(
            [r.ok for r in results] == [True] for results in outcome.values()
        )
    assert client.stats.faults_survived["rate_limited"] >= 1
    assert emulator.stats()["faults_injected"]["concurrency_limit"] >= 1
    assert customer_ids(emulator) == sorted(f"Q{b}-{i}" for b in range(4) for i in range(5))


def test_execute_batches_keeps_two_requests_in_flight(
    client: IntacctClient, emulator: EmulatorAdmin, calls: list[ApiCall]
) -> None:
    client.open_session()
    emulator.set_faults(latency_ms=300)
    batches = ([create(f"p{b}-{i}", f"P{b}-{i}") for i in range(3)] for b in range(4))
    started = time.monotonic()
    outcomes = list(client.execute_batches(batches, uniqueid=True, concurrency=2))
    elapsed = time.monotonic() - started
    assert all(isinstance(outcome, dict) for _, outcome in outcomes) and len(outcomes) == 4
    sends = [call for call in calls if call.function_count == 3]
    spans = [
        (call.started_at.timestamp(), call.started_at.timestamp() + call.duration_ms / 1000) for call in sends
    ]
    overlapping = sum(1 for a, b in itertools.combinations(spans, 2) if a[0] < b[1] and b[0] < a[1])
    assert overlapping >= 2  # two pairs ran side by side
    assert elapsed < 4 * 0.3  # sequential sends would take at least 1.2 s
    assert len(customer_ids(emulator)) == 12


# --- reads ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def populated() -> Iterator[EmulatorServer]:
    """An emulator of its own holding MANY customers Q0000..., for the read tests of this module."""
    with EmulatorServer(EmulatorConfig(port=0)) as server:
        with IntacctClient(credentials(server.url), retry=RETRY) as client:
            batches = (
                [create(f"seed-{n:04d}", f"Q{n:04d}") for n in range(start, min(start + 100, MANY))]
                for start in range(0, MANY, 100)
            )
            for _, outcome in client.execute_batches(batches, uniqueid=True, concurrency=2):
                assert isinstance(outcome, dict) and all(
                    [r.ok for r in results] == [True] for results in outcome.values()
                )
        yield server


@pytest.fixture
def reader(populated: EmulatorServer, calls: list[ApiCall]) -> Iterator[IntacctClient]:
    populated.admin.clear_faults()
    with IntacctClient(credentials(populated.url), retry=RETRY, on_call=calls.append) as made:
        made.open_session()
        calls.clear()
        yield made
    populated.admin.clear_faults()


def test_query_in_with_more_than_1000_keys(reader: IntacctClient, calls: list[ApiCall]) -> None:
    wanted = [f"Q{n:04d}" for n in range(0, MANY, 1)] + [f"MISSING-{n}" for n in range(1300)]
    records = list(reader.query_in("CUSTOMER", "CUSTOMERID", wanted + wanted[:50], ["RECORDNO"]))
    assert sorted(record["CUSTOMERID"] for record in records) == sorted(wanted[:MANY])
    assert all(record["RECORDNO"] for record in records)
    assert len(calls) == 1  # three <in> chunks of at most 1000 values travel in one request
    request = etree.fromstring(calls[0].request_xml.encode())
    chunks = [len(f.findall("query/filter/in/value")) for f in request.iterfind("operation/content/function")]
    assert sorted(chunks) == [500, 1000, 1000]
    assert reader.stats.query_pages == 3


def test_query_pages_by_offset(reader: IntacctClient) -> None:
    records = list(reader.query("CUSTOMER", ["RECORDNO", "CUSTOMERID"], page_size=500, order_by="RECORDNO"))
    assert len(records) == MANY and len({record["RECORDNO"] for record in records}) == MANY
    assert reader.stats.query_pages == 3


def test_query_with_a_filter(reader: IntacctClient) -> None:
    equal = etree.Element("equalto")
    etree.SubElement(equal, "field").text = "CUSTOMERID"
    etree.SubElement(equal, "value").text = "Q0042"
    assert [record["CUSTOMERID"] for record in reader.query("CUSTOMER", ["CUSTOMERID"], equal)] == ["Q0042"]


def test_read_by_query_follows_read_more(reader: IntacctClient, calls: list[ApiCall]) -> None:
    records = list(reader.read_by_query("CUSTOMER", ["RECORDNO", "CUSTOMERID"], "CUSTOMERID like 'Q%'", 500))
    assert sorted(record["CUSTOMERID"] for record in records) == [f"Q{n:04d}" for n in range(MANY)]
    functions = [
        etree.fromstring(call.request_xml.encode()).find("operation/content/function") for call in calls
    ]
    assert [str(f[0].tag) for f in functions if f is not None] == ["readByQuery", "readMore", "readMore"]


def test_read_by_query_survives_a_lost_read_more(populated: EmulatorServer, calls: list[ApiCall]) -> None:
    retries: list[tuple[str, float, int, int]] = []
    with IntacctClient(
        credentials(populated.url),
        retry=RETRY,
        on_call=calls.append,
        on_retry=lambda *notice: retries.append(notice),
    ) as reader:
        pages = reader.read_by_query("CUSTOMER", ["RECORDNO", "CUSTOMERID"], "", 500)
        first_page = [next(pages) for _ in range(500)]
        populated.admin.set_faults(drop_after_commit={"next": 1})
        records = first_page + list(pages)
    populated.admin.clear_faults()
    assert sorted(record["CUSTOMERID"] for record in records) == [f"Q{n:04d}" for n in range(MANY)]
    assert any(call.fault == "connection_dropped" for call in calls)
    assert retries == [("read_more_lost", 0.0, 2, RETRY.max_attempts)]  # the 2nd run: told, not logged


def test_failed_query_is_terminal(reader: IntacctClient) -> None:
    with pytest.raises(TerminalIntacctError, match="query of NOSUCHOBJECT failed"):
        list(reader.query("NOSUCHOBJECT", ["RECORDNO"]))


# --- the environment: proxies are honoured, ~/.netrc is not ------------------------------------------


class _ForwardProxy(http.server.ThreadingHTTPServer):
    """An HTTP proxy on loopback: forwards each POST to the URL of its request line and notes what came."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (request line's URL, Authorization header)
        super().__init__(("127.0.0.1", 0), _ForwardHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ForwardHandler(http.server.BaseHTTPRequestHandler):
    server: _ForwardProxy
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with requests.Session() as http:
            http.trust_env = False  # the test's HTTP_PROXY is this proxy
            answer = http.post(self.path, data=body, headers={"Content-Type": "application/xml"}, timeout=30)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[_ForwardProxy]:
    server = _ForwardProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("bypassed", [False, True])
def test_the_proxy_of_the_environment_is_used_and_netrc_never_is(
    emulator_server: EmulatorServer,
    emulator: EmulatorAdmin,
    proxy: _ForwardProxy,
    bypassed: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The environment is read once per endpoint (not by requests on each request): HTTP_PROXY and NO_PROXY
    # still decide the route. A ~/.netrc entry for Intacct's host is never sent to it.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    for name in ("http_proxy", "no_proxy", "NO_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    if bypassed:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with IntacctClient(credentials(emulator_server.url), timeout=30.0, retry=RETRY) as made:
        made.execute([create("p-1", "PX1"), create("p-2", "PX2")], uniqueid=True)
    assert customer_ids(emulator) == ["PX1", "PX2"]
    if bypassed:
        assert proxy.seen == []
    else:
        # The login, then the creates: both through the proxy, by absolute URL, without netrc's credentials.
        assert proxy.seen == [(emulator_server.url, None)] * 2
