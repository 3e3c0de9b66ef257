"""Fixtures of the emulator's own tests: one in-memory emulator per test worker, emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbt_intacct.emulator import EmulatorAdmin, EmulatorConfig, EmulatorServer
from tests.emulator.support import GatewayClient


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """An emulator on a free port, serving real HTTP on a background thread."""
    with EmulatorServer(EmulatorConfig(port=0)) as running:
        yield running


@pytest.fixture(scope="session")
def session_client(server: EmulatorServer) -> GatewayClient:
    client = GatewayClient(server.url)
    client.login()
    return client


@pytest.fixture
def admin(server: EmulatorServer) -> Iterator[EmulatorAdmin]:
    """The admin API, with records, counters and faults emptied before the test and faults after."""
    api = server.admin
    api.reset()
    yield api
    api.clear_faults()


@pytest.fixture
def gw(session_client: GatewayClient, admin: EmulatorAdmin) -> GatewayClient:
    """A logged-in client of an emptied emulator."""
    return session_client
