"""Committed state survives SIGKILL: records, counters, completed control IDs and sessions."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from dbt_intacct.emulator import EmulatorProcess
from tests.emulator.support import GatewayClient, customer_xml, envelope, function, journal_xml, parse


def test_kill_and_restart_keeps_everything_committed(tmp_path: Path) -> None:
    emulator = EmulatorProcess(data_dir=tmp_path / "data").start()
    try:
        gw = GatewayClient(emulator.url)
        gw.login()
        gw.call(function(f"<create>{customer_xml('K1')}</create>", "once-K1"), uniqueid=True).result.ok()
        gw.create(journal_xml([("6000", "1", "9.99"), ("1000", "-1", "9.99")])).ok()
        before = emulator.admin.stats()
        url, pid = emulator.url, emulator.pid

        emulator.restart()  # SIGKILL, then the same command on the same port and data directory

        assert emulator.pid != pid
        assert emulator.url == url
        after = emulator.admin.stats()
        for counter in ("requests", "functions", "api_transactions", "completed_controlids"):
            assert after[counter] == before[counter], counter
        assert after["records"] == {"CUSTOMER": 1, "GLBATCH": 1}
        assert [row["CUSTOMERID"] for row in gw.query("CUSTOMER")] == ["K1"]  # the old session still works
        repeated = gw.call(
            function(f"<create>{customer_xml('K1')}</create>", "once-K1"), uniqueid=True
        ).result
        assert repeated.errornos == ["XL03000010"]
        new = gw.create(customer_xml("K2")).ok().records()[0]["RECORDNO"]
        assert int(str(new)) > int(str(gw.query("CUSTOMER", "CUSTOMERID = 'K1'")[0]["RECORDNO"]))
    finally:
        emulator.stop()


def test_without_a_data_dir_a_restart_forgets(tmp_path: Path) -> None:
    with EmulatorProcess() as emulator:
        gw = GatewayClient(emulator.url)
        gw.create(customer_xml("M1")).ok()
        emulator.restart()
        gw.login()
        assert gw.query("CUSTOMER") == []


def test_sigkill_under_load_loses_nothing_that_was_answered(tmp_path: Path) -> None:
    emulator = EmulatorProcess(data_dir=tmp_path / "data").start()
    acknowledged: list[str] = []
    stop = threading.Event()
    session = GatewayClient(emulator.url).login()

    def writer() -> None:
        http = requests.Session()
        number = 0
        while not stop.is_set():
            batch = [f"W{number + offset}" for offset in range(10)]
            number += 10
            body = envelope(
                "".join(function(f"<create>{customer_xml(c)}</create>") for c in batch), session=session
            )
            try:
                response = http.post(emulator.url, data=body, timeout=10)
            except requests.RequestException:
                return  # the emulator died mid-request: that batch was never answered
            root = parse(response.content)
            acknowledged.extend(
                customer
                for customer, status in zip(batch, root.findall("operation/result/status"), strict=True)
                if status.text == "success"
            )

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        emulator.kill()
        stop.set()
        thread.join(timeout=30)
        assert len(acknowledged) >= 200
        emulator.start()
        gw = GatewayClient(emulator.url)
        gw.login()
        stored = {str(row["CUSTOMERID"]) for row in gw.query("CUSTOMER", fields="CUSTOMERID")}
        assert set(acknowledged) <= stored
        assert len(stored) - len(acknowledged) <= 10  # at most the batch in flight was committed unanswered
    finally:
        stop.set()
        emulator.stop()
