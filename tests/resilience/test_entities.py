"""Exactly once across entities (issue 17): customers and journal entries written in entities 100 and 200
and at the top level, their answers lost or the sync SIGKILLed at moments aimed at each entity's writes.

Every open intent must be resent in its own entity's session (the tap knows which entity each session
is logged in to, from the getAPISession answers), `plan` must count the open intents per entity, and
once a sync converges each record exists once, owned by its row's entity, with the state agreeing.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dbt_intacct.emulator import EmulatorAdmin, EmulatorConfig, EmulatorServer
from tests.functional.test_sync_entities import setup_entities
from tests.resilience.processes import SyncProcess, release_duckdb
from tests.resilience.wiretap import Exchange, Spoil, WireTap
from tests.support.project import DbtProject

pytestmark = pytest.mark.xdist_group("resilience_entities")

ENTITIES = ("100", "200", "")  # "" is the top level
CUSTOMERS = "intacct_customers"
ENTRIES = "intacct_journal_entries"
LABELS = {"100": "entity 100", "200": "entity 200", "": "the top level"}


@dataclass
class Rows:
    """What the two models hold: customers (code -> name, entity), journal entries (id -> title, entity)."""

    customers: dict[str, tuple[str, str]] = field(default_factory=dict)
    entries: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def generate(cls, customers: int, entries: int) -> Rows:
        rows = cls()
        for n in range(customers):
            rows.customers[f"C-{n:03d}"] = (f"Customer {n}", ENTITIES[n % 3])
        for n in range(entries):
            rows.entries[f"JE-{n:03d}"] = (f"Entry {n}", ENTITIES[n % 3])
        return rows

    def evolve(self, renamed_every: int, new_entries: int) -> Rows:
        """Every `renamed_every`-th customer renamed; `new_entries` more journal entries."""
        customers = {
            code: ((f"{name} v2", entity) if n % renamed_every == 0 else (name, entity))
            for n, (code, (name, entity)) in enumerate(self.customers.items())
        }
        entries = dict(self.entries)
        start = len(entries)
        for n in range(start, start + new_entries):
            entries[f"JE-{n:03d}"] = (f"Entry {n}", ENTITIES[n % 3])
        return Rows(customers, entries)

    def write(self, project: DbtProject) -> None:
        customers = "code,name,entity\n" + "".join(
            f"{code},{name},{entity}\n" for code, (name, entity) in self.customers.items()
        )
        entries = "entry_id,entity,posting_date,title,line_no,account,amount\n" + "".join(
            f"{key},{entity},2026-10-31,{title},1,6000,12.50\n{key},{entity},2026-10-31,{title},2,2000,-12.50\n"
            for key, (title, entity) in self.entries.items()
        )
        setup_entities(project, customers, entries)
        release_duckdb(project)


# -- what Intacct, the state and the wire say ------------------------------------------------------------


def check_intacct(rows: Rows, admin: EmulatorAdmin) -> list[str]:
    """Each customer and journal entry once, owned by its row's entity, with the model's name."""
    problems: list[str] = []
    customers = admin.records("CUSTOMER")
    copies = Counter(str(r["CUSTOMERID"]) for r in customers)
    problems += [f"customer {k} exists {n} times" for k, n in copies.items() if n != 1]
    problems += [f"customer {k} is missing" for k in rows.customers if k not in copies]
    problems += [f"customer {k} is not in the model" for k in copies if k not in rows.customers]
    for record in customers:
        code = str(record["CUSTOMERID"])
        if code not in rows.customers:
            continue
        name, entity = rows.customers[code]
        owner = str(record.get("MEGAENTITYID") or "")
        if owner != entity:
            problems.append(f"customer {code} belongs to {LABELS.get(owner, owner)}, not {LABELS[entity]}")
        if record["NAME"] != name:
            problems.append(f"customer {code} is named {record['NAME']!r}, not {name!r}")
    batches = admin.records("GLBATCH")
    titles = {title: (key, entity) for key, (title, entity) in rows.entries.items()}
    posted = Counter(str(r["BATCH_TITLE"]) for r in batches)
    problems += [f"journal entry {t!r} posted {n} times" for t, n in posted.items() if n != 1]
    problems += [f"journal entry {t!r} is missing" for t in titles if t not in posted]
    for record in batches:
        title = str(record["BATCH_TITLE"])
        if title in titles and str(record.get("MEGAENTITYID") or "") != titles[title][1]:
            problems.append(f"journal entry {title!r} belongs to {record.get('MEGAENTITYID')!r}")
    return problems


def state_of(project: DbtProject) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(model, row key) -> (status, entity) of every state row."""
    table = f"{project.state_schema}.intacct_state"
    found = project.query(f"select model_id, row_key, status, entity from {table}")
    return {(str(m).rsplit(".", 1)[-1], str(k)): (str(s), e) for m, k, s, e in found}


