"""Fixtures shared by the functional tests: the emulator over real HTTP, dbt projects on real warehouses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_intacct.cli import main
from dbt_intacct.dbt.setup import prepare_dbt
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.config import EmulatorConfig
from dbt_intacct.emulator.server import EmulatorServer
from tests.support.project import DbtProject

# The dbt commands the tests run in-process (build, seed) set up as the tool sets up its own.
prepare_dbt()

WAREHOUSES = ("duckdb", "postgres")
SPARK_GROUP = "spark"


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on Spark is marked `spark` and put in one xdist group (before pytest-xdist reads the
    groups), so that one worker runs them all on its one SparkSession."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_spark = callspec is not None and callspec.params.get("warehouse") == "spark"
        if on_spark or item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.spark)
            if item.get_closest_marker("xdist_group") is None:  # a group of its own: no worker's session
                item.add_marker(pytest.mark.xdist_group(SPARK_GROUP))


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if name == "postgres":
        request.applymarker(pytest.mark.postgres)
    return name


@pytest.fixture(scope="session")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worker's Spark directory (warehouse, Derby metastore): its SparkSession is started here, once."""
    from tests.support import spark

    home = tmp_path_factory.mktemp("spark")
    spark.session(home)
    return home


@pytest.fixture
def state_writes() -> str | None:
    """The write strategy the project forces (`dbt_intacct_state_writes`); None: the warehouse's own.
    A test runs in append mode with `@pytest.mark.parametrize("state_writes", ["append"])`."""
    return None


@pytest.fixture
def project(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse: str,
    emulator: EmulatorAdmin,
    emulator_server: EmulatorServer,
    state_writes: str | None,
) -> Iterator[DbtProject]:
    spark_home = request.getfixturevalue("spark_home") if warehouse == "spark" else None
    proj = DbtProject(
        tmp_path / "proj", warehouse, emulator_server.url, state_writes=state_writes, spark_home=spark_home
    )
    yield proj
    proj.drop_postgres_schemas()
