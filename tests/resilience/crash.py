"""Kill a sync (or the emulator under it) at random moments, rerun until it converges, and say what happened.

No hook in the product code tells the killer where the sync is: the moments are wall-clock ones, chosen
from what can be seen from outside, the sync's progress lines on stdout and the requests passing
through the `WireTap` in front of the emulator (with emulator latency, a request is in flight for a
while). Each kill is aimed at one phase of a run and then classified by what was actually seen at the
instant of the kill, with the warehouse and the emulator read right after it:

- startup: before the first model starts (loading the project, opening the warehouse, the first diff);
- diffing: after one model finished and before the next one starts (its change set being computed);
- before_request: between two requests, with no answer left unrecorded (mapping rows, lookups,
  intents being written, a read's answer just in);
- in_flight: a request was at the gateway and not answered yet;
- after_response: a write's answer had been handed over and the rows it named were still pending.
"""

from __future__ import annotations

import html
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.process import EmulatorProcess
from tests.resilience.dataset import (
    CUSTOMERS_MODEL,
    ENTRIES_MODEL,
    Dataset,
    Verdict,
    state_rows,
    verify,
    write_dataset,
    write_models,
)
from tests.resilience.processes import FINISHED_LINE, PROGRESS_LINE, START_LINE, SyncProcess, build_released
from tests.resilience.wiretap import Exchange, WireTap
from tests.support.project import DbtProject

PHASES = ("startup", "diffing", "before_request", "in_flight", "after_response")
# A model's start line when it has rows to send: "2 of 2 START model (object, mode): 400 row(s) to look at".
FRESH_START = re.compile(r"START \S+ .*: [1-9]\d* row\(s\) to look at")


@dataclass(frozen=True)
class KillTarget:
    """Where to aim a kill: a phase, how many matching write requests to let through first, and
    (optionally) the object those requests must write (GLBATCH: journal entries)."""

    phase: str
    skip: int = 0
    object: str | None = None

    def __str__(self) -> str:
        return self.phase + (f"[{self.object}]" if self.object else "")


@dataclass(frozen=True)
class Kill:
    """One SIGKILL and what the sync was doing at that instant."""

    number: int
    round: int
    target: str
    phase: str
    seconds: float  # since the killed process started
    progress: str  # its last stdout line
    request: str  # the request in flight, or the last one answered
    pending: int  # state rows left pending after the kill
    applied_unrecorded: int  # rows this run got applied in Intacct but not recorded before the kill

    def row(self) -> str:
        return (
            f"{self.number:>3}  r{self.round}  {self.target:<22} {self.phase:<15} {self.seconds:6.2f}s  "
            f"pending {self.pending:>4}  applied-unrecorded {self.applied_unrecorded:>3}  "
            f"{self.request:<24} | {self.progress[:70]}"
        )


@dataclass
class RoundResult:
    round: int
    rows: int
    kills: list[Kill] = field(default_factory=list)
    runs_to_converge: int = 0  # runs to the first exit 0: after the kills, or while the emulator died
    verdict: Verdict = field(default_factory=Verdict)
    idle_rerun_requests: int = 0  # gateway requests of one more sync after convergence (must be 0)
    idle_rerun_stderr: str = ""  # what that sync wrote on stderr
    missed: list[str] = field(default_factory=list)  # targets whose moment never came (the run ended)
    emulator_kills: list[str] = field(default_factory=list)  # the emulator variant: one line per kill


