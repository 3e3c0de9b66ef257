"""How long to wait before sending a request again: exponential backoff, full jitter, Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for retrying one request after transient failures.

    ``max_attempts`` counts every send of the request, the first one included. The wait before
    attempt n+1 is a uniform draw in ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full jitter",
    so that parallel clients do not retry in step), but never less than the server's ``Retry-After``
    (itself capped at ``max_retry_after``). No retry starts once ``max_total`` seconds have passed
    since the first attempt, or would start after that.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    max_total: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("base_delay", "max_delay", "max_retry_after", "max_total"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")

    def delay(self, failed_attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after ``failed_attempts`` failures (1 after the first failure)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(failed_attempts - 1, 0))
        wait = rng.uniform(0.0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
