"""Options shared by the commands, named and behaving as dbt names them.

An option named like one of dbt's reads the environment variables dbt-core 1.11 reads for it
(`DBT_ENGINE_TARGET`, then `DBT_TARGET`); as in dbt, the flag wins over the variable, the variable over
the default.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from dbt_intacct.dbt.selection import Selection
from dbt_intacct.dbt.warehouse import DbtArgs

F = TypeVar("F", bound=Callable[..., Any])

COMMAND_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def dbt_variables(name: str) -> list[str]:
    """The variables dbt-core 1.11 reads for its option documented with DBT_X: DBT_ENGINE_X, then DBT_X."""
    return [name.replace("DBT_", "DBT_ENGINE_", 1), name]


def dbt_option(*decls: str, variable: str, **attrs: Any) -> Callable[[F], F]:
    """A click option that, like dbt's option of the same name, also reads `variable` (shown in --help)."""
    return click.option(*decls, envvar=dbt_variables(variable), show_envvar=True, **attrs)


class MultiOption(click.Option):
    """An option that, like dbt's `--select`, takes every following word up to the next option.

    `-s a b -s c` and `--select "a b"` both give ("a", "b", "c").
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("multiple", True)
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            original = option.process
            prefixes = tuple(option.prefixes)

            def process(value: Any, state: Any, _original: Any = original, _prefixes: Any = prefixes) -> None:
                words = [value]
                while state.rargs and not str(state.rargs[0]).startswith(_prefixes):
                    words.append(state.rargs.pop(0))
                for word in words:
                    _original(word, state)

            option.process = process
            break

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        values = super().type_cast_value(ctx, value) or ()
        return tuple(part for item in values for part in str(item).split() if part)


def _parse_vars(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"not valid YAML: {exc}") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a YAML mapping, e.g. '{key: value}'")
    return parsed


def dbt_project_options(func: F) -> F:
    """--project-dir, --profiles-dir, --target, --profile, --vars, --target-path."""
    options = [
        dbt_option(
            "--project-dir",
            variable="DBT_PROJECT_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("."),
            show_default=True,
            help="The dbt project (the directory with dbt_project.yml).",
        ),
        dbt_option(
            "--profiles-dir",
            variable="DBT_PROFILES_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where profiles.yml and intacct.yml are (default: the project, else ~/.dbt).",
        ),
        dbt_option(
            "--target",
            "-t",
            variable="DBT_TARGET",
            default=None,
            help="The dbt target to use (default: the profile's).",
        ),
        dbt_option(
            "--profile",
            variable="DBT_PROFILE",
            default=None,
            help="The dbt profile to use (default: the project's).",
        ),
        click.option("--vars", callback=_parse_vars, default=None, help="dbt variables, as a YAML mapping."),
        dbt_option(
            "--target-path",
            variable="DBT_TARGET_PATH",
            default="target",
            show_default=True,
            help="dbt's target directory, relative to the project: manifest.json is read from it, the "
            "tool's results, progress and report are written to it.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def selection_options(func: F) -> F:
    """--select, --exclude, --selector, --state: resolved by dbt itself."""
    options = [
        click.option("--select", "-s", cls=MultiOption, help="Models to sync, in dbt's selection syntax."),
        click.option("--exclude", cls=MultiOption, help="Models to leave out, in dbt's selection syntax."),
        click.option("--selector", default=None, help="A selector defined in selectors.yml."),
        dbt_option(
            "--state",
            variable="DBT_STATE",
            type=click.Path(file_okay=False),
            default=None,
            help="A directory with a previous manifest.json, for state: selectors.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def state_schema_option(func: F) -> F:
    """--state-schema: where the tool's own tables are."""
    return click.option(
        "--state-schema",
        default=None,
        help="Schema of the tool's own tables (default: intacct.yml's state_schema, "
        "else <target schema>_intacct).",
    )(func)


def parse_option(func: F) -> F:
    """--parse/--no-parse: whether an out-of-date manifest is parsed again first."""
    return click.option(
        "--parse/--no-parse",
        default=True,
        show_default=True,
        help="Run dbt's parse first when target/manifest.json is missing, older than a project file or "
        "made for another target; --no-parse uses it as it is (CI right after `dbt build`).",
    )(func)


def company_check_option(func: F) -> F:
    """--no-company-check: skip reading the company's object definitions before sending."""
    return click.option(
        "--no-company-check",
        is_flag=True,
        help="Do not check the mapped fields and custom fields against the company's object definitions "
        "(read from Intacct once a day) first.",
    )(func)


def _log_format(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # dbt's `default` and `debug` formats are text here: a DBT_LOG_FORMAT set for dbt never stops a sync.
    return "json" if value == "json" else "text"


log_format_option = dbt_option(
    "--log-format",
    variable="DBT_LOG_FORMAT",
    type=click.Choice(["text", "json", "default", "debug"], case_sensitive=False),
    default="text",
    show_default=True,
    callback=_log_format,
    help="text: progress and a summary for people; json: one JSON event per line for machines "
    "(dbt's default and debug: text).",
)


def dbt_args(kwargs: dict[str, Any]) -> DbtArgs:
    """The dbt-named options of a command as the values the dbt package takes."""
    return DbtArgs(
        project_dir=Path(kwargs["project_dir"]).resolve(),
        profiles_dir=Path(kwargs["profiles_dir"]).resolve() if kwargs["profiles_dir"] else None,
        target=kwargs["target"],
        profile=kwargs["profile"],
        vars=kwargs["vars"] or {},
    )


def selection(kwargs: dict[str, Any]) -> Selection:
    """--select, --exclude, --selector and --state of a command, for dbt to resolve."""
    return Selection(
        select=tuple(kwargs["select"] or ()),
        exclude=tuple(kwargs["exclude"] or ()),
        selector=kwargs["selector"],
        state=kwargs["state"],
    )
