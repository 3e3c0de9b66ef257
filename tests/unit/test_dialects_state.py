"""The tool's own writes on the warehouses written from documentation (Snowflake, BigQuery, Databricks,
Redshift): the state code runs against a warehouse that records what it would send
(tests/support/dialects.py), and every statement parses in the warehouse's dialect."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlglot
from sqlglot import exp

from dbt_intacct.state import Intent, Ledger, RowOutcome, RunLog, StateTables, SyncLocks
from dbt_intacct.state.models import forget_model
from dbt_intacct.state.tables import MODEL_RESULTS_TABLE, columns_of
from tests.support.dialects import DIALECTS, SQLGLOT_DIALECT, RecordingWarehouse, statements

MODEL = "model.finance.customers"
KEYS = ["C-1", "O'Brien", "back\\slash", "Zoë"]


def _parse_all(w: RecordingWarehouse) -> int:
    dialect = SQLGLOT_DIALECT[w.adapter_type]
    failures, parsed = [], 0
    for sql in w.statements:
        for statement in statements(sql):
            try:
                tree = sqlglot.parse_one(statement, read=dialect)
            except sqlglot.errors.ParseError as exc:
                failures.append(f"{exc}\n{statement}")
                continue
            assert not isinstance(tree, exp.Command), f"parsed as an opaque command:\n{statement}"
            parsed += 1
    assert not failures, "\n\n".join(failures)
    return parsed


@pytest.mark.parametrize("dialect", DIALECTS)
def test_state_tables_are_created_and_carried_over(dialect: str) -> None:
    w = RecordingWarehouse(dialect)
    StateTables.of_target(w, None).ensure()
    text = "\n".join(w.statements).lower()
    assert "create table if not exists" in text
    assert "add column" in text
    assert _parse_all(w) > 10


@pytest.mark.parametrize("dialect", DIALECTS)
def test_intents_outcomes_and_runs_parse(dialect: str) -> None:
    w = RecordingWarehouse(dialect)
    tables = StateTables.of_target(w, None)
    ledger, runs = Ledger(tables), RunLog(tables)
    runs.start_run("run-1", "sync", "dev")
    ledger.record_intents(
        "run-1",
        MODEL,
        [
            Intent(row_key=k, row_hash="0" * 32, action="create", controlid=f"c-{i}",
                   payload="<create><CUSTOMER><NAME>O'Brien \\ Zoë</NAME></CUSTOMER></create>",
                   version=0, recordno=None, intacct_id=None, line_counts=None, entity="")
            for i, k in enumerate(KEYS)
        ],
    )  # fmt: skip
    ledger.record_outcomes(
        "run-1",
        MODEL,
        [RowOutcome(row_key=k, row_hash="0" * 32, action="create", status="ok", version=0, recordno="42")
         for k in KEYS],
    )  # fmt: skip
    results = {c: 0 for c in columns_of(MODEL_RESULTS_TABLE)}
    results.update({"model_id": MODEL, "name": "customers", "object": "CUSTOMER", "mode": "upsert",
                    "status": "success", "message": None, "elapsed_seconds": 1.25, "timings": "{}",
                    "recorded_at": datetime(2026, 12, 5)})  # fmt: skip
    runs.record_model_result("run-1", results)
    runs.finish_run("run-1", "success", "{}", "done")
    assert _parse_all(w) >= 5


@pytest.mark.parametrize("dialect", DIALECTS)
def test_locks_forget_and_compaction_parse(dialect: str) -> None:
    # Answers: a model with rows to forget; a table whose superseded rows call for compaction.
    answers = {"select (select count(*)": [(10, 2)], "select count(*) from": [(3,)]}  # first match wins
    w = RecordingWarehouse(dialect, answers=answers)
    tables = StateTables.of_target(w, None)
    locks = SyncLocks(tables)
    locks.try_lock("sync:analytics_intacct", "run-1")
    locks.unlock("sync:analytics_intacct", "run-1")
    assert forget_model(tables, MODEL, "run-2") == 3
    compact = getattr(tables, "compact", None)
    if compact is not None:  # the append-only state's compaction, where the package has it
        compact(threshold=0)
    assert _parse_all(w) >= 4
