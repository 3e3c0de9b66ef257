"""Command line entry point. The only place exit codes are made.

Exit codes: 0 every change applied; 1 some rows or models failed (the rest applied and recorded);
2 a usage or configuration error (nothing sent).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dbt_intacct import __version__
from dbt_intacct.dbt.selection import Selection
from dbt_intacct.dbt.warehouse import DbtArgs
from dbt_intacct.errors import ConfigError, DbtIntacctError
from dbt_intacct.params import dbt_project_options, selection_options, state_schema_option

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dbt-intacct")
def main() -> None:
    """Reverse ETL from dbt models to Sage Intacct.

    Declare the Intacct object, sync mode, matching and field mapping in a model's
    `config.meta.intacct`; after `dbt build`, `dbt-intacct sync` sends only what changed.
    """


def _dbt_args(kwargs: dict[str, Any]) -> DbtArgs:
    return DbtArgs(
        project_dir=Path(kwargs["project_dir"]).resolve(),
        profiles_dir=Path(kwargs["profiles_dir"]).resolve() if kwargs["profiles_dir"] else None,
        target=kwargs["target"],
        profile=kwargs["profile"],
        vars=kwargs["vars"] or {},
    )


def _selection(kwargs: dict[str, Any]) -> Selection:
    return Selection(
        select=tuple(kwargs["select"] or ()),
        exclude=tuple(kwargs["exclude"] or ()),
        selector=kwargs["selector"],
        state=kwargs["state"],
    )


def _run_sync(kwargs: dict[str, Any], dry_run: bool) -> int:
    from dbt_intacct.observe.console import (
        ConsoleProgress,
        print_errors,
        print_samples,
        stdout_console,
        summary_table,
    )
    from dbt_intacct.sync.task import SyncOptions, SyncTask

    console = stdout_console()
    options = SyncOptions(
        dbt=_dbt_args(kwargs),
        selection=_selection(kwargs),
        dry_run=dry_run,
        full_refresh=kwargs.get("full_refresh", False),
        state_schema=kwargs["state_schema"],
        target_path=kwargs["target_path"],
    )
    progress = ConsoleProgress(console)
    task = SyncTask(options, progress)
    try:
        result = task.run()
    except ConfigError as exc:
        console.print(f"[red]Error:[/red] {exc}", highlight=False)
        console.print("Nothing was sent to Intacct.", highlight=False)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        console.print(f"[red]Error:[/red] {exc}", highlight=False)
        return EXIT_FAILED
    console.print()
    console.print(summary_table(result, plan=dry_run))
    print_errors(console, result)
    if dry_run:
        print_samples(console, result, kwargs.get("samples", 1))
        console.print("\nPlan only: nothing was sent to Intacct.", highlight=False)
    if result.message:
        console.print(f"[red]{result.message}[/red]", highlight=False)
    verdict = "Completed successfully" if result.exit_code == 0 else "Completed with errors"
    colour = "green" if result.exit_code == 0 else "red"
    console.print(
        f"\n[{colour}]{verdict}[/{colour}]  run {result.run_id}  "
        f"(details: {options.target_path}/intacct_run_results.json)",
        highlight=False,
    )
    return result.exit_code


@main.command()
@dbt_project_options
@selection_options
@state_schema_option
@click.option("--full-refresh", is_flag=True, help="Send every row of update/upsert models again.")
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent, send nothing.")
def sync(**kwargs: Any) -> None:
    """Send the selected models' changes to Intacct."""
    sys.exit(_run_sync(kwargs, dry_run=kwargs.pop("dry_run")))


@main.command()
@dbt_project_options
@selection_options
@state_schema_option
@click.option("--full-refresh", is_flag=True, help="Plan as if every row were sent again.")
@click.option("--samples", type=int, default=1, show_default=True, help="Sample payloads to show per action.")
def plan(**kwargs: Any) -> None:
    """Show what a sync would do, per model; send nothing."""
    sys.exit(_run_sync(kwargs, dry_run=True))


@main.command()
@dbt_project_options
@state_schema_option
def debug(**kwargs: Any) -> None:
    """Check intacct.yml, the Intacct login, the warehouse connection and the state tables."""
    from dbt_intacct.observe.console import stdout_console
    from dbt_intacct.observe.debug import run_debug

    sys.exit(run_debug(_dbt_args(kwargs), kwargs["state_schema"], kwargs["target_path"], stdout_console()))


def _register_emulator() -> None:
    from dbt_intacct.emulator.cli import emulator_command

    main.add_command(emulator_command, name="emulator")


_register_emulator()
