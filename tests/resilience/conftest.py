"""Fixtures of the resilience tests: the seed of every random choice, printed so a run can be repeated;
an emulator per module, emptied for each test (`admin`), and a WireTap in front of it (`tap`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.resilience.dataset import SEED_VARIABLE, seed_from_environment
from tests.resilience.wiretap import WireTap


@pytest.fixture(scope="session")
def seed() -> int:
    value = seed_from_environment()
    print(f"\nresilience seed {value} (set {SEED_VARIABLE} to vary it)")
    return value


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0)) as running:
        yield running


@pytest.fixture
def admin(server: EmulatorServer) -> EmulatorAdmin:
    """The module's emulator, emptied of records and faults for this test."""
    server.admin.reset()
    server.admin.clear_faults()
    return server.admin


@pytest.fixture
def tap(server: EmulatorServer, admin: EmulatorAdmin) -> Iterator[WireTap]:
    with WireTap(server.base_url) as running:
        yield running
