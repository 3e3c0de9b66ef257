"""Every injectable fault, seen over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from dbt_intacct.emulator import EmulatorAdmin, EmulatorAdminError, EmulatorServer
from tests.emulator.support import GatewayClient, customer_xml, envelope, function, parse


def create_customer(gw: GatewayClient, customer_id: str) -> requests.Response:
    body = envelope(function(f"<create>{customer_xml(customer_id)}</create>"), session=gw.session_id)
    return gw.http.post(gw.url, data=body, timeout=30)


def customer_ids(gw: GatewayClient) -> list[str]:
    return [str(row["CUSTOMERID"]) for row in gw.query("CUSTOMER", fields="CUSTOMERID")]


def test_latency(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(latency_ms=300)
    started = time.monotonic()
    assert create_customer(gw, "L1").status_code == 200
    assert time.monotonic() - started >= 0.3
    admin.clear_faults()
    started = time.monotonic()
    create_customer(gw, "L2")
    assert time.monotonic() - started < 0.3


def test_latency_includes_the_emulators_own_work(
    gw: GatewayClient, admin: EmulatorAdmin, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The latency is the time an answer takes, as Intacct's is: work done while it runs is not added
    # to it. The emulator's work is made to take 0.4 s (its gateway slowed down; HTTP stays real).
    assert server.emulator is not None
    gateway = server.emulator.gateway
    handle = gateway.handle

    def slow_handle(*args: Any, **kwargs: Any) -> bytes:
        time.sleep(0.4)
        return handle(*args, **kwargs)

    monkeypatch.setattr(gateway, "handle", slow_handle)
    admin.set_faults(latency_ms=600)
    started = time.monotonic()
    assert create_customer(gw, "W1").status_code == 200
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 0.9, elapsed  # not 0.6 + 0.4


def test_latency_counts_from_the_request_line(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    # A request arrives with its request line; reading the rest of it is the emulator's work, within the
    # latency. The body is sent 0.4 s after the headers: the answer still comes 0.6 s after the start.
    body = envelope(function(f"<create>{customer_xml('R1')}</create>"), session=gw.session_id)
    address = urlsplit(gw.url)
    admin.set_faults(latency_ms=600)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        started = time.monotonic()
        connection.sendall(
            f"POST {address.path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        time.sleep(0.4)
        connection.sendall(body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert 0.6 <= elapsed < 0.9, elapsed  # not 0.4 + 0.6


def test_jitter_is_random_within_bounds_and_repeatable_with_a_seed(
    gw: GatewayClient, admin: EmulatorAdmin
) -> None:
    def delays() -> list[float]:
        admin.set_faults(latency_ms=50, jitter_ms=250, seed=11)
        out = []
        for number in range(6):
            started = time.monotonic()
            create_customer(gw, f"J{number}-{time.monotonic_ns()}")
            out.append(time.monotonic() - started)
        return out

    first = delays()
    assert all(0.05 <= delay < 0.05 + 0.25 + 0.2 for delay in first)
    assert max(first) - min(first) > 0.03  # not a constant delay
    second = delays()
    assert [round(a, 1) for a in first] == pytest.approx([round(b, 1) for b in second], abs=0.11)


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_502", 502), ("http_503", 503)])
def test_server_errors_apply_nothing(gw: GatewayClient, admin: EmulatorAdmin, kind: str, status: int) -> None:
    admin.set_faults({kind: {"next": 2}})
    assert create_customer(gw, "S1").status_code == status
    second = create_customer(gw, "S1")
    assert second.status_code == status
    assert "text/html" in second.headers["Content-Type"]
    assert customer_ids(gw) == []
    assert create_customer(gw, "S1").status_code == 200
    assert customer_ids(gw) == ["S1"]
    assert admin.stats()["faults_injected"][kind] == 2


def test_skip_aims_a_fault_at_a_later_request(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(http_503={"skip": 2, "next": 1})
    assert [create_customer(gw, f"K{n}").status_code for n in range(4)] == [200, 200, 503, 200]
    assert admin.faults()["http_503"] == {"probability": 0.0, "next": 0, "skip": 0}


def test_probability_with_seed_repeats_the_same_pattern(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    def pattern() -> list[int]:
        admin.set_faults(http_503={"probability": 0.5}, seed=7)
        return [create_customer(gw, f"P{n}-{time.monotonic_ns()}").status_code for n in range(12)]

    first = pattern()
    assert set(first) == {200, 503}
    assert pattern() == first
    admin.set_faults(seed=8)
    assert pattern() == first  # pattern() resets the seed to 7


def test_524_after_commit_applies_the_request(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(http_524_after_commit={"next": 1})
    response = create_customer(gw, "T524")
    assert response.status_code == 524
    assert "<response>" not in response.text
    assert customer_ids(gw) == ["T524"]  # committed although the answer was lost


def test_dropped_connection_after_commit_applies_the_request(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(drop_after_commit={"next": 1})
    with pytest.raises(requests.ConnectionError):
        create_customer(gw, "DROP")
    assert customer_ids(gw) == ["DROP"]
    assert admin.stats()["faults_injected"]["drop_after_commit"] == 1


def test_http_429_with_retry_after(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(http_429={"next": 1}, retry_after_seconds=7)
    response = create_customer(gw, "R429")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["Content-Type"].startswith("text/xml")
    root = parse(response.content)
    assert root.findtext("control/status") == "failure"
    assert root.findtext("errormessage/error/errorno") == "GW-0010"
    assert root.findtext("errormessage/error/description2")
    assert customer_ids(gw) == []


def test_rate_limit_body(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(rate_limit_body={"next": 1})
    response = create_customer(gw, "RL")
    assert response.status_code == 200
    assert "API rate limit exceeded" in response.text  # what sageintacctsdk looks for
    root = parse(response.content)
    assert root.findtext("control/status") == "failure"
    assert root.findtext("errormessage/error/errorno") == "GW-0010"
    assert customer_ids(gw) == []


def test_expired_session_fault(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    admin.set_faults(expire_session={"next": 1})
    login = gw.post(envelope(function("<getAPISession/>")))  # login requests do not use up the fault
    assert login.auth_status == "success"
    refused = gw.call(function(f"<create>{customer_xml('X1')}</create>"))
    assert refused.auth_status == "failure"
    assert refused.auth_errors[0].errorno == "XL03000006"
    assert gw.call(function("<getAPISession/>")).auth_status == "failure"  # the session stays expired
    gw.login()
    gw.call(function(f"<create>{customer_xml('X1')}</create>")).result.ok()
    assert customer_ids(gw) == ["X1"]


def test_expire_every_session_from_the_admin_api(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.login()
    assert admin.expire_sessions() >= 1
    assert gw.call(function("<getAPISession/>")).auth_status == "failure"
    gw.login()


def test_concurrency_limit(gw: GatewayClient, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    admin.set_faults(concurrency_limit=1, latency_ms=400)
    statuses: list[int] = []
    bodies: list[str] = []
    lock = threading.Lock()

    def send(number: int) -> None:
        body = envelope(function(f"<create>{customer_xml(f'CC{number}')}</create>"), session=gw.session_id)
        response = requests.post(server.url, data=body, timeout=30)
        with lock:
            statuses.append(response.status_code)
            bodies.append(response.text)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 429, 429]
    assert sum("GW-0010" in body for body in bodies) == 2
    assert admin.stats()["faults_injected"]["concurrency_limit"] == 2
    assert len(customer_ids(gw)) == 1


def test_admin_api_refuses_bad_fault_settings(admin: EmulatorAdmin) -> None:
    for bad in (
        {"http_503": {"probability": 2}},
        {"nonsense": 1},
        {"latency_ms": -1},
        {"http_500": {"next": -1}},
    ):
        with pytest.raises(EmulatorAdminError, match="400"):
            admin.set_faults(bad)
    described = admin.set_faults(http_502=0.25, seed=3)
    assert described["http_502"] == {"probability": 0.25, "next": 0, "skip": 0}
    assert described["seed"] == 3
    assert admin.clear_faults()["http_502"] == {"probability": 0.0, "next": 0, "skip": 0}
