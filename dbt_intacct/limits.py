"""A guard limit (`max_removals`, `max_updates`): a count, or a percentage of the records a model tracks.

Read from intacct.yml (connections) and from the models' meta.intacct blocks (`sync.guard`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class Limit:
    """A count, or a percentage of the records a model tracks."""

    count: int | None = None
    percent: float | None = None

    def allowed(self, tracked: int) -> int:
        """The most changes this limit lets through for a model tracking `tracked` records."""
        if self.count is not None:
            return self.count
        assert self.percent is not None
        return int(tracked * self.percent / 100)

    def __str__(self) -> str:
        if self.count is not None:
            return str(self.count)
        return f"{self.percent:g}%"


def parse_limit(value: Any) -> Limit:
    """`50` or `"20%"` (or `"50"`); raises ValueError saying what is expected."""
    expected = f'must be a whole number of records (50) or a percentage ("20%"), got {value!r}'
    if isinstance(value, bool):
        raise ValueError(expected)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(expected)
        return Limit(count=value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return Limit(count=int(text))
        found = _PERCENT.match(text)
        if found and float(found.group(1)) <= 100:
            return Limit(percent=float(found.group(1)))
    raise ValueError(expected)
