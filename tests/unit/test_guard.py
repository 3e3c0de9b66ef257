"""The guard's limits: parsed from a count or a percentage, and when they hold a model."""

from __future__ import annotations

import pytest

from dbt_intacct.limits import Limit, parse_limit
from dbt_intacct.sync.guard import Changes, GuardLimits, held_reason, parse_limits


@pytest.mark.parametrize(
    ("value", "limit"),
    [
        (0, Limit(count=0)),
        (50, Limit(count=50)),
        ("50", Limit(count=50)),
        ("20%", Limit(percent=20.0)),
        (" 2.5 % ", Limit(percent=2.5)),
        ("100%", Limit(percent=100.0)),
    ],
)
def test_limits_parse(value: object, limit: Limit) -> None:
    assert parse_limit(value) == limit


@pytest.mark.parametrize("value", [-1, True, "lots", "101%", "%", "-5%", 1.5, [], "20 percent"])
def test_bad_limits_say_what_is_expected(value: object) -> None:
    with pytest.raises(ValueError, match=r'a percentage \("20%"\)'):
        parse_limit(value)


def test_parse_limits_reports_each_mistake_by_key() -> None:
    problems: list[tuple[str, str]] = []
    limits = parse_limits({"max_removals": "10%", "max_updates": "x"}, lambda k, t: problems.append((k, t)))
    assert limits == GuardLimits(max_removals=Limit(percent=10.0))
    assert [k for k, _ in problems] == ["max_updates"]


def test_a_percentage_is_of_the_records_tracked_and_a_model_wins_over_its_connection() -> None:
    assert Limit(percent=20).allowed(24) == 4
    assert Limit(count=3).allowed(1000) == 3
    model = GuardLimits(max_updates=Limit(count=5))
    connection = GuardLimits(max_removals=Limit(count=1), max_updates=Limit(count=100))
    assert model.over(connection) == GuardLimits(max_removals=Limit(count=1), max_updates=Limit(count=5))


def test_the_default_holds_more_than_20_percent_and_at_least_10_removals() -> None:
    default = GuardLimits()
    assert held_reason(default, Changes(tracked=24, rows=12, removals=12, updates=0)) is not None
    assert held_reason(default, Changes(tracked=24, rows=20, removals=4, updates=0)) is None  # 17%
    assert held_reason(default, Changes(tracked=5, rows=3, removals=2, updates=0)) is None  # under 10
    assert held_reason(default, Changes(tracked=100, rows=80, removals=20, updates=0)) is None  # exactly 20%
    assert held_reason(default, Changes(tracked=100, rows=79, removals=21, updates=0)) is not None
    assert held_reason(default, Changes(tracked=100, rows=100, removals=0, updates=100)) is None


def test_an_empty_relation_is_held_while_it_tracks_records() -> None:
    reason = held_reason(GuardLimits(), Changes(tracked=3, rows=0, removals=0, updates=0))
    assert reason is not None and "relation is empty" in reason


def test_configured_limits_are_taken_as_written() -> None:
    limits = GuardLimits(max_removals=Limit(count=1), max_updates=Limit(percent=10))
    reason = held_reason(limits, Changes(tracked=50, rows=48, removals=2, updates=6))
    assert reason is not None
    assert "more than max_removals 1" in reason and "more than max_updates 10% (5)" in reason
    assert held_reason(limits, Changes(tracked=50, rows=49, removals=1, updates=5)) is None
