"""`forget`: drop the state of a model that left the project; nothing changes in Intacct."""

from __future__ import annotations

import sys
from typing import Any

import click

from dbt_intacct.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_error
from dbt_intacct.cli.params import COMMAND_SETTINGS, dbt_args, dbt_project_options, state_schema_option
from dbt_intacct.errors import ConfigError, DbtIntacctError


@click.command(
    short_help="Drop the state of a model that left the project (Intacct is left as it is).",
    context_settings=COMMAND_SETTINGS,
)
@click.argument("model")
@dbt_project_options
@state_schema_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option(
    "--force",
    is_flag=True,
    help="Forget the model even with functions sent without a recorded answer (they stay unsettled).",
)
def forget(**kwargs: Any) -> None:
    """Drop the state of MODEL (its name or unique_id), a model no longer in the project.

    Its records in Intacct are left as they are; the ledger keeps the model's history, each row's state
    recorded as a `forgotten` event. Refused while the model is still in the project with a
    meta.intacct block, and (without --force) while it has functions sent without a recorded answer.
    """
    from dbt_intacct.observe.console import ConsoleProgress, stdout_console
    from dbt_intacct.observe.logs import logging_to_console

    with logging_to_console(ConsoleProgress(stdout_console()).log):
        code = _forget(kwargs)
    sys.exit(code)


def _forget(kwargs: dict[str, Any]) -> int:
    from dbt_intacct.config import load_config
    from dbt_intacct.dbt.manifest import intacct_models, load_manifest, manifest_path
    from dbt_intacct.dbt.warehouse import Warehouse
    from dbt_intacct.observe.console import stdout_console
    from dbt_intacct.state import StateTables
    from dbt_intacct.sync.removed import forget, model_to_forget

    console = stdout_console()
    args = dbt_args(kwargs)
    try:
        try:
            config = load_config(args.profiles_dir, args.project_dir)
        except ConfigError:
            config = None  # the state schema is then the target's default
        manifest = load_manifest(manifest_path(args.project_dir, kwargs["target_path"]))
        project_models = {m.unique_id for m in intacct_models(manifest)}
        with Warehouse(args).open() as warehouse:
            tables = StateTables.of_target(
                warehouse, kwargs["state_schema"] or (config.state_schema if config else None)
            )
            if not warehouse.relation_exists(tables.state):
                raise ConfigError(f"{tables.schema}.intacct_state does not exist: no model has any state")
            model = model_to_forget(tables, kwargs["model"], project_models, force=kwargs["force"])
            question = (
                f"Forget model '{model.name}' ({model.model_id}): {model.rows} state row(s), "
                f"{model.records} record(s) in Intacct (left as they are)"
                + (f", {model.pending} function(s) without a recorded answer" if model.pending else "")
                + "?"
            )
            if not kwargs["yes"]:
                try:
                    confirmed = click.confirm(question, default=False)
                except click.Abort:
                    confirmed = False
                if not confirmed:
                    console.print("Nothing was forgotten (--yes skips this question).", highlight=False)
                    return EXIT_FAILED
            connections = sorted(config.connections) if config and config.connections else ["default"]
            run_id = forget(tables, model, target=warehouse.target_name, connections=connections)
    except ConfigError as exc:
        print_error(console, exc)
        return EXIT_USAGE
    except DbtIntacctError as exc:
        print_error(console, exc)
        return EXIT_FAILED
    console.print(
        f"Forgot model '{model.name}': {model.rows} state row(s) dropped (run {run_id}); the ledger keeps "
        "its history (event 'forgotten'). Nothing was changed in Intacct.",
        highlight=False,
        markup=False,
    )
    return EXIT_OK
