"""How many functions per second the emulator serves: batches of 50 CUSTOMER creates over real HTTP,
session-authenticated, uniqueid=true, against ``python -m dbt_intacct.emulator`` with a data directory
(SQLite in WAL mode, one commit per request). A few runs; the median is the figure.

    .venv/bin/python bench/emulator_throughput.py [--batches 40] [--runs 5] [--in-memory]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import requests
from lxml import etree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dbt_intacct.emulator import EmulatorProcess  # noqa: E402 - importable once the repository is on the path

TARGET = 2000.0
BATCH = 50
COMMAND = ".venv/bin/python bench/emulator_throughput.py"


def envelope(session: str, functions: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><request><control><senderid>demo_sender</senderid>'
        f"<password>demo_sender_pw</password><controlid>{uuid.uuid4()}</controlid><uniqueid>true</uniqueid>"
        "<dtdversion>3.0</dtdversion><includewhitespace>false</includewhitespace></control>"
        '<operation transaction="false">'
        f"<authentication><sessionid>{escape(session)}</sessionid></authentication>"
        f"<content>{functions}</content></operation></request>"
    ).encode()


def login(http: requests.Session, url: str) -> str:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><request><control><senderid>demo_sender</senderid>'
        "<password>demo_sender_pw</password><controlid>login</controlid><uniqueid>false</uniqueid>"
        "<dtdversion>3.0</dtdversion></control><operation><authentication><login><userid>demo_user</userid>"
        "<companyid>demo_company</companyid><password>demo_password</password></login></authentication>"
        '<content><function controlid="login"><getAPISession/></function></content></operation></request>'
    )
    root = etree.fromstring(http.post(url, data=body.encode(), timeout=30).content)
    return root.findtext("operation/result/data/api/sessionid") or ""


def batch(run: int, number: int) -> str:
    functions = []
    for position in range(BATCH):
        customer = f"B{run}-{number}-{position}"
        functions.append(
            f'<function controlid="{customer}"><create><CUSTOMER><CUSTOMERID>{customer}</CUSTOMERID>'
            f"<NAME>Bench customer {customer}</NAME><DISPLAYCONTACT><PRINTAS>Bench {customer}</PRINTAS>"
            f"<EMAIL1>{customer.lower()}@example.invalid</EMAIL1></DISPLAYCONTACT><STATUS>active</STATUS>"
            "</CUSTOMER></create></function>"
        )
    return "".join(functions)


def one_run(http: requests.Session, url: str, session: str, run: int, batches: int) -> float:
    bodies = [envelope(session, batch(run, number)) for number in range(batches)]
    started = time.perf_counter()
    for body in bodies:
        response = http.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=60)
        if response.status_code != 200 or b"<status>failure</status>" in response.content:
            raise SystemExit(f"a request failed: HTTP {response.status_code}: {response.text[:500]}")
    return batches * BATCH / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=40, help="requests of 50 creates per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--in-memory", action="store_true", help="no --data-dir (nothing written to disk)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as scratch:
        data_dir = None if args.in_memory else Path(scratch) / "data"
        with EmulatorProcess(data_dir=data_dir, env={"PYTHONPATH": str(REPO)}) as emulator:
            http = requests.Session()
            session = login(http, emulator.url)
            one_run(http, emulator.url, session, run=0, batches=2)  # warm up connections and caches
            rates = [
                one_run(http, emulator.url, session, run, args.batches) for run in range(1, args.runs + 1)
            ]
    median = statistics.median(rates)
    storage = "in memory" if args.in_memory else "SQLite file (WAL), one commit per request"
    print(
        f"emulator throughput: {median:,.0f} functions/s (median of {args.runs} runs: "
        f"{', '.join(f'{rate:,.0f}' for rate in rates)})"
    )
    print(f"  batches of {BATCH} CUSTOMER creates, session auth, uniqueid=true, {storage}")
    print(f"  target: > {TARGET:,.0f} functions/s -> {'met' if median > TARGET else 'NOT met'}")
    print(f"  rerun: {COMMAND}{' --in-memory' if args.in_memory else ''}")


if __name__ == "__main__":
    main()
