"""Fixtures shared by the functional tests: the emulator over real HTTP, dbt projects on real warehouses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_intacct.cli import main
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.config import EmulatorConfig
from dbt_intacct.emulator.server import EmulatorServer
from tests.support.project import DbtProject

WAREHOUSES = ("duckdb", "postgres")


def _dbt_variables() -> set[str]:
    """Every environment variable an option of a command reads (dbt's DBT_TARGET and the like)."""
    names: set[str] = set()
    for command in main.commands.values():
        for param in command.params:
            if isinstance(param.envvar, str):
                names.add(param.envvar)
            elif param.envvar:
                names.update(param.envvar)
    return names


@pytest.fixture(autouse=True)
def _no_dbt_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DBT_TARGET or DBT_TARGET_PATH in the developer's shell must not change what a test runs."""
    for name in _dbt_variables():
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    """One emulator per test worker, on a free port, serving over real HTTP on a background thread."""
    with EmulatorServer(EmulatorConfig(port=0)) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Iterator[EmulatorAdmin]:
    """The worker's emulator, emptied of records, counters and faults for this test."""
    admin = emulator_server.admin
    admin.reset()
    admin.clear_faults()
    yield admin
    admin.clear_faults()


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if name == "postgres":
        request.applymarker(pytest.mark.postgres)
    return name


@pytest.fixture
def project(
    tmp_path: Path, warehouse: str, emulator: EmulatorAdmin, emulator_server: EmulatorServer
) -> Iterator[DbtProject]:
    proj = DbtProject(tmp_path / "proj", warehouse, emulator_server.url)
    yield proj
    proj.drop_postgres_schemas()
