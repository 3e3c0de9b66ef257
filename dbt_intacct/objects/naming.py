"""Suggesting the closest valid names ("did you mean ...?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

_CUTOFF = 0.6
_MARGIN = 0.1  # names this much less similar than the best one are not worth suggesting


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` choices closest to `name`, best first (ties alphabetical); case is ignored, so
    `customerid` finds `CUSTOMERID`."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    wanted = name.lower()
    if wanted in by_lower:
        return [by_lower[wanted]]
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(wanted)
    scored: list[tuple[float, str]] = []
    for lowered, choice in by_lower.items():
        matcher.set_seq1(lowered)
        if matcher.real_quick_ratio() >= _CUTOFF and matcher.quick_ratio() >= _CUTOFF:
            ratio = matcher.ratio()
            if ratio >= _CUTOFF:
                scored.append((ratio, choice))
    if not scored:
        return []
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0][0]
    return [choice for ratio, choice in scored[:n] if ratio >= best - _MARGIN]
