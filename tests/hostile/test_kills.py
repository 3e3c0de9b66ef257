"""A sync stopped by SIGTERM or SIGKILL in each phase of a run, aimed from outside, without a hook in the
product: resolving (dbt parsing the project), diffing (the journal entries' change set, blocked on a
lock the test takes on their model's table in Postgres once the run has started), sending (a journal
entry applied by the emulator, its answer held by the gateway) and recording (the answer handed over,
the state tables locked by the test, so the sync is writing its outcomes). Then the next run converges:
every row once in Intacct, the state saying so; the stopped run is recorded interrupted (SIGTERM) or
marked abandoned by the next (SIGKILL); a run stopped before it started (resolving) records nothing
and sends nothing.
"""

from __future__ import annotations

import random
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from dbt_intacct.emulator import EmulatorConfig, EmulatorServer
from tests.resilience.dataset import (
    ENTRIES_MODEL,
    Dataset,
    state_rows,
    verify,
    write_dataset,
    write_models,
)
from tests.resilience.processes import SyncProcess, build_released
from tests.resilience.wiretap import Spoil, WireTap
from tests.support.project import POSTGRES, DbtProject

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("hostile_kills")]

PHASES = ("resolving", "diffing", "sending", "recording")
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
BATCH_SIZE = 2
PARSING = re.compile(r"Parsing the project")


class Bench:
    def __init__(self, server: EmulatorServer, gateway: WireTap, project: DbtProject, dataset: Dataset):
        self.server, self.gateway, self.project, self.dataset = server, gateway, project, dataset


@pytest.fixture(scope="module")
def kill_bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    root: Path = tmp_path_factory.mktemp("kills")
    with EmulatorServer(EmulatorConfig(port=0)) as server, WireTap(server.base_url) as gateway:
        project = DbtProject(root / "proj", "postgres", gateway.url())
        project.write_intacct_yml(batch_size=BATCH_SIZE, max_retries=1, timeout_seconds=60)
        dataset = Dataset.generate(random.Random(17), customers=4, entries=4)
        write_models(project)
        write_dataset(project, dataset)
        try:
            build_released(project)
            yield Bench(server, gateway, project, dataset)
        finally:
            project.drop_postgres_schemas()


def _connect() -> Any:
    connection = psycopg2.connect(**POSTGRES)
    connection.autocommit = False
    return connection


def _waiting_on_a_lock(table: str | None = None, schema: str | None = None) -> bool:
    """Whether another session waits for a lock on `table` (any schema) or on a table of `schema`.

    Read from pg_locks: pg_stat_activity's query text stops at 1 KiB, before the FROM of a diff."""
    with closing(psycopg2.connect(**POSTGRES)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select 1 from pg_locks l join pg_class c on c.oid = l.relation"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where not l.granted and (c.relname = %s or n.nspname = %s)",
            (table, schema),
        )
        return bool(cursor.fetchall())


def _until(predicate: Callable[[], bool], timeout: float, what: str, sync: SyncProcess) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert sync.running(), f"the sync ended before {what}:\n{sync.output}\n{sync.stderr}"
        assert time.monotonic() < deadline, f"no {what} within {timeout}s:\n{sync.output}"
        time.sleep(0.05)


def _holding(gateway: WireTap, hold: threading.Event, obj: str, nth: int) -> None:
    """The gateway forwards the `nth` write of `obj` (the emulator applies it) and holds its answer
    until `hold` is set."""
    held = threading.Lock()
    seen = 0

    def tamper(_: int, body: bytes) -> Spoil | None:
        nonlocal seen
        if b"<uniqueid>true</uniqueid>" not in body or f"<{obj}>".encode() not in body:
            return None
        with held:
            seen += 1
            if seen != nth:
                return None
        return Spoil(hold=hold, transform=lambda answer: answer, name="held")

    gateway.tamper = tamper


def _held(gateway: WireTap, obj: str) -> bool:
    """Whether a write of `obj` is in flight (a company-check lookup of the object is not)."""
    return any(obj in e.objects and e.writes and e.delivered_at is None for e in gateway.exchanges)


