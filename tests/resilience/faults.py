"""Faults, alone and mixed: which to inject, how to sync through them, and what must hold afterwards.

Every fault the emulator can inject (docs/emulator.md, "Admin and fault API") is a case, plus two the
emulator cannot make: a client read timeout (emulator latency above the client's timeout) and a network
cut made by the WireTap (the connection closed before the request reaches the emulator, or after it
was applied). A case syncs a fixed dataset through its fault, rerunning while a run exits non-zero, and
records what each run reported in `intacct_run_results.json` ("faults": met, survived, retries) and how
many times each request was sent (the WireTap groups attempts by the request's control ID).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.resilience.dataset import Dataset, Verdict, state_rows, verify
from tests.resilience.wiretap import Spoil, Tamper, WireTap
from tests.support.project import DbtProject

MAX_RETRIES = 3  # intacct.yml max_retries for every case: four sends of a request at most
MAX_RUNS = 6


@dataclass(frozen=True)
class FaultCase:
    """One fault setting. `reported` are the kinds the sync must say it met (the client's names);
    `injected` is the emulator's name when the two counts must be equal."""

    name: str
    faults: Mapping[str, Any] = field(default_factory=dict)
    reported: tuple[str, ...] = ()
    injected: str | None = None
    connection: Mapping[str, Any] = field(default_factory=dict)  # intacct.yml settings for this case
    cut_probability: float = 0.0  # the WireTap cuts this share of requests (before or after forwarding)


def _alone(kind: str, reported: str, **more: Any) -> FaultCase:
    # Fires on the first request it can, then on three requests in ten.
    return FaultCase(kind, {kind: {"probability": 0.3, "next": 1}, **more}, (reported,), kind)


SINGLE_CASES = (
    _alone("http_429", "rate_limited", retry_after_seconds=0),
    _alone("rate_limit_body", "rate_limited"),
    _alone("http_500", "http_500"),
    _alone("http_502", "http_502"),
    _alone("http_503", "http_503"),
    _alone("http_524_after_commit", "http_524"),
    _alone("drop_after_commit", "connection_dropped"),
    _alone("expire_session", "session_expired"),
    FaultCase(
        "concurrency_limit",
        {"concurrency_limit": 1, "latency_ms": 40, "retry_after_seconds": 0},
        ("rate_limited",),
        "concurrency_limit",
        connection={"concurrency": 2},
    ),
    FaultCase(
        "read_timeout",  # about one request in four outlasts the client's timeout
        {"latency_ms": 30, "jitter_ms": 500},
        ("read_timeout",),
        connection={"timeout_seconds": 0.4},
    ),
    FaultCase("network_cut", reported=("connection_dropped",), cut_probability=0.25),
)


def mixed_case(rng: random.Random, name: str) -> FaultCase:
    """Every fault at once, each with its own small probability, with latency jitter and timeouts."""
    faults: dict[str, Any] = {
        kind: {"probability": round(rng.uniform(0.01, 0.04), 3)}
        for kind in (
            "http_429",
            "rate_limit_body",
            "http_500",
            "http_502",
            "http_503",
            "http_524_after_commit",
            "drop_after_commit",
            "expire_session",
        )
    }
    # About one request in seven outlasts the client's timeout.
    faults.update(latency_ms=20, jitter_ms=500, retry_after_seconds=0)
    return FaultCase(
        name,
        faults,
        connection={"timeout_seconds": 0.45, "concurrency": 2},
        cut_probability=round(rng.uniform(0.02, 0.05), 3),
    )


@dataclass
class FaultOutcome:
    """What one case did: per run, the exit code and the faults it reported; per request, its sends."""

    case: FaultCase
    exit_codes: list[int] = field(default_factory=list)
    reported: Counter[str] = field(default_factory=Counter)  # faults met, summed over the runs
    survived: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    injected: Counter[str] = field(default_factory=Counter)  # what the emulator says it injected
    cuts: int = 0  # connections the WireTap cut
    sends_per_request: Counter[str] = field(default_factory=Counter)  # control ID -> sends
    verdict: Verdict = field(default_factory=Verdict)
    idle_writes: int = 0  # write requests of one more sync once faults are gone (must be 0)
    seconds: float = 0.0

    @property
    def runs(self) -> int:
        return len(self.exit_codes)

    def describe(self) -> str:
        most = max(self.sends_per_request.values(), default=0)
        return (
            f"{self.case.name:<22} runs {self.runs} (exits {self.exit_codes}), {self.seconds:5.1f}s; "
            f"reported {dict(self.reported)}, survived {dict(self.survived)}, {self.retries} retries; "
            f"emulator injected {dict(self.injected)}, tap cuts {self.cuts}; "
            f"most sends of one request {most}\n    {self.verdict.describe()}"
        )


def cutter(rng: random.Random, probability: float) -> Tamper:
    """Cut that share of requests: half before they reach the emulator, half after it applied them."""

    def tamper(_: int, body: bytes) -> Spoil | None:
        if rng.random() >= probability:
            return None
        return Spoil(cut=rng.choice(("before", "after")), name="network cut")

    return tamper


def run_case(
    project: DbtProject,
    admin: EmulatorAdmin,
    tap: WireTap,
    dataset: Dataset,
    case: FaultCase,
    seed: int,
    log: Callable[[str], None] = print,
) -> FaultOutcome:
    """Sync `dataset` (already built in `project`) into an emptied emulator through `case`'s fault,
    with a state schema of its own, rerunning until a run exits 0 (at most MAX_RUNS runs)."""
    started = time.monotonic()
    outcome = FaultOutcome(case)
    admin.reset()
    admin.clear_faults()
    schema = f"faults_{re.sub(r'[^a-z0-9]+', '_', case.name.lower())}"
    project.write_intacct_yml(
        **{"batch_size": 10, "max_retries": MAX_RETRIES, "timeout_seconds": 30, **case.connection}
    )
    injected_before = Counter(admin.faults().get("injected", {}))
    admin.set_faults({**case.faults, "seed": seed})
    rng = random.Random(seed)
    tap.tamper = cutter(rng, case.cut_probability) if case.cut_probability else None
    first = len(tap.exchanges)
    for _ in range(MAX_RUNS):
        run = project.sync("--state-schema", schema)
        outcome.exit_codes.append(run.exit_code)
        faults = run.results.get("faults") or {}
        outcome.reported.update(faults.get("met") or {})
        outcome.survived.update(faults.get("survived") or {})
        outcome.retries += int(faults.get("retries") or 0)
        if run.exit_code == 0:
            break
        runs = len(outcome.exit_codes)
        log(f"    {case.name}: run {runs} exited {run.exit_code}: {_last_lines(run.output)}")
    injected = Counter(admin.faults().get("injected", {}))
    injected.subtract(injected_before)
    outcome.injected = +injected
    exchanges = tap.exchanges[first:]
    outcome.cuts = sum(1 for e in exchanges if e.tampered)
    outcome.sends_per_request = Counter(e.request_id for e in exchanges)
    tap.tamper = None
    admin.clear_faults()
    outcome.verdict = verify(
        dataset, admin.records("CUSTOMER"), admin.records("GLBATCH"), state_rows(project, schema)
    )
    before = len(tap.exchanges)
    project.sync("--state-schema", schema)
    outcome.idle_writes = sum(1 for e in tap.exchanges[before:] if e.writes)
    outcome.seconds = time.monotonic() - started
    return outcome


def _last_lines(output: str, count: int = 3) -> str:
    return " | ".join(line.strip() for line in output.strip().splitlines()[-count:])
