"""The command line (``python -m dbt_intacct.emulator``, ``dbt-intacct emulator``), body limits, and
the admin API."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from dbt_intacct.emulator import EmulatorAdmin, EmulatorConfig, EmulatorProcess, EmulatorServer
from dbt_intacct.emulator.reference import builtin_reference_data
from tests.emulator.support import GatewayClient, customer_xml, envelope, function, journal_xml, parse


def test_module_prints_its_url_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dbt_intacct.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Intacct emulator listening on http://127.0.0.1:")
        url = line.split()[4]
        assert url.endswith("/ia/xml/xmlgw.phtml")
        reply = GatewayClient(url).post(envelope(function("<getAPISession/>")))
        reply.result.ok()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_help_shows_the_demo_defaults() -> None:
    from dbt_intacct.emulator.cli import emulator_command

    result = CliRunner().invoke(emulator_command, ["--help"])
    assert result.exit_code == 0
    for default in ("demo_sender", "demo_sender_pw", "demo_company", "demo_user", "demo_password", "8765"):
        assert default in result.output


def test_dbt_intacct_emulator_command_is_registered() -> None:
    from dbt_intacct.cli import main

    result = CliRunner().invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0, result.output
    assert "--data-dir" in result.output


def test_credentials_faults_and_limits_from_flags(tmp_path: Path) -> None:
    args = [
        "--sender-id", "acme_sender", "--sender-password", "s3cret", "--company-id", "ACME",
        "--user-id", "ws_user", "--user-password", "pw", "--fault", "http_503=next:1",
        "--max-body-bytes", "2000", "--latency-ms", "50", "--fault-seed", "3", "--session-timeout", "60",
        "--jitter-ms", "5", "--concurrency-limit", "4", "--retry-after", "9", "--fault", "http_502=0,next:2",
    ]  # fmt: skip
    with EmulatorProcess(extra_args=args) as emulator:
        client = GatewayClient(emulator.url)
        login = envelope(
            function("<getAPISession/>"), sender=("acme_sender", "s3cret"), login=("ws_user", "ACME", "pw")
        )
        post = client.http.post
        assert post(emulator.url, data=login, timeout=10).status_code == 502  # --fault http_502=..next:2
        assert post(emulator.url, data=login, timeout=10).status_code == 502
        assert post(emulator.url, data=login, timeout=10).status_code == 503  # --fault http_503=next:1
        started = time.monotonic()
        reply = client.post(login)
        assert time.monotonic() - started >= 0.05  # --latency-ms
        result = reply.result.ok()
        timeout = reply.root.findtext("operation/authentication/sessiontimeout") or ""
        stamp = reply.root.findtext("operation/authentication/sessiontimestamp") or ""
        assert _seconds(stamp, timeout) == 60
        session = result.element.findtext("data/api/sessionid") or ""
        assert (
            client.post(envelope(function("<getAPISession/>"))).control_status == "failure"
        )  # demo sender refused
        big = envelope(function("<create>" + customer_xml("B", "x" * 3000) + "</create>"), session=session)
        too_big = client.http.post(emulator.url, data=big, timeout=10)
        assert too_big.status_code == 413
        assert parse(too_big.content).findtext("errormessage/error/errorno") == "XL03000003"
        faults = emulator.admin.faults()
        assert (faults["latency_ms"], faults["jitter_ms"], faults["seed"]) == (50, 5, 3)
        assert (faults["concurrency_limit"], faults["retry_after_seconds"]) == (4, 9)
        assert faults["http_502"] == {"probability": 0.0, "next": 0, "skip": 0}


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_reference_data_file_replaces_the_builtin_data(tmp_path: Path) -> None:
    data = builtin_reference_data().to_json()
    data["journals"] = [{"SYMBOL": "XJ", "TITLE": "Only journal"}]
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(data))
    with EmulatorProcess(reference_data=path) as emulator:
        gw = GatewayClient(emulator.url)
        lines = [("6000", "1", "1"), ("1000", "-1", "1")]
        assert gw.create(journal_xml(lines)).errornos[0] == "BL03000025"  # GJ is gone
        gw.create(journal_xml(lines).replace("<JOURNAL>GJ</JOURNAL>", "<JOURNAL>XJ</JOURNAL>")).ok()


def test_bad_reference_data_and_busy_port_are_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"gl_accounts": [{"TITLE": "no number"}]}))
    bad = subprocess.run(
        [sys.executable, "-m", "dbt_intacct.emulator", "--port", "0", "--reference-data", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert "ACCOUNTNO" in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [sys.executable, "-m", "dbt_intacct.emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert busy.returncode != 0
    assert f"127.0.0.1:{port}" in busy.stderr


def test_body_limit_refuses_without_reading_the_body() -> None:
    with EmulatorServer(EmulatorConfig(port=0, max_body_bytes=10_000)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(
                b"POST /ia/xml/xmlgw.phtml HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                b"Content-Length: 500000000\r\n\r\n<request>"
            )
            started = time.monotonic()
            answer = b""
            while chunk := raw.recv(65536):  # the server closes the connection after answering
                answer += chunk
            assert time.monotonic() - started < 5
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"XL03000003" in answer
        chunked = requests.post(server.url, data=iter([b"<request>" + b" " * 6000, b" " * 6000]), timeout=10)
        assert chunked.status_code == 413


def test_admin_api(server: EmulatorServer, gw: GatewayClient, admin: EmulatorAdmin) -> None:
    health = admin.health()
    assert health == {"status": "ok", "url": server.url, "admin_url": server.admin_url}
    assert EmulatorAdmin(server.url).health() == health  # the gateway URL works too
    gw.create(
        customer_xml("A1") + "<CONTACT><CONTACTNAME>Jo</CONTACTNAME><PRINTAS>Jo</PRINTAS></CONTACT>"
    ).ok()
    records = admin.records()
    assert sorted(records) == ["CONTACT", "CUSTOMER"]
    (customer,) = admin.records("customer")
    assert customer["CUSTOMERID"] == "A1"
    assert customer["DISPLAYCONTACT"] == {"PRINTAS": "Customer A1"}
    stats = admin.stats()
    assert stats["records"] == {"CONTACT": 1, "CUSTOMER": 1}
    assert stats["api_transactions"] == 2
    data = admin.reference()
    assert {row["ACCOUNTNO"] for row in data["gl_accounts"]} >= {"1000", "1200", "4000", "6000"}
    admin.set_reference({**data, "journals": []})
    assert gw.create(journal_xml([("6000", "1", "1"), ("1000", "-1", "1")])).errornos[0] == "BL03000025"
    with pytest.raises(Exception, match="400"):
        admin.set_reference({"journals": [{"TITLE": "no symbol"}]})
    admin.reset()
    assert admin.records() == {}
    assert admin.stats()["api_transactions"] == 0
    gw.create(
        journal_xml([("6000", "1", "1"), ("1000", "-1", "1")])
    ).ok()  # reset restored the reference data
    assert requests.get(server.admin_url + "/nothing", timeout=10).status_code == 404
    assert requests.put(server.admin_url + "/faults", data=b"not json", timeout=10).status_code == 400