def _runs(project: DbtProject, schema: str) -> list[tuple[str, str | None]]:
    rows = project.rows_if_table(
        schema, "intacct_runs", f"select status, message from {schema}.intacct_runs order by started_at"
    )
    return [(str(r[0]), r[1]) for r in rows or []]


@pytest.mark.parametrize("signal_name", list(SIGNALS))
@pytest.mark.parametrize("phase", PHASES)
def test_a_sync_stopped_in_each_phase_is_recorded_and_the_next_run_converges_exactly_once(
    kill_bench: Bench, phase: str, signal_name: str
) -> None:
    bench, project = kill_bench, kill_bench.project
    admin, gateway = bench.server.admin, bench.gateway
    admin.reset()
    gateway.tamper = None
    schema = f"{project.schema}_kill_{phase}_{signal_name.lower()}"
    number = SIGNALS[signal_name]
    hold = threading.Event()
    lock = _connect()
    first_exchange = len(gateway.exchanges)
    try:
        if phase == "resolving":
            # A model file newer than the manifest: the sync parses the project first.
            model = project.root / "models" / "intacct_customers.sql"
            model.write_text(model.read_text())
        elif phase == "diffing":
            # The last customers' answer held: the run has started (the models' columns were read);
            # the journal entries' model is then locked, and their diff waits on it.
            _holding(gateway, hold, "CUSTOMER", -(-len(bench.dataset.customers) // BATCH_SIZE))
        else:
            _holding(gateway, hold, "GLBATCH", 1)
        sync = SyncProcess(project, "--state-schema", schema).start()
        if phase == "resolving":
            assert sync.wait_for_line(PARSING, 120) is not None, sync.output + sync.stderr
        elif phase == "diffing":
            _until(lambda: _held(gateway, "CUSTOMER"), 120, "the last customers held at the gateway", sync)
            with lock.cursor() as cursor:
                cursor.execute(f'lock table "{project.schema}"."{ENTRIES_MODEL}" in access exclusive mode')
            hold.set()
            _until(lambda: _waiting_on_a_lock(table=ENTRIES_MODEL), 120, "diff waiting on the lock", sync)
        else:
            _until(lambda: _held(gateway, "GLBATCH"), 120, "journal entry held at the gateway", sync)
            if phase == "recording":
                with lock.cursor() as cursor:
                    tables = f'"{schema}".intacct_state, "{schema}".intacct_ledger'
                    cursor.execute(f"lock table {tables} in access exclusive mode")
                hold.set()
                _until(lambda: _waiting_on_a_lock(schema=schema), 120, "outcomes waiting on the lock", sync)
        sync.signal(number) if number != signal.SIGKILL else sync.kill()
        time.sleep(0.5)
    finally:
        lock.rollback()  # a SIGTERMed sync blocked on the lock acts on the signal once it is released
        lock.close()
        hold.set()
    code = sync.wait(120)
    gateway.tamper = None
    output = f"{sync.output}\n{sync.stderr}"
    assert "Traceback" not in sync.stderr, output
    runs = _runs(project, schema)
    if number == signal.SIGTERM:
        assert code == 143, output
    else:
        assert code == -signal.SIGKILL, output
    if phase == "resolving":
        # Stopped before the run started: nothing recorded, nothing sent.
        assert runs == [], output
        assert not any(e.writes for e in gateway.exchanges[first_exchange:]), output
    elif number == signal.SIGTERM:
        assert [s for s, _ in runs] == ["interrupted"], (runs, output)
        assert str(runs[0][1]).startswith("interrupted by SIGTERM"), runs
    else:
        assert [s for s, _ in runs] == ["running"], (runs, output)

    # A SIGKILLed sync's Postgres session keeps its advisory lock until its blocked statement ends.
    rerun = project.sync("--state-schema", schema, "--lock-timeout", "60")
    assert rerun.exit_code == 0, rerun.output
    expected = [] if phase == "resolving" else ["abandoned" if number == signal.SIGKILL else "interrupted"]
    assert [s for s, _ in _runs(project, schema)] == [*expected, "success"], rerun.output
    verdict = verify(
        bench.dataset, admin.records("CUSTOMER"), admin.records("GLBATCH"), state_rows(project, schema)
    )
    assert verdict.ok, verdict.describe() + "\n" + output + "\n" + rerun.output
