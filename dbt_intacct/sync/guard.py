"""The guard against mass changes: a model whose run would remove or update too much of what it tracks
is held (nothing of it sent) until someone looks, or lifts the guard for one run.

A limit is a count (`max_removals: 50`) or a share of the records the model tracks (`"20%"`). It is set
per model or folder (`meta.intacct` / `meta.intacct_defaults`) or per connection (intacct.yml); the
model's wins. Without one, a model is held when its deletes plus clears exceed 20% of its records and
are at least 10, or when its relation is empty while it tracks records. `--allow-large-changes` lifts
the guard for one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dbt_intacct.limits import Limit, parse_limit

GUARD_KEYS = ("max_removals", "max_updates")
DEFAULT_REMOVALS_PERCENT = 20.0
DEFAULT_REMOVALS_FLOOR = 10  # the default never holds fewer removals than this
HELD = "held"


@dataclass(frozen=True)
class GuardLimits:
    """The limits one model runs under (None: the default for removals, no limit for updates)."""

    max_removals: Limit | None = None
    max_updates: Limit | None = None

    def over(self, other: GuardLimits) -> GuardLimits:
        """These limits, each falling back to `other`'s (a model's over its connection's)."""
        return GuardLimits(
            max_removals=self.max_removals or other.max_removals,
            max_updates=self.max_updates or other.max_updates,
        )


def parse_limits(settings: Any, problem: Any) -> GuardLimits:
    """The limits in a mapping (a meta.intacct block, a connection); `problem(key, text)` for mistakes."""
    found: dict[str, Limit | None] = {}
    for key in GUARD_KEYS:
        raw = settings.get(key) if hasattr(settings, "get") else None
        if raw is None:
            found[key] = None
            continue
        try:
            found[key] = parse_limit(raw)
        except ValueError as exc:
            problem(key, str(exc))
            found[key] = None
    return GuardLimits(**found)


def connection_limits(connection: Any) -> GuardLimits:
    """A connection's limits (intacct.yml, validated when it was read)."""
    return GuardLimits(
        max_removals=None if connection.max_removals is None else parse_limit(connection.max_removals),
        max_updates=None if connection.max_updates is None else parse_limit(connection.max_updates),
    )


@dataclass(frozen=True)
class Changes:
    """What a model's run would do to the records it tracks."""

    tracked: int  # records the state tracks in Intacct for the model
    rows: int  # rows in the model's relation
    removals: int  # deletes, clears and reversals of records in Intacct
    updates: int  # updates of records the state knows


def held_reason(limits: GuardLimits, changes: Changes) -> str | None:
    """Why the guard holds the model, or None when it may run."""
    tracked = changes.tracked
    if tracked and changes.rows == 0:
        return (
            f"held: its relation is empty while the state tracks {tracked} record(s) in Intacct; a model "
            "that lost every row is more likely broken than emptied. Nothing of it was sent; fix the "
            "model, or pass --allow-large-changes to let this run go through"
        )
    reasons = []
    removals = limits.max_removals
    if removals is None:
        allowed = int(tracked * DEFAULT_REMOVALS_PERCENT / 100)
        if changes.removals > allowed and changes.removals >= DEFAULT_REMOVALS_FLOOR:
            reasons.append(
                f"{changes.removals} of its {tracked} record(s) would be deleted, cleared or reversed, "
                f"more than {DEFAULT_REMOVALS_PERCENT:g}% (the default max_removals)"
            )
    elif changes.removals > removals.allowed(tracked):
        reasons.append(
            f"{changes.removals} of its {tracked} record(s) would be deleted, cleared or reversed, "
            f"more than max_removals {removals}"
            + (f" ({removals.allowed(tracked)})" if removals.percent is not None else "")
        )
    updates = limits.max_updates
    if updates is not None and changes.updates > updates.allowed(tracked):
        reasons.append(
            f"{changes.updates} of its {tracked} record(s) would be updated, more than max_updates "
            f"{updates}" + (f" ({updates.allowed(tracked)})" if updates.percent is not None else "")
        )
    if not reasons:
        return None
    return (
        "held: "
        + "; ".join(reasons)
        + ". Nothing of it was sent; check the model, raise the limit, or pass --allow-large-changes to "
        "let this run go through"
    )
