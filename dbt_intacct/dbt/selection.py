"""Node selection, resolved by dbt itself (`dbt ls`), never re-implemented."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from dbt_intacct.dbt.warehouse import DbtArgs
from dbt_intacct.errors import ConfigError


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    selector: str | None = None
    state: str | None = None

    @property
    def is_everything(self) -> bool:
        return not (self.select or self.exclude or self.selector)


def selected_unique_ids(args: DbtArgs, selection: Selection) -> set[str]:
    """The unique_ids of the models dbt selects for these flags."""
    from dbt.cli.main import dbtRunner

    argv: list[str] = [
        "--quiet",
        "--no-send-anonymous-usage-stats",
        "ls",
        "--project-dir",
        str(args.project_dir),
        "--profiles-dir",
        str(args.resolved_profiles_dir()),
        "--resource-type",
        "model",
        "--output",
        "json",
        "--output-keys",
        "unique_id",
    ]
    if args.target:
        argv += ["--target", args.target]
    if args.profile:
        argv += ["--profile", args.profile]
    if args.vars:
        argv += ["--vars", json.dumps(dict(args.vars))]
    argv += _repeat("--select", selection.select)
    argv += _repeat("--exclude", selection.exclude)
    if selection.selector:
        argv += ["--selector", selection.selector]
    if selection.state:
        argv += ["--state", selection.state]
    result = dbtRunner().invoke(argv)
    if not result.success:
        detail = f": {result.exception}" if result.exception else ""
        raise ConfigError(f"dbt could not resolve the selection{detail}")
    ids: set[str] = set()
    lines = result.result if isinstance(result.result, list) else []
    for line in lines:
        try:
            ids.add(str(json.loads(line)["unique_id"]))
        except (TypeError, ValueError, KeyError):
            continue
    return ids


def _repeat(flag: str, values: Sequence[str]) -> list[str]:
    if not values:
        return []
    return [flag, *values]
