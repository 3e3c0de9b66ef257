"""Append mode: the state written insert-only (for warehouses without DELETE/UPDATE), tested on DuckDB
and Postgres by forcing it with the project var `dbt_intacct_state_writes`."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.errors import WarehouseError
from dbt_intacct.observe.alerts.state import load_states, save_states
from dbt_intacct.state import Ledger, RowOutcome, RunLog, StateTables, SyncLocks
from dbt_intacct.state.append import AppendLog
from dbt_intacct.state.locks import LOCK_REFRESH_EVERY
from dbt_intacct.state.tables import API_CALLS_TABLE, LOCKS_TABLE, columns_of, now
from tests.functional.test_sync_customers import setup_customers
from tests.support.project import DbtProject

MODEL = "model.proj.m"


@contextmanager
def opened(project: DbtProject, **vars: str) -> Iterator[StateTables]:
    args = DbtArgs(project_dir=project.root, profiles_dir=project.root, vars=vars) if vars else None
    with Warehouse(args or DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        yield StateTables(w, project.state_schema, w.target_database)


def _write(tables: StateTables, run: str, keys: list[str], status: str = "ok") -> None:
    outcomes = [
        RowOutcome(row_key=k, row_hash=f"h-{run}", action="create", status=status, version=0) for k in keys
    ]
    Ledger(tables).record_outcomes(run, MODEL, outcomes)


def _current(tables: StateTables) -> dict[str, tuple[Any, ...]]:
    return {
        str(r["row_key"]): (r["row_hash"], r["status"], r["version"])
        for r in Ledger(tables).state_rows(MODEL)
    }


def _count(project: DbtProject, table: str) -> int:
    return int(project.query(f"select count(*) from {project.state_schema}.{table}")[0][0])


def _tables_in_state_schema(project: DbtProject) -> set[str]:
    rows = project.query(
        f"select table_name from information_schema.tables where table_schema = '{project.state_schema}'"
    )
    return {str(r[0]) for r in rows}


def test_the_strategy_is_replace_by_default_and_the_var_forces_append(project: DbtProject) -> None:
    with opened(project) as tables:
        assert tables.writes == "replace" and tables.log is None
        w = tables.warehouse
        # Spark's choice by table format (rendered here through the dispatched macro's spark__ body).
        assert w.render("spark__state_writes") == "append"  # parquet, the session catalogue's default
    for file_format, writes in [("delta", "replace"), ("iceberg", "replace"), ("parquet", "append")]:
        with opened(project, dbt_intacct_file_format=file_format) as tables:
            assert tables.warehouse.render("spark__state_writes") == writes
    with opened(project, dbt_intacct_state_writes="append") as tables:
        assert tables.writes == "append" and isinstance(tables.log, AppendLog)
    with (
        pytest.raises(Exception, match="must be 'append' or 'replace'"),
        opened(project, dbt_intacct_state_writes="merge"),
    ):
        pass


@pytest.mark.parametrize("state_writes", ["append"])
def test_append_mode_keeps_history_and_reads_the_latest_row_per_key(project: DbtProject) -> None:
    with opened(project) as tables:
        tables.ensure()
        _write(tables, "r1", ["a", "b", "c"])
        _write(tables, "r2", ["b"], status="failed")
        _write(tables, "r3", ["c"])
        assert _current(tables) == {
            "a": ("h-r1", "ok", 1),
            "b": ("h-r2", "failed", 0),
            "c": ("h-r3", "ok", 1),
        }
    assert _count(project, "intacct_state_log") == 5
    assert {"intacct_state", "intacct_state_log"} <= _tables_in_state_schema(project)


@pytest.mark.parametrize("state_writes", ["append"])
def test_compaction_keeps_the_current_rows_only(project: DbtProject) -> None:
    with opened(project) as tables:
        tables.ensure()
        for run in range(5):
            _write(tables, f"r{run}", ["a", "b"])
        before = _current(tables)
        assert tables.compact() == []  # 10 rows: far below the size worth compacting
        assert tables.compact(threshold=4) == ["intacct_state"]  # 10 rows > 4 x 2 current ones
        assert _current(tables) == before
        _write(tables, "r9", ["a"])  # seqs go on after the compaction
        assert _current(tables)["a"][0] == "h-r9"
    assert _count(project, "intacct_state_log") == 3
    assert not {"intacct_state_log__new", "intacct_state_log__old"} & _tables_in_state_schema(project)


@pytest.mark.parametrize("state_writes", ["append"])
@pytest.mark.parametrize("crash_at", [1, 2])
def test_a_crash_mid_swap_is_finished_or_undone_by_the_next_ensure(
    project: DbtProject, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    # crash_at 1: the new table is made, the log not yet renamed away (undone: the log stays).
    # crash_at 2: the log renamed away, the new table not yet renamed in (finished: the new table goes in).
    with opened(project) as tables:
        tables.ensure()
        for run in range(3):
            _write(tables, f"r{run}", ["a", "b"])
        before = _current(tables)
        real_rename = AppendLog._rename
        calls: list[str] = []

        def rename(self: AppendLog, relation: Any, new_identifier: str) -> None:
            calls.append(new_identifier)
            if len(calls) == crash_at:
                raise WarehouseError("killed")  # the process dies here: what was committed stays
            real_rename(self, relation, new_identifier)

        monkeypatch.setattr(AppendLog, "_rename", rename)
        assert tables.log is not None
        with pytest.raises(WarehouseError, match="killed"):
            tables.log.compact("intacct_state")
        monkeypatch.setattr(AppendLog, "_rename", real_rename)
    left = _tables_in_state_schema(project)
    assert "intacct_state_log__new" in left and "intacct_state" not in left  # the view was dropped
    with opened(project) as tables:
        tables.ensure()
        assert _current(tables) == before
        _write(tables, "r9", ["b"])
        assert _current(tables)["b"][0] == "h-r9"
    left = _tables_in_state_schema(project)
    assert not {"intacct_state_log__new", "intacct_state_log__old"} & left
    assert _count(project, "intacct_state_log") == (7 if crash_at == 1 else 3)


@pytest.mark.parametrize("state_writes", ["append"])
def test_two_runs_racing_for_the_lock_agree_on_one_winner(project: DbtProject) -> None:
    # The steps of two runs interleaved as in the worst race: both see no claim, both insert theirs,
    # both read back. Exactly one holds the lock; the loser's claim is released.
    with opened(project) as tables:
        tables.ensure()
        locks = SyncLocks(tables)
        assert locks.live_claim("L", "run-a") is None and locks.live_claim("L", "run-b") is None
        locks.insert_claim("L", "run-b", "host:2")
        locks.insert_claim("L", "run-a", "host:1")
        assert locks.earliest_claim("L") == "run-b"  # both read the same winner: the earlier claim
        locks.unlock("L", "run-a")  # the loser releases
        assert locks.earliest_claim("L") == "run-b"
        assert locks.live_claim("L", "run-a") is not None
        # The whole claim: refused while run-b holds it, taken once it is released.
        SyncLocks.CLAIM_SETTLE = 0.0
        assert "run-b" in (locks._claim("L", "run-c", "host:3") or "")
        locks.unlock("L", "run-b")
        assert locks._claim("L", "run-c", "host:3") is None
        assert locks.earliest_claim("L") == "run-c"
        SyncLocks.CLAIM_SETTLE = 2.0
    rows = project.query(
        f"select run_id from {project.state_schema}.intacct_locks where lock_name = 'L' order by run_id"
    )
    assert rows == [("run-c",)]


@pytest.mark.parametrize(
    ("warehouse", "state_writes"),
    [("duckdb", None), ("postgres", None), ("duckdb", "append"), ("postgres", "append"), ("spark", None)],
    indirect=["warehouse"],
)
def test_a_lock_row_whose_process_is_gone_is_taken_over_and_a_held_one_is_renewed(
    project: DbtProject, state_writes: str | None
) -> None:
    # The lock rows of warehouses without a lock of their own (Spark): a sync SIGKILLed on this host
    # leaves its row; the next sync sees its process gone and takes the lock at once, not after
    # LOCK_STALE_AFTER. A pid given to another process since is told apart by its start time.
    ended = subprocess.Popen(["true"])
    ended.wait()
    host = socket.gethostname()
    dead = [f"{host}:{ended.pid}:", f"{host}:{os.getpid()}:1"]  # gone; alive but started at another time
    with opened(project) as tables:
        tables.ensure()
        locks = SyncLocks(tables)
        SyncLocks.CLAIM_SETTLE = 0.0
        try:
            for number, holder in enumerate(dead):
                if tables.log is not None:
                    locks.insert_claim("L", f"run-dead-{number}", holder)
                else:
                    columns = list(columns_of(LOCKS_TABLE))
                    tables.warehouse.insert_rows(
                        tables.locks, columns, [("L", f"run-dead-{number}", holder, now())]
                    )
                    tables.warehouse.commit()
            # The path of warehouses without a lock of their own (DuckDB and Postgres have one: called
            # directly here); on Spark, try_lock itself.
            take = locks.try_lock if project.warehouse == "spark" else locks._try_lock_row
            assert take("L", "run-new") is None
            # Held by this (live) process now: another run is refused, naming it.
            assert "run-new" in (take("L", "run-other") or "")
            before = _heartbeat(project, "run-new")
            locks.refresh(["L"], "run-new")  # within LOCK_REFRESH_EVERY of taking it: nothing written
            assert _heartbeat(project, "run-new") == before
            locks._refreshed -= LOCK_REFRESH_EVERY
            locks.refresh(["L"], "run-new")
            assert _heartbeat(project, "run-new") > before
        finally:
            SyncLocks.CLAIM_SETTLE = 2.0


def _heartbeat(project: DbtProject, run_id: str) -> Any:
    rows = project.query(
        f"select heartbeat_at from {project.state_schema}.intacct_locks where run_id = '{run_id}'"
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def test_state_made_in_replace_mode_is_carried_over_to_append_and_back(
    project: DbtProject, emulator: Any
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    assert "intacct_state_log" not in _tables_in_state_schema(project)
    state = project.state("intacct_customers")
    assert len(state) == 3
    # Forced to append: the table becomes the log's history, the next sync sends nothing.
    project_yml = project.root / "dbt_project.yml"
    project_yml.write_text(project_yml.read_text() + "vars:\n  dbt_intacct_state_writes: append\n")
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["unchanged"] == 3
    assert {"intacct_state_log", "intacct_runs_log"} <= _tables_in_state_schema(project)
    assert project.state("intacct_customers") == state
    runs = project.query(f"select status from {project.state_schema}.intacct_runs order by started_at")
    assert runs == [("success",), ("success",)]
    # And back to replace: the views become tables of their current rows.
    project_yml.write_text(project_yml.read_text().replace("dbt_intacct_state_writes: append", "x: 1"))
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["unchanged"] == 3
    assert "intacct_state_log" not in _tables_in_state_schema(project)
    assert project.state("intacct_customers") == state


@pytest.mark.parametrize("state_writes", ["append"])
def test_alert_state_runs_and_api_call_retention_without_delete_or_update(project: DbtProject) -> None:
    with opened(project) as tables:
        tables.ensure()
        save_states(tables, "dev", "r1", {"failure": "firing", "budget": "ok"})
        save_states(tables, "dev", "r2", {"failure": "resolved"})
        assert load_states(tables, "dev") == {"failure": "resolved", "budget": "ok"}
        runs = RunLog(tables)
        runs.start_run("r2", "sync", "dev")
        runs.finish_run("r2", "success", "{}")
        assert [r["status"] for r in tables.warehouse.read_page(f"select * from {tables.runs}", 10)] == [
            "success"
        ]
        old, new = datetime.now() - timedelta(days=40), datetime.now()
        call = dict.fromkeys(columns_of(API_CALLS_TABLE))
        call |= {"duration_ms": 1.0, "url": "u", "outcome": "ok", "function_count": 1, "attempt": 1}
        call |= {"request_xml": "<request/>"}
        runs.record_api_calls(
            "r2", [call | {"sequence": 1, "started_at": old}, call | {"sequence": 2, "started_at": new}]
        )
        runs.start_run("r3", "sync", "dev")  # another run writing: no swap under it
        runs.prune(30)
        tables.warehouse.commit()
        assert _count(project, "intacct_api_calls") == 2
        runs.finish_run("r3", "error", "{}")
        runs.prune(30)
    assert project.query(f"select sequence from {project.state_schema}.intacct_api_calls") == [(2,)]
    assert _count(project, "intacct_alert_state_log") == 3
    assert _count(project, "intacct_runs_log") == 4
    assert not {"intacct_api_calls__new", "intacct_api_calls__old"} & _tables_in_state_schema(project)
