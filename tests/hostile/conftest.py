"""The hostile gateway's bench: one emulator with distinctive passwords, the gateway in front of it, and a
small dbt project built once per worker; each case gets a copy of that project (its own warehouse file,
target/ and state) and an emptied emulator."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from tests.hostile.convergence import SENDER_ID, SENDER_PASSWORD, USER_PASSWORD, credentials
from tests.resilience.dataset import Dataset, write_dataset, write_models
from tests.resilience.processes import build_released
from tests.resilience.wiretap import WireTap
from tests.support.project import DbtProject


@dataclass
class HostileBench:
    server: EmulatorServer
    gateway: WireTap
    template: Path  # a built project, copied for each case
    dataset: Dataset

    def project(self, root: Path) -> DbtProject:
        """A fresh copy of the built project at `root`, its intacct.yml pointed at the gateway."""
        shutil.copytree(self.template, root)
        project_yml = (root / "dbt_project.yml").read_text()
        project = DbtProject(root, "duckdb", self.gateway.url())  # rewrites profiles.yml for `root`
        (root / "dbt_project.yml").write_text(project_yml)
        credentials(project)
        # The copy's manifest still describes the project: say so, or every case would parse it again.
        os.utime(root / "target" / "manifest.json")
        return project


@pytest.fixture(scope="session")
def hostile_bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileBench]:
    config = EmulatorConfig(
        port=0, sender_id=SENDER_ID, sender_password=SENDER_PASSWORD, user_password=USER_PASSWORD
    )
    with EmulatorServer(config) as server, WireTap(server.base_url) as gateway:
        template = tmp_path_factory.mktemp("hostile") / "template"
        project = DbtProject(template, "duckdb", gateway.url())
        dataset = Dataset.generate(random.Random(13), customers=5, entries=3)
        write_models(project)
        write_dataset(project, dataset)
        build_released(project)
        yield HostileBench(server, gateway, template, dataset)


@pytest.fixture
def bench(hostile_bench: HostileBench) -> Iterator[HostileBench]:
    hostile_bench.server.admin.reset()
    hostile_bench.server.admin.clear_faults()
    hostile_bench.gateway.tamper = None
    yield hostile_bench
    hostile_bench.gateway.tamper = None
