"""Run history, the debugger, the report, the plan's price, alerts, JSON logs and the sync lock."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.results import PHASES
from tests.functional.test_sync_customers import CUSTOMERS, setup_customers
from tests.functional.test_sync_money_objects import JOURNAL_LINES, setup_journal
from tests.support.intacct import create_customer_directly
from tests.support.project import DbtProject


def test_runs_show_report_and_tables_agree_with_the_emulator(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    create_customer_directly(emulator, "C2", "Taken")  # C2 fails at Intacct (duplicate)
    bad = CUSTOMERS + "C4,Delta,not-an-email,Paris,smb\n" + f"C5,{'x' * 101},,Oslo,smb\n"  # C5: NAME too long
    setup_customers(project, mode="insert", csv=bad)
    requests_before = emulator.stats()["requests"]
    run = project.sync()
    assert run.exit_code == 1, run.output
    counts = run.counts("intacct_customers")
    assert (counts["created"], counts["failed"], counts["rejected"]) == (3, 1, 1)
    run_id = run.results["metadata"]["run_id"]
    emulator_requests = emulator.stats()["requests"] - requests_before

    # The warehouse tables.
    schema = project.state_schema
    (model_row,) = project.query(
        f"select created, failed, rejected, api_transactions from {schema}.intacct_model_results "
        f"where run_id = '{run_id}'"
    )
    assert model_row == (3, 1, 1, 3)
    (calls,) = project.query(f"select count(*) from {schema}.intacct_api_calls where run_id = '{run_id}'")
    assert calls[0] == emulator_requests
    outcomes = dict(
        project.query(
            f"select row_key, status from {schema}.intacct_ledger "
            f"where run_id = '{run_id}' and event = 'outcome'"
        )
    )
    assert outcomes == {"C1": "ok", "C3": "ok", "C4": "ok", "C2": "failed", "C5": "rejected"}
    (leaks,) = project.query(
        f"select count(*) from {schema}.intacct_api_calls where request_xml like '%demo_password%' "
        "or request_xml like '%demo_sender_pw%'"
    )
    assert leaks[0] == 0

    # runs
    result = project.cli("runs")
    assert result.exit_code == 0, result.output
    assert run_id[:20] in result.output and "error" in result.output

    # show: every row outcome and call, filterable.
    result = project.cli("show", run_id)
    assert result.exit_code == 0, result.output
    assert f"API calls ({emulator_requests})" in result.output
    assert "row outcomes (5)" in result.output
    assert "BL34000061" in result.output
    result = project.cli("show", "latest", "--status", "rejected")
    assert "row outcomes (1)" in result.output and "C5" in result.output
    result = project.cli("show", run_id[:18], "--row-key", "C2", "--xml")
    assert "row outcomes (1)" in result.output and "<CUSTOMERID>C2</CUSTOMERID>" in result.output
    assert "demo_password" not in result.output

    # report
    result = project.cli("report")
    assert result.exit_code == 0, result.output
    html = (project.root / "target" / "intacct_report.html").read_text()
    assert run_id in html and "C5" in html and "BL34000061" in html
    assert "demo_password" not in html and "demo_sender_pw" not in html


def test_the_plan_price_is_what_the_sync_spends(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)  # upsert: writes plus one matching page
    plan = project.plan()
    priced = plan.results["api_transactions"]
    assert priced == 4
    before = emulator.api_transactions()
    assert project.sync().exit_code == 0
    assert emulator.api_transactions() - before == priced
    # An update of one row, and a removal with delete behaviour "nothing": one transaction.
    project.seed("crm_customers", CUSTOMERS.replace("Lyon", "Grenoble"))
    project.build()
    plan = project.plan()
    assert plan.results["api_transactions"] == 1
    before = emulator.api_transactions()
    assert project.sync().exit_code == 0
    assert emulator.api_transactions() - before == 1


def test_the_plan_price_of_journal_entries(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_journal(project)
    priced = project.plan().results["api_transactions"]
    assert project.sync().exit_code == 0
    assert emulator.api_transactions() == priced == 2
    assert "this month" in project.plan().output


def test_max_transactions_refuses_to_start(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    run = project.sync("--max-transactions", "3")
    assert run.exit_code == 2, run.output
    assert "would spend 4 Intacct API transactions, more than --max-transactions 3" in " ".join(
        run.output.split()
    )
    assert emulator.stats()["requests"] == 0
    run = project.sync("--max-transactions", "4")
    assert run.exit_code == 0, run.output


def test_json_log_format(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    result = project.cli("sync", "--log-format", "json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "model_started" in kinds and "rows_done" in kinds and "model_finished" in kinds
    finished = events[-1]
    assert finished["exit_code"] == 0 and finished["results"][0]["counts"]["created"] == 3


def test_each_model_reports_where_its_time_went(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    plan = project.plan()
    assert plan.exit_code == 0, plan.output
    planned = plan.results["results"][0]["timings"]
    assert list(planned) == list(PHASES)
    assert planned["diff"] > 0  # three rows are read and built in well under the millisecond shown
    assert planned["send"] == planned["intents"] == planned["outcomes"] == 0  # a plan sends nothing

    emulator.set_faults(latency_ms=300)  # each request takes at least 0.3 s
    result = project.cli("sync", "--log-format", "json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    logged = next(e for e in events if e["event"] == "model_finished")
    run = events[-1]
    model = run["results"][0]
    timings = model["timings"]
    assert logged["timings"] == timings and logged["elapsed_seconds"] == model["elapsed_seconds"]
    assert model["api_transactions"] >= 1
    # The login and the bulk lookup of the three CUSTOMERIDs are inside `build`, which the send pipeline
    # runs as it takes batches; the creates (three in one batch) follow, inside `send`.
    assert timings["build"] >= 0.6
    assert timings["send"] >= timings["build"] + 0.3
    assert timings["diff"] + timings["send"] <= model["elapsed_seconds"] + 0.002  # rounding
    assert timings["intents"] > 0 and timings["outcomes"] > 0
    assert timings["resolve"] < 0.3  # nothing was left open
    assert run["startup_seconds"] > 0
    # The same timings are kept with the run's history in the warehouse, and `show` prints them.
    stored = project.query(f"select timings from {project.state_schema}.intacct_model_results")
    assert [json.loads(t) for (t,) in stored] == [timings]
    shown = project.cli("show", "latest")
    assert shown.exit_code == 0, shown.output
    after = shown.output.split("time (seconds)", 1)[1]
    line = next(text for text in after.splitlines() if "intacct_customers" in text)
    cells = [cell.strip() for cell in line.split("│") if cell.strip()]
    assert cells == [
        "intacct_customers",
        f"{model['elapsed_seconds']:.2f}",
        *(f"{timings[phase]:.2f}" for phase in PHASES),
    ]


class _Receiver:
    """A webhook receiver on loopback that records every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.server.shutdown()


