"""`runs`, `show` and `report`: the history of syncs, read back from the warehouse."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dbt_intacct.artifacts import write_text_atomically
from dbt_intacct.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_error
from dbt_intacct.cli.params import COMMAND_SETTINGS, dbt_args, dbt_project_options, state_schema_option
from dbt_intacct.errors import ConfigError, DbtIntacctError


def _with_store(kwargs: dict[str, Any], action: Callable[[Any, Any], int]) -> int:
    """Open the warehouse and the tool's tables, then run `action(store, console)`."""
    from dbt_intacct.config import load_config
    from dbt_intacct.dbt.warehouse import Warehouse
    from dbt_intacct.observe.console import stdout_console
    from dbt_intacct.state import StateTables

    console = stdout_console()
    args = dbt_args(kwargs)
    try:
        try:
            configured = load_config(args.profiles_dir, args.project_dir).state_schema
        except ConfigError:
            configured = None
        with Warehouse(args).open() as warehouse:
            store = StateTables.of_target(warehouse, kwargs["state_schema"] or configured)
            if not warehouse.relation_exists(store.runs):
                console.print(
                    f"No runs yet: {store.schema}.intacct_runs does not exist (the first sync creates it)."
                )
                return EXIT_FAILED
            return action(store, console)
    except ConfigError as exc:
        print_error(console, exc)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        print_error(console, exc)
        return EXIT_FAILED


@click.command(short_help="The history of syncs, newest first.", context_settings=COMMAND_SETTINGS)
@dbt_project_options
@state_schema_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
def runs(**kwargs: Any) -> None:
    """The history of syncs, newest first (from the warehouse)."""
    from dbt_intacct.observe.console import runs_table
    from dbt_intacct.observe.history import list_runs

    def action(store: Any, console: Any) -> int:
        found = list_runs(store, kwargs["limit"], command="sync")
        if not found:
            console.print("No sync has run yet.")
            return EXIT_OK
        console.print(runs_table(found))
        console.print("See one run with `dbt-intacct show RUN_ID` (or `show latest`).", highlight=False)
        return EXIT_OK

    sys.exit(_with_store(kwargs, action))


@click.command(
    short_help="One run's debugger: row outcomes and API calls.", context_settings=COMMAND_SETTINGS
)
@click.argument("run_id")
@dbt_project_options
@state_schema_option
@click.option("--model", "-m", default=None, help="Only this model (name or unique_id).")
@click.option(
    "--status",
    type=click.Choice(["ok", "failed", "rejected", "pending", "cleared", "deleted", "dropped"]),
    default=None,
    help="Only rows with this outcome.",
)
@click.option("--row-key", default=None, help="Only this row (its primary key as text).")
@click.option(
    "--xml", "show_xml", is_flag=True, help="Print each API call's request and response (redacted)."
)
def show(**kwargs: Any) -> None:
    """One run's debugger: its models, every row outcome and every API call.

    RUN_ID may be a unique prefix of the id, or `latest`. While a sync is running, `show` displays what it
    has recorded so far.
    """
    from dbt_intacct.observe.console import print_run_detail
    from dbt_intacct.observe.history import find_run, load_detail

    def action(store: Any, console: Any) -> int:
        run = find_run(store, kwargs["run_id"])
        if run is None:
            console.print(
                f"No single run matches {kwargs['run_id']!r}; see `dbt-intacct runs`.", markup=False
            )
            return EXIT_FAILED
        detail = load_detail(
            store, run, model=kwargs["model"], status=kwargs["status"], row_key=kwargs["row_key"]
        )
        print_run_detail(console, detail, show_xml=kwargs["show_xml"])
        return EXIT_OK

    sys.exit(_with_store(kwargs, action))


@click.command(short_help="Write an HTML report of recent runs.", context_settings=COMMAND_SETTINGS)
@dbt_project_options
@state_schema_option
@click.option("--runs", "run_count", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the page (default: <target-path>/intacct_report.html).",
)
def report(**kwargs: Any) -> None:
    """Write a self-contained HTML report of recent runs (no network needed to view it)."""
    from datetime import UTC, datetime

    from dbt_intacct.observe.history import list_runs, load_detail
    from dbt_intacct.observe.report import render_report

    def action(store: Any, console: Any) -> int:
        found = list_runs(store, kwargs["run_count"], command="sync")
        details = [load_detail(store, run, row_limit=1_000, call_limit=100) for run in found]
        html = render_report(details, generated_at=datetime.now(UTC))
        path = kwargs["output"] or Path(kwargs["project_dir"]) / kwargs["target_path"] / "intacct_report.html"
        write_text_atomically(path, html)
        console.print(f"Report of {len(found)} run(s) written to {path}", highlight=False)
        return EXIT_OK

    sys.exit(_with_store(kwargs, action))