def pending_by_entity(project: DbtProject) -> dict[str, Counter[str]]:
    """model -> entity label -> open intents."""
    pending: dict[str, Counter[str]] = {}
    for (model, _), (status, entity) in state_of(project).items():
        if status == "pending":
            pending.setdefault(model, Counter())[LABELS[entity or ""]] += 1
    return pending


_FUNCTION = re.compile(rb'<function controlid="([^"]+)">(.*?)</function>', re.DOTALL)
_ROW_OF = re.compile(
    rb"<CUSTOMERID>([^<]*)</CUSTOMERID>|<BATCH_TITLE>([^<]*)</BATCH_TITLE>|<RECORDNO>(\d+)</RECORDNO>"
)


@dataclass
class Routing:
    """Which session sent each written function, against the entity its row belongs to."""

    misrouted: list[str] = field(default_factory=list)
    resent_in: Counter[str] = field(default_factory=Counter)  # functions sent in 2+ requests, by entity


def check_routing(rows: Rows, tap: WireTap, admin: EmulatorAdmin) -> Routing:
    owner_of: dict[bytes, str] = {}
    for code, (_, entity) in rows.customers.items():
        owner_of[code.encode()] = entity
    for title, entity in rows.entries.values():
        owner_of[title.encode()] = entity
    for name in ("CUSTOMER", "GLBATCH"):
        for record in admin.records(name):
            owner_of[str(record["RECORDNO"]).encode()] = str(record.get("MEGAENTITYID") or "")
    routing = Routing()
    requests: dict[bytes, set[str]] = {}
    for exchange in tap.exchanges:
        if not exchange.writes:
            continue
        sent_in = tap.entity_of(exchange)
        for controlid, body in _FUNCTION.findall(exchange.body):
            found = _ROW_OF.search(body)
            assert found is not None, body
            owner = owner_of[next(group for group in found.groups() if group)]
            if sent_in != owner:
                routing.misrouted.append(
                    f"function {controlid.decode()} of {LABELS[owner]} sent in request #{exchange.number} "
                    f"through a session of {LABELS.get(sent_in or '', sent_in)}"
                )
            requests.setdefault(controlid, set()).add(exchange.request_id)
            if len(requests[controlid]) == 2:
                routing.resent_in[LABELS[owner]] += 1
    return routing


# -- answers lost on purpose: open intents in every entity ---------------------------------------------


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(request: pytest.FixtureRequest, tmp_path: Path, tap: WireTap) -> Iterator[DbtProject]:
    made = DbtProject(tmp_path / "proj", str(request.param), tap.url())
    yield made
    made.drop_postgres_schemas()


