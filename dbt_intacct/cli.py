"""Command line entry point. The only place exit codes are made."""

from __future__ import annotations

import click

from dbt_intacct import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dbt-intacct")
def main() -> None:
    """Reverse ETL from dbt models to Sage Intacct."""


def _register_emulator() -> None:
    from dbt_intacct.emulator.cli import emulator_command

    main.add_command(emulator_command, name="emulator")


_register_emulator()
