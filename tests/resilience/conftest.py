"""Fixtures of the resilience tests: the seed of every random choice, printed so a run can be repeated."""

from __future__ import annotations

import pytest

from tests.resilience.dataset import SEED_VARIABLE, seed_from_environment


@pytest.fixture(scope="session")
def seed() -> int:
    value = seed_from_environment()
    print(f"\nresilience seed {value} (set {SEED_VARIABLE} to vary it)")
    return value
