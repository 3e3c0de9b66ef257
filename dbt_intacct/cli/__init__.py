"""Command line entry point: the `dbt-intacct` group; each family of commands is a module of this package.

Exit codes (`exit_codes`): 0 every change applied; 1 some rows or models failed (the rest applied and
recorded); 2 a usage or configuration error (nothing sent); 130 / 143 stopped by SIGINT / SIGTERM.
"""

from __future__ import annotations

import click

from dbt_intacct import __version__
from dbt_intacct.cli.debug import debug
from dbt_intacct.cli.exit_codes import EPILOG
from dbt_intacct.cli.forget import forget
from dbt_intacct.cli.history import report, runs, show
from dbt_intacct.cli.params import COMMAND_SETTINGS
from dbt_intacct.cli.sync import plan, sync


class _Commands(click.Group):
    """The command group; `emulator` is imported when it is asked for (it was 60% of the CLI's import)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "emulator"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulator" and cmd_name not in self.commands:
            from dbt_intacct.emulator.cli import emulator_command

            self.add_command(emulator_command, name="emulator")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings=COMMAND_SETTINGS, epilog=EPILOG)
@click.version_option(__version__, prog_name="dbt-intacct")
def main() -> None:
    """Reverse ETL from dbt models to Sage Intacct.

    Declare the Intacct object, sync mode, matching and field mapping in a model's
    `config.meta.intacct`; after `dbt build`, `dbt-intacct sync` sends only what changed.
    """


for _command in (sync, plan, runs, show, report, debug, forget):
    main.add_command(_command)
