"""Suggesting the closest valid names ("did you mean ...?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` choices closest to `name`, best first; case is ignored (`customerid` finds `CUSTOMERID`)."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    wanted = name.lower()
    if wanted in by_lower:
        return [by_lower[wanted]]
    matches = difflib.get_close_matches(wanted, list(by_lower), n=n, cutoff=0.6)
    if not matches:
        return []
    # Keep only the names about as close as the best one, so a clear winner is suggested alone.
    best = difflib.SequenceMatcher(None, wanted, matches[0]).ratio()
    return [
        by_lower[match]
        for match in matches
        if difflib.SequenceMatcher(None, wanted, match).ratio() >= best - 0.1
    ]
