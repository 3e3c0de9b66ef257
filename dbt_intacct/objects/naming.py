"""Suggesting the closest valid names ("did you mean ...?")."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_CUTOFF = 0.6
_MARGIN = 0.1  # names this much less similar than the best one are not worth suggesting
_TOKENS = re.compile(r"[^a-z0-9]+")


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` choices closest to `name`, best first (ties alphabetical); case is ignored, so
    `customerid` finds `CUSTOMERID`.

    A dotted choice is also compared by its last part (`EMAIL1` of `DISPLAYCONTACT.EMAIL1`), a name
    that is a choice with a number left off finds it (`EMAIL` finds `EMAIL1`), and one of a name's words
    that is a whole choice finds it (`CUSTOMER_NAME` finds `NAME`): the mistakes people make most.
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    wanted = name.lower()
    if wanted in by_lower:
        return [by_lower[wanted]]
    words = {word for word in _TOKENS.split(wanted) if len(word) > 1}
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(wanted)
    scored: list[tuple[float, str]] = []
    for lowered, choice in by_lower.items():
        score = _score(wanted, words, lowered, matcher)
        if score >= _CUTOFF:
            scored.append((score, choice))
    if not scored:
        return []
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0][0]
    return [choice for ratio, choice in scored[:n] if ratio >= best - _MARGIN]


def _score(wanted: str, words: set[str], choice: str, matcher: difflib.SequenceMatcher[str]) -> float:
    leaf = choice.rsplit(".", 1)[-1]
    if leaf == wanted:
        return 0.99  # the right field under another group
    if leaf.rstrip("0123456789") == wanted and leaf != wanted:
        return 0.95  # EMAIL -> EMAIL1
    if leaf in words:
        return 0.9  # CUSTOMER_NAME -> NAME
    best = 0.0
    for candidate in {choice, leaf}:
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() >= _CUTOFF and matcher.quick_ratio() >= _CUTOFF:
            best = max(best, matcher.ratio())
    return best
