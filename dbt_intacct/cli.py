"""Command line entry point. The only place exit codes are made.

Exit codes: 0 every change applied; 1 some rows or models failed (the rest applied and recorded);
2 a usage or configuration error (nothing sent); 130 / 143 stopped by SIGINT / SIGTERM (what was done is
recorded; the next sync resolves what was left without an answer).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from dbt_intacct import __version__
from dbt_intacct.dbt.selection import Selection
from dbt_intacct.dbt.warehouse import DbtArgs
from dbt_intacct.errors import ConfigError, DbtIntacctError, Interrupted
from dbt_intacct.params import dbt_project_options, selection_options, state_schema_option

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _print_error(console: Any, exc: BaseException) -> None:
    from rich.text import Text

    console.print(Text.assemble(("Error: ", "bold red"), str(exc)), highlight=False)


_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Commands(click.Group):
    """The command group; `emulator` is imported when it is asked for (it was 60% of the CLI's import)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "emulator"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulator" and cmd_name not in self.commands:
            from dbt_intacct.emulator.cli import emulator_command

            self.add_command(emulator_command, name="emulator")
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_Commands,
    context_settings=_CONTEXT,
    epilog="Exit codes: 0 every change applied; 1 some rows or models failed (the rest applied and "
    "recorded); 2 a usage or configuration error (nothing sent); 130 / 143 stopped by SIGINT / SIGTERM "
    "(what was done is recorded; the next sync resolves the rest).",
)
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
        JsonProgress,
        print_budget,
        print_errors,
        print_samples,
        stdout_console,
        summary_table,
    )
    from dbt_intacct.results import Progress
    from dbt_intacct.sync.task import SyncOptions, SyncTask

    json_log = kwargs.get("log_format") == "json"
    console = stdout_console()
    options = SyncOptions(
        dbt=_dbt_args(kwargs),
        selection=_selection(kwargs),
        dry_run=dry_run,
        full_refresh=kwargs.get("full_refresh", False),
        state_schema=kwargs["state_schema"],
        target_path=kwargs["target_path"],
        max_transactions=kwargs.get("max_transactions"),
        lock_timeout=kwargs.get("lock_timeout") or 0.0,
    )
    progress: Progress = JsonProgress() if json_log else ConsoleProgress(console)
    task = SyncTask(options, progress)
    try:
        result = task.run()
    except Interrupted as stop:
        # Stopped before the run started: nothing was sent.
        if json_log:
            JsonProgress().emit("run_failed", exit_code=stop.exit_code, error=str(stop), sent=False)
        else:
            _print_error(
                console, RuntimeError(f"{stop} before the run started; nothing was sent to Intacct.")
            )
        return stop.exit_code
    except ConfigError as exc:
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_USAGE, error=str(exc), sent=False)
        else:
            _print_error(console, exc)
            console.print("Nothing was sent to Intacct.", highlight=False)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_FAILED, error=str(exc))
        else:
            _print_error(console, exc)
        return EXIT_FAILED
    except Exception as exc:
        if os.environ.get("DBT_INTACCT_DEBUG"):
            raise
        message = f"unexpected {type(exc).__name__}: {exc} (set DBT_INTACCT_DEBUG=1 for the traceback)"
        if json_log:
            JsonProgress().emit("run_failed", exit_code=EXIT_FAILED, error=message)
        else:
            _print_error(console, RuntimeError(message))
        return EXIT_FAILED
    if json_log:
        JsonProgress().emit("run_finished", exit_code=result.exit_code, **result.to_json())
        return result.exit_code
    console.print()
    console.print(summary_table(result, plan=dry_run))
    print_budget(console, result, plan=dry_run)
    print_errors(console, result)
    if dry_run:
        print_samples(console, result, kwargs.get("samples", 1))
        console.print("\nPlan only: nothing was sent to Intacct.", highlight=False)
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
        console.print(f"[red]{result.message}[/red]", highlight=False)
    verdict = "Completed successfully" if result.exit_code == 0 else "Completed with errors"
    colour = "green" if result.exit_code == 0 else "red"
    console.print(
        f"\n[{colour}]{verdict}[/{colour}]  run {result.run_id}  "
        f"(details: {options.target_path}/intacct_run_results.json"
        + ("" if dry_run else f", `dbt-intacct show {result.run_id}`")
        + ")",
        highlight=False,
    )
    return result.exit_code


_LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: progress and a summary for people; json: one JSON event per line for machines.",
)


@main.command(short_help="Send the selected models' changes to Intacct.", context_settings=_CONTEXT)
@dbt_project_options
@selection_options
@state_schema_option
@click.option("--full-refresh", is_flag=True, help="Send every row of update/upsert models again.")
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent, send nothing.")
@click.option(
    "--max-transactions",
    type=click.IntRange(min=0),
    default=None,
    help="Refuse to start (nothing sent, exit 2) if the run would spend more Intacct API transactions.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another sync on the same state schema and connection (0: refuse at once).",
)
@_LOG_FORMAT
def sync(**kwargs: Any) -> None:
    """Send the selected models' changes to Intacct."""
    sys.exit(_run_sync(kwargs, dry_run=kwargs.pop("dry_run")))


@main.command(
    short_help="What a sync would do, priced in API transactions; sends nothing.", context_settings=_CONTEXT
)
@dbt_project_options
@selection_options
@state_schema_option
@click.option("--full-refresh", is_flag=True, help="Plan as if every row were sent again.")
@click.option("--samples", type=int, default=1, show_default=True, help="Sample payloads to show per action.")
@_LOG_FORMAT
def plan(**kwargs: Any) -> None:
    """Show what a sync would do, per model, priced in Intacct API transactions; send nothing."""
    sys.exit(_run_sync(kwargs, dry_run=True))


def _with_store(kwargs: dict[str, Any], action: Any) -> int:
    """Open the warehouse and the tool's tables, then run `action(store, console)`."""
    from dbt_intacct.config import load_config
    from dbt_intacct.dbt.warehouse import Warehouse
    from dbt_intacct.observe.console import stdout_console
    from dbt_intacct.state import StateTables

    console = stdout_console()
    args = _dbt_args(kwargs)
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
            code: int = action(store, console)
            return code
    except ConfigError as exc:
        _print_error(console, exc)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        _print_error(console, exc)
        return EXIT_FAILED


@main.command(short_help="The history of syncs, newest first.", context_settings=_CONTEXT)
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


@main.command(short_help="One run's debugger: row outcomes and API calls.", context_settings=_CONTEXT)
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


@main.command(short_help="Write an HTML report of recent runs.", context_settings=_CONTEXT)
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
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        console.print(f"Report of {len(found)} run(s) written to {path}", highlight=False)
        return EXIT_OK

    sys.exit(_with_store(kwargs, action))


@main.command(
    short_help="Check intacct.yml, the login, the warehouse and the state.", context_settings=_CONTEXT
)
@dbt_project_options
@state_schema_option
def debug(**kwargs: Any) -> None:
    """Check intacct.yml, the Intacct login, the warehouse connection and the state tables."""
    from dbt_intacct.observe.console import stdout_console
    from dbt_intacct.observe.debug import run_debug

    sys.exit(run_debug(_dbt_args(kwargs), kwargs["state_schema"], kwargs["target_path"], stdout_console()))


if __name__ == "__main__":
    main()
