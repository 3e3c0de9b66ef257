"""Soak: the crash and fault loops of tests/resilience, for minutes instead of seconds.

Cycles until the time is up, each with a fresh seed (printed) and fresh projects:

1. sync SIGKILLed: 1,000 rows then rounds of renames, removals and additions, each round's syncs killed
   at aimed moments (startup, diff, before a request, in flight, after an answer) and rerun until one
   exits 0 (DuckDB, through a WireTap in front of an in-process emulator with latency);
2. emulator SIGKILLed and restarted under a running sync (a child emulator with a data directory);
3. every fault alone and three random mixes on a small project.

After each step it compares the models, Intacct (the emulator's records) and the state, and at the end
prints how many kills, faults and rows it went through and whether anything was duplicated or lost.
Exit code 0 when nothing was, 1 otherwise.

    .venv/bin/python bench/soak.py                   # 10 minutes, DuckDB, emulator kills on Postgres
    .venv/bin/python bench/soak.py --minutes 30 --seed 7 --emulator-warehouse duckdb
    .venv/bin/python bench/soak.py --only faults --minutes 5
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Importable once the repository is on the path.
from dbt_intacct.emulator import EmulatorConfig, EmulatorServer  # noqa: E402
from dbt_intacct.emulator.process import EmulatorProcess  # noqa: E402
from tests.resilience.crash import CrashReport, CrashSettings, crash_rounds, emulator_kill_rounds  # noqa: E402
from tests.resilience.dataset import Dataset, Verdict, write_dataset, write_models  # noqa: E402
from tests.resilience.faults import SINGLE_CASES, FaultOutcome, mixed_case, run_case  # noqa: E402
from tests.resilience.wiretap import WireTap  # noqa: E402
from tests.support.project import DbtProject  # noqa: E402

STEPS = ("crash", "emulator", "faults")


@dataclass
class Totals:
    """What the soak went through, summed over every step."""

    sync_kills: int = 0
    emulator_kills: int = 0
    faults: Counter[str] = field(default_factory=Counter)  # injected by the emulator, by kind
    cuts: int = 0  # connections the WireTap cut
    reported: Counter[str] = field(default_factory=Counter)  # faults the syncs said they met
    rows: int = 0  # model rows whose arrival was checked (per round or case)
    runs: int = 0
    problems: list[str] = field(default_factory=list)  # duplicated, lost, wrong, or state not matching
    phases: Counter[str] = field(default_factory=Counter)

    def add_crash(self, report: CrashReport, step: str) -> None:
        self.sync_kills += len(report.kills)
        self.emulator_kills += len(report.emulator_kills)
        self.phases.update(kill.phase for kill in report.kills)
        self.runs += report.runs
        for result in report.rounds:
            self.rows += result.rows
            self._verdict(f"{step} seed {report.seed} round {result.round}", result.verdict)
            if result.idle_rerun_requests:
                self.problems.append(f"{step} round {result.round}: an idle rerun made requests")

    def add_fault(self, outcome: FaultOutcome, rows: int) -> None:
        self.faults.update(outcome.injected)
        self.cuts += outcome.cuts
        self.reported.update(outcome.reported)
        self.runs += outcome.runs + 1
        self.rows += rows
        if outcome.exit_codes[-1] != 0:
            self.problems.append(f"fault {outcome.case.name}: did not converge in {outcome.runs} runs")
        self._verdict(f"fault {outcome.case.name}", outcome.verdict)

    def _verdict(self, where: str, verdict: Verdict) -> None:
        if not verdict.ok:
            self.problems.append(f"{where}: {verdict.describe()}")

    def describe(self, seconds: float) -> str:
        injected = sum(self.faults.values()) + self.cuts
        lines = [
            f"soak: {seconds / 60:.1f} minutes, {self.runs} sync runs, {self.rows} model rows checked",
            f"  sync kills      {self.sync_kills}  ({_counts(self.phases)})",
            f"  emulator kills  {self.emulator_kills}",
            f"  faults          {injected} injected ({_counts(self.faults)}; network cuts {self.cuts}); "
            f"the syncs reported {sum(self.reported.values())} ({_counts(self.reported)})",
        ]
        if self.problems:
            lines.append(f"  PROBLEMS ({len(self.problems)}):")
            lines.extend("    " + problem.replace("\n", "\n      ") for problem in self.problems)
        else:
            lines.append("  nothing duplicated, nothing lost, every state row matching Intacct")
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items())) or "none"


def sync_crash_step(work: Path, seed: int, rounds: int, totals: Totals) -> None:
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as tap:
        project = DbtProject(work / f"crash-{seed}", "duckdb", tap.url())
        report = crash_rounds(project, tap, server.admin, seed, plans=[3] + [1] * (rounds - 1))
    totals.add_crash(report, "sync kills")


def emulator_crash_step(work: Path, seed: int, warehouse: str, rounds: int, totals: Totals) -> None:
    settings = CrashSettings()
    emulator = EmulatorProcess(
        data_dir=work / f"intacct-{seed}",
        extra_args=["--latency-ms", str(settings.latency_ms), "--jitter-ms", str(settings.jitter_ms)],
    ).start()
    project = DbtProject(work / f"emulator-{seed}", warehouse, emulator.url)
    try:
        report = emulator_kill_rounds(project, emulator, seed, kills=[16] + [8] * (rounds - 1))
    finally:
        emulator.stop()
        project.drop_postgres_schemas()
    totals.add_crash(report, "emulator kills")


def fault_step(work: Path, seed: int, deadline: float, totals: Totals) -> None:
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as tap:
        project = DbtProject(work / f"faults-{seed}", "duckdb", tap.url())
        dataset = Dataset.generate(random.Random(seed), customers=60, entries=30)
        write_models(project)
        write_dataset(project, dataset)
        project.build()
        cases = [*SINGLE_CASES, *(mixed_case(random.Random(seed * 10 + n), f"mixed-{n}") for n in (1, 2, 3))]
        for case in cases:
            if time.monotonic() > deadline:
                return
            outcome = run_case(project, server.admin, tap, dataset, case, seed)
            print("  " + outcome.describe(), flush=True)
            totals.add_fault(outcome, dataset.rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to keep cycling")
    parser.add_argument("--seed", type=int, default=None, help="first cycle's seed (default: random)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per crash scenario (round 1: 1,000 rows)"
    )
    parser.add_argument("--emulator-warehouse", choices=("duckdb", "postgres"), default="postgres")
    parser.add_argument("--only", choices=STEPS, action="append", help="run only these steps (repeatable)")
    args = parser.parse_args()
    steps = args.only or list(STEPS)
    seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
    started = time.monotonic()
    deadline = started + args.minutes * 60
    totals = Totals()
    with tempfile.TemporaryDirectory(prefix="dbt-intacct-soak-") as tmp:
        work = Path(tmp)
        cycle = 0
        while time.monotonic() < deadline:
            cycle += 1
            print(
                f"== cycle {cycle}, seed {seed} ({(deadline - time.monotonic()) / 60:.1f} min left)",
                flush=True,
            )
            if "crash" in steps:
                sync_crash_step(work, seed, args.rounds, totals)
            if "emulator" in steps and time.monotonic() < deadline:
                emulator_crash_step(work, seed, args.emulator_warehouse, args.rounds, totals)
            if "faults" in steps and time.monotonic() < deadline:
                fault_step(work, seed, deadline, totals)
            print(totals.describe(time.monotonic() - started), flush=True)
            seed += 1
    print("\n" + totals.describe(time.monotonic() - started))
    return 1 if totals.problems else 0


if __name__ == "__main__":
    sys.exit(main())