def test_answers_lost_in_every_entity_are_counted_per_entity_and_resent_in_their_own_entity(
    project: DbtProject, tap: WireTap, server: EmulatorServer
) -> None:
    admin = server.admin
    # One batch per entity, all three in flight at once: each entity has an answer lost.
    project.write_intacct_yml(batch_size=50, concurrency=3, max_retries=1)
    rows = Rows.generate(customers=7, entries=5)
    rows.write(project)
    # Every write is applied and its answer lost (each retry too): the runs stop with intents open in
    # the top level and both entities, journal entries first, then customers.
    tap.tamper = lambda _, body: Spoil(cut="after") if b"<uniqueid>true</uniqueid>" in body else None
    assert project.sync("--select", ENTRIES).exit_code == 1
    assert project.sync().exit_code == 1
    pending = pending_by_entity(project)
    assert set(pending[CUSTOMERS]) == set(pending[ENTRIES]) == set(LABELS.values()), pending

    plan = project.plan()
    release_duckdb(project)
    for model in (CUSTOMERS, ENTRIES):
        by_entity = plan.model(model)["planned_by_entity"]
        assert {label: counts.get("resend", 0) for label, counts in by_entity.items()} == dict(
            pending[model]
        ), plan.output
    label, count = sorted(pending[ENTRIES].items())[0]
    assert f"{label}: {count} to resend" in plan.output

    tap.tamper = None
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert check_intacct(rows, admin) == []
    assert {status for status, _ in state_of(project).values()} == {"ok"}
    routing = check_routing(rows, tap, admin)
    assert routing.misrouted == []
    assert set(routing.resent_in) == set(LABELS.values()), routing.resent_in


def test_a_session_opened_in_another_entity_than_asked_is_never_written_through(
    tmp_path: Path, tap: WireTap, server: EmulatorServer
) -> None:
    """The login of entity 200 answered with a top-level session (as a misconfigured user might get):
    nothing is written through it, and the error says so."""
    admin = server.admin
    project = DbtProject(tmp_path / "proj", "duckdb", tap.url())
    project.write_intacct_yml(max_retries=0)
    rows = Rows.generate(customers=6, entries=0)
    rows.write(project)

    def top_level_instead(answer: bytes) -> bytes:
        return answer.replace(b"<locationid>200</locationid>", b"<locationid></locationid>")

    tap.tamper = lambda _, body: (
        Spoil(transform=top_level_instead, name="session at the top level")
        if b"<locationid>200</locationid>" in body
        else None
    )
    run = project.sync("--select", CUSTOMERS)
    assert run.exit_code == 1, run.output
    assert "in the top level, not in entity '200' as asked" in run.output
    owners = {str(r["CUSTOMERID"]): str(r.get("MEGAENTITYID") or "") for r in admin.records("CUSTOMER")}
    assert "200" not in owners.values()
    west = {code for code, (_, entity) in rows.customers.items() if entity == "200"}
    assert not west & set(owners), "no row of entity 200 was written anywhere else"
    # The login failed at the first look-up in entity 200: its rows were never planned.
    assert not {key for (_, key) in state_of(project) if key in west}

    tap.tamper = None
    assert project.sync("--select", CUSTOMERS).exit_code == 0
    owners = {str(r["CUSTOMERID"]): str(r.get("MEGAENTITYID") or "") for r in admin.records("CUSTOMER")}
    assert owners == {code: entity for code, (_, entity) in rows.customers.items()}


# -- SIGKILLed at moments aimed at each entity's writes ------------------------------------------------


@dataclass(frozen=True)
class Target:
    object: str  # CUSTOMER or GLBATCH
    entity: str
    phase: str  # in_flight | after_response
    skip: int

    def __str__(self) -> str:
        return f"{self.phase} {self.object} in {LABELS[self.entity]} (skip {self.skip})"


def _aimed(tap: WireTap, base: int, target: Target) -> Callable[[list[Exchange]], bool]:
    def reached(exchanges: list[Exchange]) -> bool:
        writes = [
            e
            for e in exchanges[base:]
            if e.writes and target.object in e.objects and tap.entity_of(e) == target.entity
        ]
        if len(writes) <= target.skip:
            return False
        return target.phase == "in_flight" or writes[target.skip].delivered_at is not None

    return reached


def kill_at(project: DbtProject, tap: WireTap, target: Target, rng: random.Random, latency: float) -> bool:
    """Start a sync and SIGKILL it at `target`; False when it ended before the moment came."""
    base = len(tap.exchanges)
    process = SyncProcess(project).start()
    reached = _aimed(tap, base, target)
    while process.running() and not tap.wait_for(reached, 0.05):
        pass
    if not process.running():
        process.wait()
        return False
    if target.phase == "in_flight":
        time.sleep(rng.uniform(0.0, 0.6 * latency))
    process.kill()
    # The emulator finishes a request whose client died: wait for it before reading the state.
    tap.wait_for(lambda ex: all(e.delivered_at is not None for e in ex[base:]), 10)
    return True


