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

RunMatcher = Callable[[str], bool]


def _with_store(
    kwargs: dict[str, Any], action: Callable[[Any, Any], int], progress_of: RunMatcher | None = None
) -> int:
    """Open the warehouse and the tool's tables, then run `action(store, console)`.

    When a sync holds the warehouse (a DuckDB file admits one process), the sync's progress file is shown
    instead if `progress_of` accepts its run id.
    """
    from dbt_intacct.observe.console import ConsoleProgress, stdout_console
    from dbt_intacct.observe.logs import logging_to_console

    console = stdout_console()
    with logging_to_console(ConsoleProgress(console).log):
        return _open_store(kwargs, console, action, progress_of)


def _open_store(
    kwargs: dict[str, Any], console: Any, action: Callable[[Any, Any], int], progress_of: RunMatcher | None
) -> int:
    from dbt_intacct.config import load_config
    from dbt_intacct.dbt.warehouse import Warehouse, WarehouseBusy
    from dbt_intacct.state import StateTables

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
    except WarehouseBusy as exc:
        return _busy(kwargs, console, exc, progress_of)
    except ConfigError as exc:
        print_error(console, exc)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        print_error(console, exc)
        return EXIT_FAILED


def _busy(kwargs: dict[str, Any], console: Any, busy: Exception, progress_of: RunMatcher | None) -> int:
    """The warehouse is held by another process: the running sync's progress, if it is the one asked for."""
    from dbt_intacct.observe.console import print_progress
    from dbt_intacct.observe.progress_file import read_progress

    progress = read_progress(Path(kwargs["project_dir"]).resolve() / kwargs["target_path"])
    if progress is None or progress_of is None or not progress_of(progress.run_id):
        print_error(console, busy)
        if progress is not None and progress.running:
            console.print(
                f"Sync {progress.run_id} is running: `dbt-intacct show latest` shows its progress.",
                markup=False,
                highlight=False,
            )
        return EXIT_USAGE
    print_progress(
        console,
        progress,
        "The warehouse is in use by another process (a DuckDB file admits one at a time), so the run "
        "history cannot be read now",
    )
    return EXIT_OK


@click.command(short_help="The history of syncs, newest first.", context_settings=COMMAND_SETTINGS)
@dbt_project_options
@state_schema_option
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many of the latest syncs to list.",
)
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

    sys.exit(_with_store(kwargs, action, progress_of=lambda run_id: True))


@click.command(
    short_help="One run's debugger: row outcomes and API calls.", context_settings=COMMAND_SETTINGS
)
@click.argument("run_id")
@dbt_project_options
@state_schema_option
@click.option("--model", "-m", default=None, help="Only this model (name or unique_id).")
@click.option(
    "--status",
    type=click.Choice(["ok", "failed", "rejected", "pending", "cleared", "deleted", "dropped", "reversed"]),
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
    has recorded so far; when the sync holds the warehouse (a DuckDB file), its progress file instead.
    """
    from dbt_intacct.observe.console import print_run_detail
    from dbt_intacct.observe.history import find_run, load_detail

    def action(store: Any, console: Any) -> int:
        run = find_run(store, kwargs["run_id"])
        if run is None:
            return _no_single_run(store, console, kwargs["run_id"])
        detail = load_detail(
            store, run, model=kwargs["model"], status=kwargs["status"], row_key=kwargs["row_key"]
        )
        print_run_detail(console, detail, show_xml=kwargs["show_xml"])
        return EXIT_OK

    wanted = kwargs["run_id"]

    def progress_of(run_id: str) -> bool:
        return wanted == "latest" or run_id.startswith(wanted)

    sys.exit(_with_store(kwargs, action, progress_of))


def _no_single_run(store: Any, console: Any, wanted: str) -> int:
    """RUN_ID matches no run, or several: say which (the newest first), exit 2."""
    from dbt_intacct.observe.history import run_candidates

    shown = 20
    candidates = run_candidates(store, wanted, limit=shown + 1)
    if not candidates:
        console.print(f"No run id starts with {wanted!r}; `dbt-intacct runs` lists them.", markup=False)
        return EXIT_USAGE
    more = "more than " if len(candidates) > shown else ""
    console.print(
        f"{wanted!r} matches {more}{min(len(candidates), shown)} runs; give more of the id:", markup=False
    )
    for run in candidates[:shown]:
        console.print(
            f"  {run.run_id}  {run.command:<4}  {run.status:<11}  {run.started_at:%Y-%m-%d %H:%M:%S}",
            markup=False,
            highlight=False,
        )
    return EXIT_USAGE


@click.command(short_help="Write an HTML report of recent runs.", context_settings=COMMAND_SETTINGS)
@dbt_project_options
@state_schema_option
@click.option(
    "--runs",
    "run_count",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many of the latest syncs the page shows.",
)
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
        details = [
            load_detail(store, run, row_limit=1_000, call_limit=200, skip_created=True) for run in found
        ]
        html = render_report(details, generated_at=datetime.now(UTC))
        path = kwargs["output"] or Path(kwargs["project_dir"]) / kwargs["target_path"] / "intacct_report.html"
        write_text_atomically(path, html)
        console.print(f"Report of {len(found)} run(s) written to {path}", highlight=False)
        return EXIT_OK

    sys.exit(_with_store(kwargs, action))
