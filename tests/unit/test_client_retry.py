"""RetryPolicy arithmetic and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dbt_intacct.client import RetryPolicy
from dbt_intacct.client.retry import parse_retry_after


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    for failed, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        draws = [policy.delay(failed, None, rng) for _ in range(200)]
        assert all(0.0 <= draw <= ceiling for draw in draws)
        # Full jitter spreads the draws over the whole range, not just near the ceiling.
        assert min(draws) < ceiling * 0.2 and max(draws) > ceiling * 0.8


def test_retry_after_is_a_floor_capped_by_max_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.01, max_retry_after=5.0)
    rng = random.Random(1)
    assert policy.delay(1, 2.0, rng) == 2.0
    assert policy.delay(1, 500.0, rng) == 5.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1)


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now) == 10.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