def test_alerts_fire_once_per_change_of_state(
    project: DbtProject, emulator: EmulatorAdmin, receiver: _Receiver
) -> None:
    setup_journal(
        project,
        JOURNAL_LINES
        + "JE-3,2026-10-31,Unbalanced,1,6000,100.00,x\nJE-3,2026-10-31,Unbalanced,2,2000,-90.00,y\n",
    )
    intacct_yml = json.loads((project.root / "intacct.yml").read_text())
    intacct_yml["alerts"] = [{"name": "finance-hook", "kind": "webhook", "url": receiver.url}]
    (project.root / "intacct.yml").write_text(json.dumps(intacct_yml))

    debug = project.cli("debug")
    assert "alerts: OK finance-hook (webhook)" in " ".join(debug.output.split()), debug.output

    first = project.sync()
    assert first.exit_code == 1
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert "intacct_journal_entries" in json.dumps(body)
    assert f"dbt-intacct show {first.results['metadata']['run_id']}" in json.dumps(body)
    assert "alert finance-hook: sent" in first.output

    second = project.sync()  # still rejecting: no new notice
    assert second.exit_code == 1
    assert len(receiver.bodies) == 1

    project.seed(
        "je_lines",
        JOURNAL_LINES + "JE-3,2026-10-31,Fixed,1,6000,100.00,x\nJE-3,2026-10-31,Fixed,2,2000,-100.00,y\n",
    )
    project.build()
    third = project.sync()
    assert third.exit_code == 0, third.output
    assert len(receiver.bodies) == 2, "one recovery notice"
    assert "recover" in json.dumps(receiver.bodies[1]).lower()


def test_a_second_sync_on_the_same_state_refuses(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    if project.warehouse == "postgres":
        import psycopg2

        from tests.support.project import POSTGRES

        holder = psycopg2.connect(**POSTGRES)
        holder.autocommit = True
        with holder.cursor() as cur:
            cur.execute(
                "select pg_advisory_lock(hashtext(%s))", (f"dbt-intacct/{project.state_schema}/default",)
            )
        try:
            run = project.sync()
        finally:
            holder.close()
        assert run.exit_code == 2, run.output
        assert "another dbt-intacct sync is running against state schema" in " ".join(run.output.split())
    else:
        # DuckDB lets one process at a time write its file: this test process holds it open, so a sync
        # started in another process must refuse.
        import duckdb

        with duckdb.connect(str(project.root / "warehouse.duckdb")):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "dbt_intacct.cli",
                    "sync",
                    "--project-dir",
                    str(project.root),
                    "--profiles-dir",
                    str(project.root),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=project.root,
            )
        assert done.returncode == 2, done.stdout + done.stderr
        assert "the DuckDB file is in use by another process" in " ".join(done.stdout.split())
        assert "Traceback" not in done.stdout + done.stderr
    assert emulator.stats()["requests"] == 0
    assert project.sync().exit_code == 0
