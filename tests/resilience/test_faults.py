"""Every fault the emulator can inject, alone and mixed at random (issue 5): the sync converges with
nothing duplicated or lost, within bounded retries, and reports what it met and survived.

One dbt project (60 customers, 30 journal entries, batches of 10) is built once per worker; each case
empties the emulator, syncs into a state schema of its own through its fault, and reruns while a run
exits non-zero (at most six runs). `-s` prints one line per case.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from tests.resilience.dataset import Dataset, write_dataset, write_models
from tests.resilience.faults import (
    MAX_RETRIES,
    MAX_RUNS,
    SINGLE_CASES,
    FaultCase,
    FaultOutcome,
    mixed_case,
    run_case,
)
from tests.resilience.wiretap import WireTap
from tests.support.project import DbtProject

pytestmark = pytest.mark.slow

# A request is sent at most max_retries + 1 times, plus once more after its session was refused.
MAX_SENDS = MAX_RETRIES + 2
CLIENT_FAULT_KINDS = {
    "rate_limited",
    "http_500",
    "http_502",
    "http_503",
    "http_524",
    "connection_dropped",
    "read_timeout",
    "session_expired",
}


@dataclass
class FaultBench:
    project: DbtProject
    server: EmulatorServer
    tap: WireTap
    dataset: Dataset


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory, seed: int) -> Iterator[FaultBench]:
    """One project and one emulator (behind a WireTap) per worker; each case empties the emulator."""
    root: Path = tmp_path_factory.mktemp("faults")
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as tap:
        project = DbtProject(root / "proj", "duckdb", tap.url())
        dataset = Dataset.generate(random.Random(seed), customers=60, entries=30)
        write_models(project)
        write_dataset(project, dataset)
        project.build()
        yield FaultBench(project, server, tap, dataset)


def run(bench: FaultBench, case: FaultCase, seed: int) -> FaultOutcome:
    outcome = run_case(bench.project, bench.server.admin, bench.tap, bench.dataset, case, seed)
    print("\n" + outcome.describe())
    return outcome


def assert_converged_exactly_once(outcome: FaultOutcome) -> None:
    description = outcome.describe()
    assert outcome.exit_codes[-1] == 0 and outcome.runs <= MAX_RUNS, description
    assert outcome.verdict.ok, description
    assert outcome.idle_writes == 0, "once converged, nothing is left to write"
    assert max(outcome.sends_per_request.values()) <= MAX_SENDS, description


@pytest.mark.parametrize("case", SINGLE_CASES, ids=[c.name for c in SINGLE_CASES])
def test_each_fault_alone_is_survived_exactly_once_and_reported(
    bench: FaultBench, case: FaultCase, seed: int
) -> None:
    outcome = run(bench, case, seed)
    assert_converged_exactly_once(outcome)
    for kind in case.reported:
        assert outcome.reported[kind] >= 1, f"the sync did not report meeting {kind}: {outcome.describe()}"
    kind = case.reported[0]
    if case.injected is not None:
        # Every fault the emulator injected reached the client and was reported, once.
        assert outcome.reported[kind] == outcome.injected[case.injected], outcome.describe()
    if case.cut_probability:
        assert outcome.reported[kind] == outcome.cuts, outcome.describe()
    assert set(outcome.survived) <= set(outcome.reported)
    assert sum(outcome.survived.values()) <= sum(outcome.reported.values())
    # A refused session is renewed and the request resent at once, not counted as a retry.
    assert outcome.retries >= (0 if kind == "session_expired" else 1)


@pytest.mark.parametrize("mix", [1, 2, 3])
def test_every_fault_mixed_at_random_is_survived_exactly_once(bench: FaultBench, seed: int, mix: int) -> None:
    case = mixed_case(random.Random(seed * 10 + mix), f"mixed-{mix}")
    outcome = run(bench, case, seed + mix)
    assert_converged_exactly_once(outcome)
    assert sum(outcome.injected.values()) + outcome.cuts >= 1, outcome.describe()
    assert set(outcome.reported) <= CLIENT_FAULT_KINDS, outcome.describe()
    assert sum(outcome.reported.values()) >= 1, outcome.describe()
