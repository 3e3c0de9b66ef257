"""`sync` and `plan`: the selected models' changes, sent to Intacct or only priced."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dbt_intacct.cli.exit_codes import EXIT_FAILED, EXIT_USAGE, print_error
from dbt_intacct.cli.params import (
    COMMAND_SETTINGS,
    company_check_option,
    dbt_args,
    dbt_option,
    dbt_project_options,
    log_format_option,
    parse_option,
    selection,
    selection_options,
    state_schema_option,
)
from dbt_intacct.errors import ConfigError, DbtIntacctError, Interrupted

if TYPE_CHECKING:
    from rich.console import Console

    from dbt_intacct.observe.console import ConsoleProgress, JsonProgress
    from dbt_intacct.sync.task import SyncOptions

# Options that would change what a saved plan sends: `sync --plan` refuses them.
_CLASHING = (
    ("select", "--select/-s"),
    ("exclude", "--exclude"),
    ("selector", "--selector"),
    ("full_refresh", "--full-refresh (or DBT_FULL_REFRESH)"),
    ("dry_run", "--dry-run"),
    ("allow_large_changes", "--allow-large-changes"),
)


def _plan_clash(kwargs: dict[str, Any]) -> str | None:
    """Why `sync --plan` cannot run with the options given, or None."""
    if not kwargs.get("plan"):
        return None
    given = [flag for name, flag in _CLASHING if kwargs.get(name)]
    if not given:
        return None
    return (
        f"--plan applies a saved plan exactly; {', '.join(given)} would change what is sent. Make the plan "
        "with them instead (`dbt-intacct plan --out PATH ...`)"
    )


def _run_sync(kwargs: dict[str, Any], dry_run: bool) -> int:
    from dbt_intacct.observe.console import ConsoleProgress, JsonProgress, stdout_console
    from dbt_intacct.observe.logs import logging_to_console
    from dbt_intacct.sync.task import SyncOptions

    json_log = kwargs.get("log_format") == "json"
    console = stdout_console()
    clash = _plan_clash({**kwargs, "dry_run": dry_run})
    if clash:
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_USAGE, error=clash, sent=False)
        else:
            print_error(console, ConfigError(clash))
            console.print("Nothing was sent to Intacct.", highlight=False)
        return EXIT_USAGE
    options = SyncOptions(
        dbt=dbt_args(kwargs),
        selection=selection(kwargs),
        dry_run=dry_run,
        full_refresh=kwargs.get("full_refresh", False),
        state_schema=kwargs["state_schema"],
        target_path=kwargs["target_path"],
        max_transactions=kwargs.get("max_transactions"),
        lock_timeout=kwargs.get("lock_timeout") or 0.0,
        allow_over_budget=kwargs.get("allow_over_budget", False),
        company_check=not kwargs.get("no_company_check", False),
        parse=kwargs.get("parse", True),
        allow_large_changes=kwargs.get("allow_large_changes", False),
        plan_out=Path(kwargs["out"]) if kwargs.get("out") else None,
        plan_file=Path(kwargs["plan"]) if kwargs.get("plan") else None,
    )
    progress: ConsoleProgress | JsonProgress = JsonProgress() if json_log else ConsoleProgress(console)
    with logging_to_console(progress.log):
        return _execute(options, progress, console, json_log, kwargs, dry_run)


def _execute(
    options: SyncOptions,
    progress: ConsoleProgress | JsonProgress,
    console: Console,
    json_log: bool,
    kwargs: dict[str, Any],
    dry_run: bool,
) -> int:
    from dbt_intacct.observe.console import (
        JsonProgress,
        print_budget,
        print_errors,
        print_nulls,
        print_samples,
        summary_table,
    )
    from dbt_intacct.sync.removed import removed_warning
    from dbt_intacct.sync.saved_plan import PlanAppliedAlready
    from dbt_intacct.sync.task import SyncTask

    try:
        task = SyncTask(options, progress)
        result = task.run()
    except PlanAppliedAlready as done:
        if json_log:
            JsonProgress().emit("run_finished", exit_code=0, message=str(done), sent=False)
        else:
            console.print(str(done), highlight=False, markup=False)
        return 0
    except Interrupted as stop:
        # Stopped before the run started: nothing was sent.
        if json_log:
            JsonProgress().emit("run_failed", exit_code=stop.exit_code, error=str(stop), sent=False)
        else:
            print_error(console, RuntimeError(f"{stop} before the run started; nothing was sent to Intacct."))
        return stop.exit_code
    except ConfigError as exc:
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_USAGE, error=str(exc), sent=False)
        else:
            print_error(console, exc)
            console.print("Nothing was sent to Intacct.", highlight=False)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_FAILED, error=str(exc))
        else:
            print_error(console, exc)
        return EXIT_FAILED
    except Exception as exc:
        if os.environ.get("DBT_INTACCT_DEBUG"):
            raise
        message = f"unexpected {type(exc).__name__}: {exc} (set DBT_INTACCT_DEBUG=1 for the traceback)"
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_FAILED, error=message)
        else:
            print_error(console, RuntimeError(message))
        return EXIT_FAILED
    if json_log:
        JsonProgress().emit("run_finished", exit_code=result.exit_code, **result.to_json())
        return result.exit_code
    console.print()
    console.print(summary_table(result, plan=dry_run))
    print_budget(console, result, plan=dry_run)
    print_errors(console, result)
    print_nulls(console, result, plan=dry_run)
    for removed in result.removed_models:
        console.print(f"Warning: {removed_warning(removed)}", style="yellow", highlight=False, markup=False)
    if dry_run:
        print_samples(console, result, kwargs.get("samples", 1))
        console.print("\nPlan only: nothing was written to Intacct.", highlight=False)
    if result.saved_plan and dry_run:
        console.print(
            f"Plan written to {result.saved_plan['path']} ({result.saved_plan['functions']} function(s)), "
            f"summary in {result.saved_plan['summary']}; apply it with "
            f"`dbt-intacct sync --plan {result.saved_plan['path']}`.",
            highlight=False,
            markup=False,
        )
    elif dry_run and options.plan_out is not None:
        console.print("No plan was written: the plan did not complete.", style="red", highlight=False)
    if result.faults:
        met = ", ".join(f"{kind} x{n}" for kind, n in sorted(result.faults.items()))
        survived = sum(result.faults_survived.values())
        console.print(
            f"Faults met: {met}; {survived} survived with {result.retries} retr"
            f"{'y' if result.retries == 1 else 'ies'}.",
            highlight=False,
        )
    for line in result.alerts:
        console.print(line, highlight=False, markup=False)
    if result.message:
        console.print(result.message, style="red", highlight=False, markup=False)
    if result.artifact_error:
        print_error(console, RuntimeError(result.artifact_error))
    verdict = "Completed successfully" if result.exit_code == 0 else "Completed with errors"
    if result.interrupted_by:
        verdict = f"Stopped by {result.interrupted_by}"
    colour = "green" if result.exit_code == 0 else "red"
    console.print(
        f"\n[{colour}]{verdict}[/{colour}]  run {result.run_id}  "
        f"(details: {options.target_path}/intacct_run_results.json"
        + ("" if dry_run else f", `dbt-intacct show {result.run_id}`")
        + ")",
        highlight=False,
    )
    return result.exit_code


@click.command(short_help="Send the selected models' changes to Intacct.", context_settings=COMMAND_SETTINGS)
@dbt_project_options
@selection_options
@parse_option
@company_check_option
@state_schema_option
@dbt_option(
    "--full-refresh",
    variable="DBT_FULL_REFRESH",
    is_flag=True,
    help="Send every row of update/upsert models again.",
)
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent, send nothing.")
@click.option(
    "--max-transactions",
    type=click.IntRange(min=0),
    default=None,
    help="Refuse to start (nothing sent, exit 2) if the run would spend more Intacct API transactions.",
)
@click.option(
    "--allow-over-budget",
    is_flag=True,
    help="Send even when this month's spend plus the run's price would go over monthly_transaction_budget "
    "(the run history records it).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another sync on the same state schema and connection (0: refuse at once).",
)
@click.option(
    "--allow-large-changes",
    is_flag=True,
    help="Lift the guard against mass changes (max_removals, max_updates) for this run; the run history "
    "records it.",
)
@click.option(
    "--plan",
    "plan",
    type=click.Path(dir_okay=False),
    default=None,
    help="Apply a saved plan (`plan --out`) exactly: its functions with their control IDs, nothing else; "
    "nothing is sent (exit 2) if the rows or the state changed since it was made.",
)
@log_format_option
def sync(**kwargs: Any) -> None:
    """Send the selected models' changes to Intacct."""
    sys.exit(_run_sync(kwargs, dry_run=kwargs.pop("dry_run")))


@click.command(
    short_help="What a sync would do, priced in API transactions; sends nothing.",
    context_settings=COMMAND_SETTINGS,
)
@dbt_project_options
@selection_options
@parse_option
@company_check_option
@state_schema_option
@dbt_option(
    "--full-refresh", variable="DBT_FULL_REFRESH", is_flag=True, help="Plan as if every row were sent again."
)
@click.option("--samples", type=int, default=1, show_default=True, help="Sample payloads to show per action.")
@click.option(
    "--allow-large-changes",
    is_flag=True,
    help="Lift the guard against mass changes (max_removals, max_updates) as a sync with it would.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the plan to this file (JSON) and a readable summary beside it (.md), for `sync --plan`. "
    "Records are matched in Intacct (read-only), so the plan says exactly what a sync sends.",
)
@log_format_option
def plan(**kwargs: Any) -> None:
    """Show what a sync would do, per model, priced in Intacct API transactions; send nothing."""
    sys.exit(_run_sync(kwargs, dry_run=True))