@dataclass
class CrashReport:
    seed: int
    rounds: list[RoundResult] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0

    @property
    def kills(self) -> list[Kill]:
        return [kill for r in self.rounds for kill in r.kills]

    @property
    def emulator_kills(self) -> list[str]:
        return [f"r{r.round} {line}" for r in self.rounds for line in r.emulator_kills]

    def phases(self) -> Counter[str]:
        return Counter(kill.phase for kill in self.kills)

    def describe(self) -> str:
        lines = [
            f"seed {self.seed}: {len(self.kills) + len(self.emulator_kills)} kills, {self.runs} sync runs, "
            f"{self.seconds:.0f}s"
        ]
        if self.kills:
            lines.append("phases hit: " + ", ".join(f"{p} {self.phases()[p]}" for p in PHASES))
            lines.extend(kill.row() for kill in self.kills)
        lines.extend(self.emulator_kills)
        for r in self.rounds:
            lines.append(
                f"round {r.round}: {r.rows} rows, {len(r.kills) + len(r.emulator_kills)} kills, "
                f"{r.runs_to_converge} run(s) to converge; "
                f"an idle rerun made {r.idle_rerun_requests} request(s)"
                + (f"; missed (run ended first): {', '.join(r.missed)}" if r.missed else "")
                + "\n  "
                + r.verdict.describe().replace("\n", "\n  ")
            )
        return "\n".join(lines)


