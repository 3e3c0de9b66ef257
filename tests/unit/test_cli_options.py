"""The options named like dbt's say, in --help, which of dbt's environment variables they read."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from dbt_intacct.cli import main

# From dbt-core 1.11's dbt/cli/params.py: dbt reads DBT_ENGINE_<NAME> first, then DBT_<NAME>.
DBT_VARIABLES = {
    "--project-dir": "DBT_PROJECT_DIR",
    "--profiles-dir": "DBT_PROFILES_DIR",
    "--target": "DBT_TARGET",
    "--profile": "DBT_PROFILE",
    "--target-path": "DBT_TARGET_PATH",
    "--state": "DBT_STATE",
    "--full-refresh": "DBT_FULL_REFRESH",
    "--log-format": "DBT_LOG_FORMAT",
}
# dbt reads no variable for these.
NO_VARIABLE = ("--select", "--exclude", "--selector", "--vars")


def _options(command: str) -> dict[str, list[str]]:
    """Each option of `command` with the environment variables it reads."""
    found: dict[str, list[str]] = {}
    for param in main.commands[command].params:
        envvar = param.envvar
        names = [envvar] if isinstance(envvar, str) else list(envvar or ())
        for opt in param.opts:
            found[opt] = names
    return found


@pytest.mark.parametrize("command", ["sync", "plan", "runs", "show", "report", "debug"])
def test_dbt_named_options_read_dbt_variables(command: str) -> None:
    options = _options(command)
    for option, variable in DBT_VARIABLES.items():
        if option in options:
            assert options[option] == [variable.replace("DBT_", "DBT_ENGINE_", 1), variable], option
    for option in NO_VARIABLE:
        if option in options:
            assert options[option] == [], option
    assert "--project-dir" in options and "--target" in options


def test_help_names_the_variables() -> None:
    result = CliRunner().invoke(main, ["sync", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for variable in DBT_VARIABLES.values():
        assert f"DBT_ENGINE_{variable[4:]}, {variable}" in text, variable


@pytest.mark.parametrize("command", ["sync", "plan", "runs", "show", "report", "debug", "forget"])
def test_every_option_says_what_it_does(command: str) -> None:
    cmd = main.commands[command]
    assert cmd.short_help and cmd.help, command
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip().endswith((".", ")")), (command, param.opts)
    result = CliRunner().invoke(main, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
