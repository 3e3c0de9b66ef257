"""The truth about cost: `plan`'s API transaction figure equals what the sync spends and what Intacct bills
on the wire (one per record written, one per query page), and the monthly budget is a gate, not a label."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.server import EmulatorServer
from tests.functional.test_sync_customers import CUSTOMERS
from tests.functional.test_sync_money_objects import INVOICE_LINES, setup_invoices
from tests.support.project import DbtProject, SyncRun, run_cli

SAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "sample_project"


def plan_sync_wire(
    run_plan: Callable[[], SyncRun], run_sync: Callable[[], SyncRun], emulator: EmulatorAdmin
) -> tuple[int, int, int]:
    """(planned, spent by the sync's own count, billed by the emulator) for one plan then one sync."""
    plan = run_plan()
    assert plan.exit_code == 0, plan.output
    before = emulator.api_transactions()
    sync = run_sync()
    assert sync.exit_code == 0, sync.output
    billed = emulator.api_transactions() - before
    return plan.results["api_transactions"], sync.results["api_transactions"], billed


def test_the_plan_prices_customers_and_invoices_as_the_sync_spends_them(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_invoices(project)  # the customers are synced already
    # Invoices looked up by their number (adoption: one query page), then created.
    planned, spent, billed = plan_sync_wire(project.plan, project.sync, emulator)
    assert (planned, spent, billed) == (1 + 2,) * 3

    # Then one customer changes, one invoice is added: no lookup for known rows.
    project.seed("crm_customers", CUSTOMERS.replace("Lyon", "Marseille"))
    project.seed(
        "invoice_lines",
        INVOICE_LINES + "INV-9,C2,2026-11-02,2026-12-02,Extra,1,4000,10.00,Extra line\n",
    )
    project.build()
    planned, spent, billed = plan_sync_wire(project.plan, project.sync, emulator)
    assert (planned, spent, billed) == (1 + 1 + 1,) * 3


def test_the_demo_plan_prices_what_its_sync_spends(
    tmp_path: Path, emulator: EmulatorAdmin, emulator_server: EmulatorServer
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(
        SAMPLE_PROJECT,
        root,
        ignore=shutil.ignore_patterns("target", "logs", ".emulator", "*.duckdb", "*.duckdb.wal"),
    )
    env = {
        "DBT_INTACCT_DEMO_DB": str(root / "demo.duckdb"),
        "INTACCT_ENDPOINT": emulator_server.url,
        "DBT_PROFILES_DIR": str(root),
    }
    flags = ["--project-dir", str(root), "--profiles-dir", str(root)]

    def dbt_build() -> None:
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["build", "--quiet", *flags])
        assert result.success, result.exception

    def command(name: str) -> Callable[[], SyncRun]:
        def run() -> SyncRun:
            result = run_cli([name, *flags], cwd=root, env=env)
            path = root / "target" / "intacct_run_results.json"
            results = json.loads(path.read_text()) if path.exists() else {}
            path.unlink(missing_ok=True)
            return SyncRun(exit_code=result.exit_code, output=result.output, results=results)

        return run

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        dbt_build()
        planned, spent, billed = plan_sync_wire(command("plan"), command("sync"), emulator)
    assert planned == spent == billed, f"planned {planned}, spent {spent}, billed {billed}"
    assert billed == 31