def pending_rows(
    dataset: Dataset,
    state: Mapping[tuple[str, str], Mapping[str, Any]],
    customers: Sequence[Mapping[str, Any]],
    batches: Sequence[Mapping[str, Any]],
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(rows whose state is pending, those among them whose function Intacct has applied)."""
    names = {c.code: c.name for c in dataset.customers}
    in_intacct = {str(r.get("CUSTOMERID")): r for r in customers}
    posted = {str(r.get("REFERENCENO")) for r in batches}
    pending: set[tuple[str, str]] = set()
    applied: set[tuple[str, str]] = set()
    for (model, key), row in state.items():
        if row["status"] != "pending":
            continue
        pending.add((model, key))
        if model == ENTRIES_MODEL:
            done = key in posted
        elif row["action"] == "delete":
            done = key not in in_intacct
        elif row["action"] == "create":
            done = key in in_intacct
        else:  # an update: the only change the dataset makes to a customer is a new name
            done = (in_intacct.get(key) or {}).get("NAME") == names.get(key)
        if done:
            applied.add((model, key))
    return pending, applied


class SyncKiller:
    """Runs `dbt-intacct sync` children of `project` through `tap` and kills them where aimed."""

    def __init__(
        self,
        project: DbtProject,
        tap: WireTap,
        admin: EmulatorAdmin,
        rng: random.Random,
        latency: float,
        log: Callable[[str], None] = print,
    ) -> None:
        self.project = project
        self.tap = tap
        self.admin = admin
        self.rng = rng
        self.latency = latency
        self.log = log
        self.runs = 0
        # The rows applied in Intacct as read after the last kill: the next kill's "before" (nothing ran
        # in between), which saves a read of the state (a JVM start on Spark).
        self._applied: tuple[Dataset, set[tuple[str, str]]] | None = None

    # -- one killed run ---------------------------------------------------------------------------------
    def kill_once(self, number: int, round_no: int, target: KillTarget, dataset: Dataset) -> Kill | None:
        """Start a sync and kill it at `target`; None when the sync finished before the moment came."""
        base = len(self.tap.exchanges)
        if self._applied is not None and self._applied[0] is dataset:
            applied_before = self._applied[1]
        else:
            _, applied_before = self._pending(dataset)
        self._applied = None
        process = SyncProcess(self.project).start()
        self.runs += 1
        if not self._wait_for_moment(process, target, base):
            process.wait()
            self.log(f"    (run ended with exit {process.returncode} before the {target} moment)")
            if process.returncode not in (0, 1):
                self.log(f"    {process.output[-600:]}{process.stderr[-600:]}")
            return None
        at = process.kill()
        exchanges = [e for e in self.tap.exchanges if e.number > base]
        # The emulator finishes a request whose client died; wait for it so the reading below is stable.
        self.tap.wait_for(
            lambda ex: all(e.delivered_at is not None for e in ex[base:]), 10 * self.latency + 5
        )
        state = state_rows(self.project)
        pending, applied_after = pending_rows(
            dataset, state, self.admin.records("CUSTOMER"), self.admin.records("GLBATCH")
        )
        self._applied = (dataset, applied_after)
        # Applied and unrecorded because of this kill: not already so before this run started.
        applied = len(applied_after - applied_before)
        unrecorded = _answered_unrecorded(exchanges, at, state)
        phase, request = _classify(process, at, exchanges, unrecorded)
        return Kill(
            number=number,
            round=round_no,
            target=str(target),
            phase=phase,
            seconds=at - process.started_at,
            progress=process.last_line(before=at),
            request=request,
            pending=len(pending),
            applied_unrecorded=applied,
        )

    def _pending(self, dataset: Dataset) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        state = state_rows(self.project)
        return pending_rows(dataset, state, self.admin.records("CUSTOMER"), self.admin.records("GLBATCH"))

    def _wait_for_moment(self, process: SyncProcess, target: KillTarget, base: int) -> bool:
        rng = self.rng
        if target.phase == "startup":
            return _sleep_while(process, rng.uniform(0.3, 2.5))
        if target.phase == "diffing":
            finished = process.wait_for_line(_finished(CUSTOMERS_MODEL), timeout=600)
            # The next model's diff takes milliseconds to tens of them on DuckDB: aim inside it.
            return finished is not None and _sleep_while(process, rng.uniform(0.0, 0.01))

        def matching(exchanges: list[Exchange]) -> list[Exchange]:
            return [
                e
                for e in exchanges[base:]
                if e.writes and (target.object is None or target.object in e.objects)
            ]

        if target.phase == "before_request":
            # A model's rows are mapped, matched (a lookup request for upserts) and their intents written
            # before its first write leaves: aim into that stretch, after the skip-th model start.
            started = process.wait_for_line(_nth_start(target.skip), timeout=600)
            if started is None:
                return False
            # A model with rows to send prints its start line, then maps and builds its first page and
            # writes its intents (tens of milliseconds for a few hundred rows) before any request: aim
            # there when such a line shows up before the model's first request. Otherwise (the run only
            # re-sends what an earlier kill left open), aim after a read's answer, below.
            if self._fresh_start_then_quiet(process, base):
                return _sleep_while(process, rng.uniform(0.0, 0.005))

            def quiet(exchanges: list[Exchange]) -> bool:
                # A read (the login, the bulk lookup) answered and nothing in flight, or a write already
                # went out (the model needed no lookup: the stretch is over, aim at once as before).
                later = exchanges[base:]
                if any(e.writes for e in later):
                    return True
                answered = any(not e.writes and e.delivered_at is not None for e in later)
                return answered and all(e.delivered_at is not None for e in later)

            # Requests are pipelined across pages and intents are bulk writes: the stretch between the
            # lookup's answer and the first write is tens of milliseconds. A login is followed by the
            # lookup within a millisecond: still quiet 3 ms later means the lookup was answered.
            while True:
                if not self._wait_tap(process, quiet):
                    return False
                time.sleep(0.003)
                if self.tap.wait_for(quiet, 0.0):
                    break
            return _sleep_while(process, rng.uniform(0.0, 0.02))
        if target.phase == "in_flight":
            if not self._wait_tap(process, lambda ex: len(matching(ex)) > target.skip):
                return False
            return _sleep_while(process, rng.uniform(0.0, 0.6 * self.latency))

        def answered(ex: list[Exchange]) -> bool:
            found = matching(ex)
            return len(found) > target.skip and found[target.skip].delivered_at is not None

        # after_response: the answer has just been handed over; the kill follows at once.
        return self._wait_tap(process, answered)

    def _fresh_start_then_quiet(self, process: SyncProcess, base: int) -> bool:
        """Wait for a model start with rows to look at; True if no request went out after it (yet)."""
        while process.running():
            exchanges = self.tap.exchanges[base:]
            fresh = [line for line in process.lines_before(time.monotonic()) if FRESH_START.search(line.text)]
            if fresh:
                return not any(e.received_at >= fresh[-1].at for e in exchanges)
            if any(e.writes for e in exchanges):
                return False  # writes came first: re-sent intents; no fresh start before them
            time.sleep(0.001)
        return False

    def _wait_tap(self, process: SyncProcess, predicate: Callable[[list[Exchange]], bool]) -> bool:
        while process.running():
            if self.tap.wait_for(predicate, 0.05):
                return process.running()
        return False

    # -- runs to the end ----------------------------------------------------------------------------------
    def converge(self, max_runs: int) -> int:
        """Run the sync to its end until it exits 0; returns how many runs it took."""
        for attempt in range(1, max_runs + 1):
            process = SyncProcess(self.project).start()
            self.runs += 1
            code = process.wait()
            if code == 0:
                return attempt
            self.log(
                f"    convergence run {attempt} exited {code}: {process.output[-600:]}{process.stderr[-600:]}"
            )
        raise AssertionError(f"the sync did not converge in {max_runs} runs after the kills")

    def idle_requests(self) -> tuple[int, str]:
        """Gateway requests made by one more sync, once converged (there must be none), and its stderr."""
        before = len(self.tap.exchanges)
        process = SyncProcess(self.project).start()
        self.runs += 1
        process.wait()
        return len(self.tap.exchanges) - before, process.stderr

    def verdict(self, dataset: Dataset) -> Verdict:
        return verify(
            dataset, self.admin.records("CUSTOMER"), self.admin.records("GLBATCH"), state_rows(self.project)
        )


def kill_plan(rng: random.Random, repeats: int) -> list[KillTarget]:
    """The kills of one round: two at the diff between the two models, each phase `repeats` times in
    random order, then kills aimed at journal entry requests (they come after the customers)."""
    generic = ["startup", "in_flight", "after_response", "before_request"] * repeats
    rng.shuffle(generic)
    # before_request aims at the first model start: whichever model still has work comes first.
    # The diff kills come first: once an earlier kill has left journal entries pending, the second
    # model begins by settling them (requests at once) and its diff is no longer reachable from outside.
    # A kill between requests needs a model with rows nobody has tried to send yet (after other kills,
    # the runs begin by re-sending what they left open): one such kill comes right after the diff ones.
    targets = [KillTarget("diffing"), KillTarget("diffing"), KillTarget("before_request")]
    targets += [KillTarget(p, skip=0 if p == "before_request" else rng.randint(0, 1)) for p in generic]
    targets += [
        KillTarget("in_flight", skip=rng.randint(0, 1), object="GLBATCH"),
        KillTarget("after_response", skip=rng.randint(0, 1), object="GLBATCH"),
    ]
    return targets


@dataclass(frozen=True)
class CrashSettings:
    """Sizes of the crash scenario: round 1 creates, each later round renames, removes and adds."""

    customers: int = 600
    entries: int = 400
    renamed: int = 150
    removed: int = 20
    new_customers: int = 30
    new_entries: int = 100
    batch_size: int = 20
    latency_ms: int = 50
    jitter_ms: int = 50
    # Requests in flight at once, by round (the last value for later rounds): a kill can catch two.
    concurrency: tuple[int, ...] = (1, 2)

    def concurrency_of(self, round_no: int) -> int:
        return self.concurrency[min(round_no, len(self.concurrency)) - 1]


def crash_rounds(
    project: DbtProject,
    tap: WireTap,
    admin: EmulatorAdmin,
    seed: int,
    plans: Sequence[int],
    settings: CrashSettings = CrashSettings(),
    log: Callable[[str], None] = print,
) -> CrashReport:
    """The crash scenario: for each round (`plans[i]` repeats of each phase), write its data, build, kill
    syncs as planned, rerun until one exits 0, then compare the models, Intacct and the state."""
    rng = random.Random(seed)
    started = time.monotonic()
    report = CrashReport(seed=seed)
    admin.set_faults(latency_ms=settings.latency_ms, jitter_ms=settings.jitter_ms)
    write_models(project)
    killer = SyncKiller(project, tap, admin, rng, (settings.latency_ms + settings.jitter_ms / 2) / 1000, log)
    dataset = Dataset.generate(rng, settings.customers, settings.entries)
    number = 0
    for round_no, repeats in enumerate(plans, start=1):
        if round_no > 1:
            dataset = dataset.evolve(
                rng,
                renamed=settings.renamed,
                removed=settings.removed,
                new_customers=settings.new_customers,
                new_entries=settings.new_entries,
            )
        write_dataset(project, dataset)
        build_released(project)
        concurrency = settings.concurrency_of(round_no)
        project.write_intacct_yml(batch_size=settings.batch_size, concurrency=concurrency)
        result = RoundResult(round=round_no, rows=dataset.rows)
        report.rounds.append(result)
        log(f"round {round_no}: {dataset.rows} rows, {concurrency} request(s) in flight")
        for target in kill_plan(rng, repeats):
            kill = killer.kill_once(number + 1, round_no, target, dataset)
            if kill is None:
                result.missed.append(str(target))
            else:
                number += 1
                result.kills.append(kill)
                log("  " + kill.row())
        result.runs_to_converge = killer.converge(max_runs=4)
        result.verdict = killer.verdict(dataset)
        result.idle_rerun_requests, result.idle_rerun_stderr = killer.idle_requests()
        log("  " + result.verdict.describe().replace("\n", "\n  "))
    report.runs = killer.runs
    report.seconds = time.monotonic() - started
    return report


def _finished(model: str) -> re.Pattern[str]:
    return re.compile(FINISHED_LINE.pattern.replace(r"(\S+):", re.escape(model) + ":"))


def _nth_start(skip: int) -> re.Pattern[str]:
    """The (skip+1)-th model start line: 'k of N START' with k = skip+1."""
    return re.compile(rf"^\d\d:\d\d:\d\d\s+{skip + 1} of \d+ START ")


def _sleep_while(process: SyncProcess, seconds: float) -> bool:
    """Sleep up to `seconds` while the process runs; True if it is still running afterwards."""
    deadline = time.monotonic() + seconds
    while process.running() and time.monotonic() < deadline:
        time.sleep(min(0.005, max(deadline - time.monotonic(), 0)))
    return process.running()


def _classify(
    process: SyncProcess, at: float, exchanges: Sequence[Exchange], unrecorded: bool
) -> tuple[str, str]:
    """The phase the process was in at `at`, from its stdout and the requests it had made."""
    started = [e for e in exchanges if e.received_at <= at]
    flying = [e for e in started if e.delivered_at is None or e.delivered_at > at]
    if flying:
        return "in_flight", _request(flying[-1])
    last = started[-1] if started else None
    lines = process.lines_before(at)
    starts = [line.at for line in lines if START_LINE.search(line.text)]
    finishes = [line.at for line in lines if FINISHED_LINE.search(line.text)]
    if not starts and last is None:
        return "startup", "-"
    answered_at = last.delivered_at if last is not None and last.delivered_at is not None else 0.0
    if finishes and finishes[-1] > answered_at and (not starts or starts[-1] < finishes[-1]):
        return "diffing", _request(last) if last else "-"
    if last is not None and last.writes and unrecorded:
        return "after_response", _request(last)
    return "before_request", _request(last) if last else "-"


_KEYS = re.compile(
    rb"<(?:CUSTOMERID|REFERENCENO)>([^<]*)</(?:CUSTOMERID|REFERENCENO)>|<(?:keys|RECORDNO)>([^<]*)</(?:keys|RECORDNO)>"
)


def _answered_unrecorded(
    exchanges: Sequence[Exchange], at: float, state: Mapping[tuple[str, str], Mapping[str, Any]]
) -> bool:
    """Whether the last write answered before `at` left rows still pending: its answer was handed
    over and not recorded (rows named by CUSTOMERID or REFERENCENO, or by a RECORDNO in the state)."""
    answered = [e for e in exchanges if e.writes and e.delivered_at is not None and e.delivered_at <= at]
    if not answered:
        return False
    ids: set[str] = set()
    for key, recordnos in _KEYS.findall(answered[-1].body):
        ids.add(html.unescape(key.decode("utf-8")))
        ids.update(recordnos.decode().split(","))
    ids.discard("")
    return any(
        row["status"] == "pending" and (key in ids or row["recordno"] in ids)
        for (_, key), row in state.items()
    )


def _request(exchange: Exchange) -> str:
    what = "write " + "+".join(sorted(exchange.objects)) if exchange.writes else "read/login"
    return f"#{exchange.number} {what}"


# -- the emulator killed under a running sync ----------------------------------------------------------


def kill_emulator_during(
    process: SyncProcess,
    emulator: EmulatorProcess,
    rng: random.Random,
    kills: int,
    log: Callable[[str], None],
    after: re.Pattern[str] | None = None,
) -> list[str]:
    """SIGKILL the emulator at random moments while `process` syncs (once it printed a line matching
    `after`, if given), restarting it after a random outage; returns one line per kill: when, and what
    the sync's stdout said it was doing."""
    done: list[str] = []
    if after is not None and process.wait_for_line(after, timeout=600) is None:
        return done
    while process.running() and len(done) < kills:
        if not _sleep_while(process, rng.uniform(0.1, 1.0)):
            break
        at = time.monotonic()
        emulator.kill()
        progress = process.last_line(before=at)
        outage = rng.uniform(0.05, 1.0)
        time.sleep(outage)
        emulator.start()
        phase = _progress_phase(progress)
        done.append(
            f"emulator kill at {at - process.started_at:6.2f}s of the sync ({phase}), down {outage:.2f}s "
            f"| {progress[:80]}"
        )
        log("    " + done[-1])
    return done


def _progress_phase(line: str) -> str:
    if PROGRESS_LINE.search(line):
        return "sending"
    if START_LINE.search(line):
        return "model started: diff, lookups, intents"
    if FINISHED_LINE.search(line):
        return "between models"
    return "startup"


def emulator_kill_rounds(
    project: DbtProject,
    emulator: EmulatorProcess,
    seed: int,
    kills: Sequence[int],
    settings: CrashSettings = CrashSettings(),
    log: Callable[[str], None] = print,
) -> CrashReport:
    """The crash scenario with the emulator killed instead: for each round (`kills[i]` emulator kills),
    sync while the emulator is SIGKILLed and restarted on the same data directory, rerun until a sync
    exits 0, then compare the models, Intacct and the state."""
    rng = random.Random(seed)
    started = time.monotonic()
    report = CrashReport(seed=seed)
    write_models(project)
    dataset = Dataset.generate(rng, settings.customers, settings.entries)
    owed = 0  # kills a round could not make before its sync ended go to the next round
    for round_no, planned in enumerate(kills, start=1):
        wanted = planned + owed
        if round_no > 1:
            dataset = dataset.evolve(
                rng,
                renamed=settings.renamed,
                removed=settings.removed,
                new_customers=settings.new_customers,
                new_entries=settings.new_entries,
            )
        write_dataset(project, dataset)
        build_released(project)
        # The client retries long enough to outlive an outage; a run that gives up is simply rerun.
        concurrency = settings.concurrency_of(round_no)
        project.write_intacct_yml(
            batch_size=settings.batch_size // 2, max_retries=8, timeout_seconds=10, concurrency=concurrency
        )
        result = RoundResult(round=round_no, rows=dataset.rows)
        report.rounds.append(result)
        log(f"round {round_no}: {dataset.rows} rows, {concurrency} request(s) in flight")
        # Half the kills at random from the start, half once the journal entries start: both models'
        # requests see the emulator die.
        plan = [(None, wanted - wanted // 2), (_nth_start(1), wanted // 2)]
        for attempt in range(1, 9):
            process = SyncProcess(project).start()
            report.runs += 1
            for after, count in plan:
                lines = kill_emulator_during(process, emulator, rng, count, log, after)
                result.emulator_kills += lines
            plan = [(None, wanted - len(result.emulator_kills))]
            code = process.wait()
            log(f"  run {attempt} exited {code}")
            if code == 0:
                result.runs_to_converge = attempt
                break
        else:
            raise AssertionError("the sync did not converge in 8 runs while the emulator was being killed")
        owed = wanted - len(result.emulator_kills)
        result.verdict = verify(
            dataset,
            emulator.admin.records("CUSTOMER"),
            emulator.admin.records("GLBATCH"),
            state_rows(project),
        )
        before = emulator.admin.stats()["requests"]
        idle = SyncProcess(project).start()
        report.runs += 1
        idle.wait()
        result.idle_rerun_requests = emulator.admin.stats()["requests"] - before
        log("  " + result.verdict.describe().replace("\n", "\n  "))
    report.seconds = time.monotonic() - started
    return report
