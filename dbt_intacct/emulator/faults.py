"""Injectable faults, changeable while the emulator runs.

Each fault fires for "the next K requests" and/or with a probability per request, drawn from a
seeded random generator so that a run can be repeated. Latency (with jitter) and the concurrency
limit are settings rather than events. Only gateway requests see faults; the admin API never does.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Refused before the request is read or run: nothing is applied.
BEFORE = ("http_429", "rate_limit_body", "http_500", "http_502", "http_503")
# After the request's transaction is committed: it is applied, the answer is lost.
AFTER = ("http_524_after_commit", "drop_after_commit")
# Asked only for session-authenticated requests: the session ends and authentication fails.
SESSION = ("expire_session",)
KINDS = BEFORE + AFTER + SESSION
SETTINGS = ("latency_ms", "jitter_ms", "concurrency_limit", "retry_after_seconds")


class FaultSettingsError(ValueError):
    """A fault setting that cannot be applied; the message says which and why."""


@dataclass
class FaultRule:
    """When one fault fires: after letting ``skip`` requests through, for the next ``next`` requests,
    then with ``probability`` per request."""

    probability: float = 0.0
    next: int = 0
    skip: int = 0


class FaultPlan:
    """The faults in force. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._random = random.Random(seed)
        self._rules = {kind: FaultRule() for kind in KINDS}
        self._settings = dict.fromkeys(SETTINGS, 0.0)
        self._settings["retry_after_seconds"] = 1.0
        self.injected: Counter[str] = Counter()

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Change some faults or settings; keys not given stay as they are. Checks everything first."""
        rules: dict[str, FaultRule] = {}
        settings: dict[str, float] = {}
        for key, value in changes.items():
            if key == "seed":
                if value is not None and not isinstance(value, int):
                    raise FaultSettingsError("seed must be a whole number or null")
            elif key in SETTINGS:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise FaultSettingsError(f"{key} must be a number of 0 or more")
                settings[key] = float(value)
            elif key in KINDS:
                rules[key] = _rule(key, value, self._rules[key])
            else:
                known = ", ".join(("seed", *SETTINGS, *KINDS))
                raise FaultSettingsError(f"unknown fault setting '{key}'; expected one of {known}")
        with self._lock:
            if "seed" in changes:
                self._seed = changes["seed"]
                self._random = random.Random(self._seed)
            self._rules.update(rules)
            self._settings.update(settings)

    def clear(self) -> None:
        """No faults, no latency, no concurrency limit (the seed and counts stay)."""
        with self._lock:
            self._rules = {kind: FaultRule() for kind in KINDS}
            self._settings = dict.fromkeys(SETTINGS, 0.0)
            self._settings["retry_after_seconds"] = 1.0

    def describe(self) -> dict[str, Any]:
        """The plan as JSON-ready data (the admin API's answer)."""
        with self._lock:
            return {
                "seed": self._seed,
                **{key: _number(value) for key, value in self._settings.items()},
                **{
                    kind: {"probability": rule.probability, "next": rule.next, "skip": rule.skip}
                    for kind, rule in self._rules.items()
                },
                "injected": dict(self.injected),
            }

    def setting(self, name: str) -> float:
        """One of latency_ms, jitter_ms, concurrency_limit, retry_after_seconds."""
        with self._lock:
            return self._settings[name]

    def delay_seconds(self) -> float:
        """How long to hold this request: latency plus a uniform jitter."""
        with self._lock:
            latency, jitter = self._settings["latency_ms"], self._settings["jitter_ms"]
            extra = self._random.uniform(0, jitter) if jitter else 0.0
        return (latency + extra) / 1000

    def fires(self, kind: str) -> bool:
        """Whether this fault fires for the current request (and count it when it does)."""
        with self._lock:
            rule = self._rules[kind]
            fired = False
            if rule.skip > 0:
                rule.skip -= 1
                return False
            if rule.next > 0:
                rule.next -= 1
                fired = True
            elif rule.probability > 0 and self._random.random() < rule.probability:
                fired = True
            if fired:
                self.injected[kind] += 1
            return fired

    def first_of(self, kinds: tuple[str, ...]) -> str | None:
        """The first of these faults that fires for the current request, if any."""
        for kind in kinds:
            if self.fires(kind):
                return kind
        return None

    def count(self, kind: str) -> None:
        """Count a fault decided outside ``fires`` (the concurrency limit)."""
        with self._lock:
            self.injected[kind] += 1


def _rule(kind: str, value: Any, current: FaultRule) -> FaultRule:
    if isinstance(value, int | float) and not isinstance(value, bool):  # a bare number is a probability
        value = {"probability": value}
    if not isinstance(value, Mapping):
        raise FaultSettingsError(f'{kind} must be an object like {{"probability": 0.1, "next": 2}}')
    unknown = set(value) - {"probability", "next", "skip"}
    if unknown:
        raise FaultSettingsError(
            f"{kind}: unknown key(s) {', '.join(sorted(unknown))}; use probability, next and skip"
        )
    probability = value.get("probability", current.probability)
    upcoming = value.get("next", current.next)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise FaultSettingsError(f"{kind}.probability must be a number from 0 to 1")
    if isinstance(upcoming, bool) or not isinstance(upcoming, int) or upcoming < 0:
        raise FaultSettingsError(f"{kind}.next must be a whole number of 0 or more")
    skip = value.get("skip", current.skip)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise FaultSettingsError(f"{kind}.skip must be a whole number of 0 or more")
    return FaultRule(float(probability), upcoming, skip)


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value
