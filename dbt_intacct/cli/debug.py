"""`dbt-intacct debug`: every check a user needs before a first sync, like `dbt debug`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from dbt_intacct.cli.exit_codes import EXIT_FAILED, EXIT_OK
from dbt_intacct.cli.params import COMMAND_SETTINGS, dbt_args, dbt_project_options, state_schema_option
from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.errors import DbtIntacctError

if TYPE_CHECKING:
    from rich.console import Console

    from dbt_intacct.config import Connection, IntacctConfig


@click.command(
    short_help="Check intacct.yml, the login, the warehouse and the state.", context_settings=COMMAND_SETTINGS
)
@dbt_project_options
@state_schema_option
def debug(**kwargs: Any) -> None:
    """Check intacct.yml, the Intacct login, the warehouse connection and the state tables."""
    from dbt_intacct.observe.console import ConsoleProgress, stdout_console
    from dbt_intacct.observe.logs import logging_to_console

    console = stdout_console()
    with logging_to_console(ConsoleProgress(console).log):
        code = run_debug(dbt_args(kwargs), kwargs["state_schema"], kwargs["target_path"], console)
    sys.exit(code)


def run_debug(args: DbtArgs, state_schema: str | None, target_path: str, console: Console) -> int:
    """Run the checks in order, print one line each, and return the exit code (0 all passed, 1 not)."""
    # Loaded here, not at start-up: intacct.yml's validation (pydantic) doubles the CLI's import time.
    from dbt_intacct.config import load_config

    failures = 0

    def check(label: str, action: Callable[[], str]) -> bool:
        nonlocal failures
        try:
            detail = action()
        except DbtIntacctError as exc:
            failures += 1
            console.print(f"  {label}: [red]ERROR[/red] {exc}", highlight=False)
            return False
        except Exception as exc:  # a check must report, never crash the command
            failures += 1
            console.print(f"  {label}: [red]ERROR[/red] {type(exc).__name__}: {exc}", highlight=False)
            return False
        console.print(f"  {label}: [green]OK[/green] {detail}", highlight=False)
        return True

    console.print(f"dbt-intacct debug · project {args.project_dir}", highlight=False)
    holder: dict[str, IntacctConfig] = {}

    def config_check() -> str:
        config = load_config(args.profiles_dir, args.project_dir)
        holder["config"] = config
        names = ", ".join(sorted(config.connections))
        return f"{config.source} (connections: {names})"

    console.print("Intacct configuration:")
    if check("intacct.yml", config_check):
        config = holder["config"]
        for name, connection in sorted(config.connections.items()):
            check(f"login '{name}' ({connection.endpoint})", partial(_login, connection))
        if config.alerts:
            check("alerts", partial(_alerts, config))

    console.print("Warehouse:")
    warehouse = Warehouse(args)
    try:
        with warehouse.open():
            check("connection", lambda: _warehouse(warehouse))
            schema = state_schema or (holder["config"].state_schema if "config" in holder else None)
            check("state tables", lambda: _state(warehouse, schema))
    except DbtIntacctError as exc:
        failures += 1
        console.print(f"  connection: [red]ERROR[/red] {exc}", highlight=False)

    from dbt_intacct.dbt.manifest import intacct_models, load_manifest, manifest_path

    console.print("dbt project:")
    check(
        "manifest",
        lambda: (
            f"{len(intacct_models(load_manifest(manifest_path(args.project_dir, target_path))))} "
            "model(s) with meta.intacct"
        ),
    )
    if failures:
        console.print(f"[red]{failures} check(s) failed.[/red]")
        return EXIT_FAILED
    console.print("[green]All checks passed![/green]")
    return EXIT_OK


def _login(connection: Connection) -> str:
    from dbt_intacct.client import IntacctClient

    client = IntacctClient(connection.credentials(), timeout=min(connection.timeout_seconds, 60.0))
    try:
        client.open_session()
    finally:
        client.close()
    entity = f", entity {connection.entity_id}" if connection.entity_id else ""
    return f"company {connection.company_id}, user {connection.user_id}{entity}"


def _alerts(config: IntacctConfig) -> str:
    from dbt_intacct.observe.alerts import parse_alerts

    rules = parse_alerts(config.alerts)
    return ", ".join(f"{rule.name} ({rule.kind})" for rule in rules)


def _warehouse(warehouse: Warehouse) -> str:
    warehouse.fetch_small("select 1")
    return f"{warehouse.adapter_type}, target {warehouse.target_name}, schema {warehouse.target_schema}"


def _state(warehouse: Warehouse, schema: str | None) -> str:
    from dbt_intacct.state import StateTables
    from dbt_intacct.state.tables import STATE_TABLE

    tables = StateTables.of_target(warehouse, schema)
    if not warehouse.relation_exists(tables.state):
        return f"{tables.schema}.{STATE_TABLE} does not exist yet (created by the first sync)"
    rows = warehouse.fetch_small(f"select count(*), count(distinct model_id) from {tables.state}")
    count, models = rows[0]
    return f"{tables.schema}: {count} row(s) tracked across {models} model(s)"