def converge(project: DbtProject, runs: int = 3) -> int:
    for attempt in range(1, runs + 1):
        process = SyncProcess(project).start()
        if process.wait() == 0:
            return attempt
        print(process.output[-800:], process.stderr[-800:])
    raise AssertionError(f"the sync did not converge in {runs} runs")


def plan_results(project: DbtProject) -> dict[str, object]:
    process = SyncProcess(project, command="plan").start()
    process.wait()
    path = project.root / "target" / "intacct_run_results.json"
    results: dict[str, object] = json.loads(path.read_text())
    path.unlink()
    return results


@pytest.mark.slow
def test_a_sync_killed_in_each_entity_converges_with_every_record_once_in_its_entity(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    latency_ms, jitter_ms = 40, 40
    latency = (latency_ms + jitter_ms / 2) / 1000
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as tap:
        admin = server.admin
        admin.set_faults(latency_ms=latency_ms, jitter_ms=jitter_ms, seed=seed)
        project = DbtProject(tmp_path / "proj", "duckdb", tap.url())
        rows = Rows.generate(customers=60, entries=30)
        log: list[str] = []
        for round_no, concurrency in ((1, 2), (2, 2)):
            if round_no == 2:
                rows = rows.evolve(renamed_every=2, new_entries=15)
            rows.write(project)
            project.write_intacct_yml(batch_size=4, concurrency=concurrency)
            targets = plan_kills(rng, round_no)
            for target in targets:
                killed = kill_at(project, tap, target, rng, latency)
                pending = {m: dict(c) for m, c in pending_by_entity(project).items()}
                what = "killed" if killed else "run ended first"
                log.append(f"r{round_no} {target}: {what}; pending {pending}")
                print(log[-1])
            pending_now = pending_by_entity(project)
            if pending_now:
                # What the kills left open, as the plan counts it: per entity, each to be resent there.
                results = plan_results(project)
                for model in results["results"]:  # type: ignore[union-attr]
                    assert isinstance(model, Mapping)
                    expected = dict(pending_now.get(str(model["name"]), {}))
                    shown = {
                        label: counts.get("resend", 0)
                        for label, counts in (model["planned_by_entity"] or {}).items()
                        if counts.get("resend", 0)
                    }
                    assert shown == expected, (model["name"], shown, expected, log)
            runs = converge(project)
            log.append(f"r{round_no}: converged in {runs} run(s)")
            assert check_intacct(rows, admin) == [], log
            state = state_of(project)
            assert {status for status, _ in state.values()} == {"ok"}, log
            assert {key: entity for (model, key), (_, entity) in state.items() if model == CUSTOMERS} == {
                code: entity for code, (_, entity) in rows.customers.items()
            }
            before = len(tap.exchanges)
            assert SyncProcess(project).start().wait() == 0
            assert len(tap.exchanges) == before, "a converged sync has nothing left to send"
        routing = check_routing(rows, tap, admin)
        print("\n".join(log), f"\nresent by entity: {dict(routing.resent_in)}")
        assert routing.misrouted == [], routing.misrouted[:5]
        # The kills left open intents in every entity, and each was resent in its own.
        assert set(routing.resent_in) == set(LABELS.values()), (routing.resent_in, log)


def plan_kills(rng: random.Random, round_no: int) -> list[Target]:
    """A kill aimed at each entity's writes in turn, customers then journal entries.

    A run sends an entity's batches together, the entities in the order their first row comes (100,
    200, the top level), the open intents of earlier kills first: each kill aims at the next entity,
    whose rows have not all been written yet. The last kill of a round loses an answer, so that the
    plan has open intents to count."""
    skips = (0, 1) if round_no == 1 else (0,)
    targets = [
        Target(obj, entity, rng.choice(("in_flight", "after_response")), rng.choice(skips))
        for obj in ("CUSTOMER", "GLBATCH")
        for entity in ENTITIES
    ]
    last = targets[-1]
    targets[-1] = Target(last.object, last.entity, "after_response", last.skip)
    return targets
