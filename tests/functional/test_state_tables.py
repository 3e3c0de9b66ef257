"""The state tables: created on first use, by whichever of several syncs starting together gets there."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import psycopg2
import pytest

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.observe.history import find_run
from dbt_intacct.state import RunLog, StateTables
from dbt_intacct.state.tables import MODEL_RESULTS_TABLE, TABLES
from tests.resilience.processes import SyncProcess, build_released
from tests.support.project import POSTGRES, DbtProject


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_a_sync_that_loses_the_race_to_create_the_state_schema_looks_again(project: DbtProject) -> None:
    # Another sync has created the state schema in a transaction it has not committed yet: this one's
    # `create schema if not exists` waits for it, then fails on the catalogue's unique key once it commits.
    # Without looking again, the sync would stop with that error.
    schema = project.state_schema
    other = psycopg2.connect(**POSTGRES)
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
                StateTables(w, schema, w.target_database).ensure()
        except BaseException as exc:
            errors.append(exc)

    try:
        with other.cursor() as cursor:
            cursor.execute(f'create schema "{schema}"')
        racer = threading.Thread(target=ensure)
        racer.start()
        deadline = time.monotonic() + 60
        while not _waiting_on_a_lock(schema):
            assert racer.is_alive() and time.monotonic() < deadline, f"the sync never waited: {errors}"
            time.sleep(0.05)
        other.commit()
        racer.join(60)
    finally:
        other.close()
    assert not racer.is_alive() and errors == []
    tables = project.query(
        f"select table_name from information_schema.tables where table_schema = '{schema}' order by 1"
    )
    assert [t[0] for t in tables] == sorted(TABLES)


def _waiting_on_a_lock(schema: str) -> bool:
    with psycopg2.connect(**POSTGRES) as con, con.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query ilike %s",
            (f"%create schema%{schema}%",),
        )
        return bool(cursor.fetchone()[0])


def test_a_model_result_reads_back_with_the_seconds_it_was_written_with(project: DbtProject) -> None:
    # The run results file and `show` must print the same seconds. DuckDB keeps the `float` column in 32 bits,
    # where 1.075 becomes 1.0750000477: printed to two places, "1.08" against the file's "1.07".
    row = {c[0]: 0 for c in TABLES[MODEL_RESULTS_TABLE] if c[1] == "int"}
    row |= {"model_id": "model.demo.m", "name": "m", "object": "CUSTOMER", "mode": "upsert"}
    row |= {"status": "success"}
    row |= {"message": None, "elapsed_seconds": 1.075, "timings": '{"diff": 0.125}'}
    with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        tables = StateTables(w, project.state_schema, w.target_database)
        tables.ensure()
        RunLog(tables).start_run("20261128T000000-test", "sync", "dev")
        RunLog(tables).record_model_result("20261128T000000-test", row)
        run = find_run(tables, "20261128T000000-test")
    assert run is not None
    (model,) = run.models
    assert (model.elapsed_seconds, f"{model.elapsed_seconds:.2f}") == (1.075, "1.07")
    assert model.timings["diff"] == 0.125


def _hold_duckdb_file(project: DbtProject, seconds: float) -> subprocess.Popen[str]:
    """Another process (dbt, a notebook, another sync) with the project's DuckDB file open."""
    path = project.root / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            f"time.sleep({seconds})",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_lock_timeout_waits_for_a_duckdb_file_another_process_holds(project: DbtProject) -> None:
    project.seed("crm", "code,name\nC1,Acme\n")
    project.model("intacct_customers", "select * from {{ ref('crm') }}")
    project.schema_yml(
        "models:\n  - name: intacct_customers\n    config:\n      meta:\n        intacct:\n"
        "          object: customer\n          primary_key: code\n"
        "          mapping: {CUSTOMERID: code, NAME: name}\n"
    )
    build_released(project)
    holder = _hold_duckdb_file(project, 60)
    try:
        refused = project.sync()
        assert refused.exit_code == 2, refused.output
        assert "in use by another process" in refused.output and "--lock-timeout" in refused.output
    finally:
        holder.kill()
        holder.wait()
    holder = _hold_duckdb_file(project, 600)
    waiting = SyncProcess(project, "--lock-timeout", "120").start()
    try:
        assert waiting.wait_for_line(re.compile(r"waiting up to 120 s \(--lock-timeout\)"), 120), (
            waiting.output
        )
    finally:
        holder.kill()
        holder.wait()
    assert waiting.wait(300) == 0, waiting.output + waiting.stderr
    assert re.search(r"OK\s+intacct_customers: 1 created", waiting.output), waiting.output
