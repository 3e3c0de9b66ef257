"""Node selection, resolved by dbt itself (`dbt ls`), never re-implemented."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from dbt_intacct.dbt.setup import prepare_dbt
from dbt_intacct.dbt.warehouse import DBT_QUIET, DbtArgs
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

    def describe(self) -> str:
        """The selection as the user gave it, for messages: `-s a b --exclude c`."""
        parts = []
        if self.select:
            parts.append("--select " + " ".join(self.select))
        if self.exclude:
            parts.append("--exclude " + " ".join(self.exclude))
        if self.selector:
            parts.append(f"--selector {self.selector}")
        if self.state:
            parts.append(f"--state {self.state}")
        return " ".join(parts)


def selected_unique_ids(args: DbtArgs, selection: Selection) -> set[str]:
    """The unique_ids of the models dbt selects for these flags."""
    prepare_dbt()
    from dbt.cli.main import dbtRunner

    # dbt prints `ls` results even with --quiet (DBT_QUIET): none of them belongs on the tool's stdout.
    argv = [*DBT_QUIET, "ls", *args.command_flags()]
    argv += ["--resource-type", "model", "--output", "json", "--output-keys", "unique_id"]
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
