"""Seeing the project as it is: `target/manifest.json` parsed again by dbt when it is out of date.

dbt parses the project before every command; `plan` and `sync` read the manifest instead, so they first
check that it describes the files on disk and the target asked for, and run dbt's own `parse` (partial
parsing: only what changed is parsed again) when it does not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_intacct.dbt.setup import prepare_dbt
from dbt_intacct.dbt.warehouse import DBT_QUIET, DbtArgs
from dbt_intacct.errors import ConfigError

# What dbt reads when it parses: code, YAML, seeds, docs. Anything else (a DuckDB file, logs) is not parsed.
_PARSED_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md", ".py", ".jinja", ".jinja2"})
# Directories of a project dbt never parses, or that only tools write to.
_NEVER_PARSED = frozenset({"logs", "node_modules", "venv", "__pycache__"})
# Files next to the project that are not dbt's.
_NOT_DBT_FILES = frozenset({"intacct.yml"})


@dataclass(frozen=True)
class Freshness:
    """Why the manifest must be parsed again, or None when it describes the project as it is."""

    reason: str | None


def manifest_freshness(args: DbtArgs, manifest: Path, target_path: str) -> Freshness:
    """Whether `manifest` describes the project's files and the target `args` ask for."""
    if not manifest.exists():
        return Freshness(f"{_shown(manifest, args.project_dir)} does not exist")
    made = manifest.stat().st_mtime_ns
    newer = _newer_file(args, made, target_path)
    if newer is not None:
        return Freshness(f"{newer} changed after {_shown(manifest, args.project_dir)} was written")
    other = _other_target(args, manifest)
    if other is not None:
        return Freshness(other)
    return Freshness(None)


def require_project(project_dir: Path) -> None:
    """A directory without dbt_project.yml is not a dbt project: said before dbt is asked to parse it."""
    if not (project_dir / "dbt_project.yml").is_file():
        raise ConfigError(
            f"{project_dir} is not a dbt project: it has no dbt_project.yml. Run dbt-intacct in the "
            "project's directory, or name it with --project-dir (or DBT_PROJECT_DIR)"
        )


def parse_project(args: DbtArgs, target_path: str) -> None:
    """`dbt parse` for the target asked for, through dbt's runner; a project dbt cannot parse is a
    configuration error carrying dbt's own message."""
    prepare_dbt()
    from dbt.cli.main import dbtRunner

    argv = [*DBT_QUIET, "parse", *args.command_flags(), "--target-path", target_path]
    result = dbtRunner().invoke(argv)
    if not result.success:
        detail = f": {result.exception}" if result.exception else ""
        raise ConfigError(
            f"dbt could not parse the project{detail}. Fix it (`dbt parse` shows the same), or pass "
            "--no-parse to use the manifest as it is"
        )


def _newer_file(args: DbtArgs, made: int, target_path: str) -> str | None:
    """The first file dbt parses that changed after the manifest was written, as the user would name it."""
    project = args.project_dir
    skip = {(project / target_path).resolve()}
    for path in _parsed_files(project, skip):
        if _mtime(path) > made:
            return _shown(path, project)
    profiles = args.resolved_profiles_dir() / "profiles.yml"
    if _mtime(profiles) > made:
        return _shown(profiles, project)
    return None


def _parsed_files(root: Path, skip: set[Path]) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = [
            d
            for d in subdirs
            if not d.startswith(".") and d not in _NEVER_PARSED and (here / d).resolve() not in skip
        ]
        for name in files:
            if Path(name).suffix in _PARSED_SUFFIXES and name not in _NOT_DBT_FILES:
                yield here / name


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _other_target(args: DbtArgs, manifest: Path) -> str | None:
    """Why the manifest was made for another target than the one asked for (its models' relations are
    in another database or schema), or None."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{_shown(manifest, args.project_dir)} cannot be read"
    models = [n for n in (data.get("nodes") or {}).values() if n.get("resource_type") == "model"]
    if not models:
        return None
    database, schema = _target_location(args)
    if any(_built_in(node, database, schema) for node in models):
        return None
    first = models[0]
    where = ".".join(str(p) for p in (first.get("database"), first.get("schema")) if p)
    return (
        f"{_shown(manifest, args.project_dir)} was made for another target (its models are in {where}, "
        f"the target's schema is {'.'.join(p for p in (database, schema) if p)})"
    )


def _built_in(node: Mapping[str, Any], database: str | None, schema: str) -> bool:
    """Whether dbt would build this model in `database`.`schema` (dbt's default schema names: the target's
    schema, or `<target schema>_<custom schema>`)."""
    node_database = node.get("database")
    if database and node_database and str(node_database).lower() != database.lower():
        return False
    custom = (node.get("config") or {}).get("schema")
    expected = {schema.lower()} if not custom else {f"{schema}_{custom}".lower(), str(custom).lower()}
    return str(node.get("schema") or "").lower() in expected


def _target_location(args: DbtArgs) -> tuple[str | None, str]:
    """The database and schema of the target asked for, as dbt renders the profile."""
    from argparse import Namespace

    prepare_dbt()
    from dbt.config.runtime import RuntimeConfig
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import DbtBaseException

    ns = Namespace(
        project_dir=str(args.project_dir),
        profiles_dir=str(args.resolved_profiles_dir()),
        target=args.target,
        profile=args.profile,
        vars=dict(args.vars),
        threads=1,
        which="parse",
        log_level="none",
        log_level_file="none",
        send_anonymous_usage_stats=False,
    )
    set_from_args(ns, None)
    set_invocation_context(dict(os.environ))
    try:
        config = RuntimeConfig.from_args(ns)
    except DbtBaseException as exc:
        raise ConfigError(f"dbt could not load the project or profile: {exc}") from exc
    credentials = config.credentials
    database = getattr(credentials, "database", None)
    return (str(database) if database else None), str(credentials.schema)


def _shown(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)
