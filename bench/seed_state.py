"""Mark every row of a model as synced, in one SQL statement, as a completed first sync would leave it.

    .venv/bin/python bench/seed_state.py MODEL --project-dir DIR --profiles-dir DIR [--verify]

A real first sync of a million rows spends most of its time in the emulator; the no-op and 1% benchmarks
only need its result: one `ok` state row per model row, with the hash the tool computes. The hash and the
row key are rendered from the tool's own macros (`dbt_intacct__row_hash` with the warehouse's scheme,
`dbt_intacct__row_key`) with the spec's fingerprint and the columns `prepare` chose, so they are the ones
a sync writes.

Where the state is written insert-only (append mode: Spark's parquet tables; `dbt_intacct/state/append.py`)
the state is a log read through a view of each key's latest row, and a first sync leaves two log rows
per key: its intent (`pending`, version 0) and then its outcome (`ok`, version 1, with the record's
RECORDNO and ID), under one controlid. The seed writes exactly these two rows per key in one statement,
with seqs after the log's last (a key's intent just before its outcome, where a sync writes a page of
intents before their outcomes: the order across keys, which nothing reads, is the only difference). It
refuses a model that already has state rows there (a log cannot lose them).

`--verify` does not write: it counts the state rows whose hash differs from that computation and, in
append mode, the keys whose log rows are not such a pair; after a real sync both must be zero (the
--quick runs check this).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse  # noqa: E402
from dbt_intacct.results import SilentProgress  # noqa: E402
from dbt_intacct.state import StateTables  # noqa: E402
from dbt_intacct.state.append import log_name  # noqa: E402
from dbt_intacct.state.tables import STATE_TABLE  # noqa: E402
from dbt_intacct.sync.model import prepare  # noqa: E402
from dbt_intacct.sync.task import SyncOptions, SyncTask  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--project-dir", type=Path, required=True)
    parser.add_argument("--profiles-dir", type=Path, required=True)
    parser.add_argument("--verify", action="store_true", help="count hash mismatches; write nothing")
    args = parser.parse_args()
    dbt_args = DbtArgs(project_dir=args.project_dir, profiles_dir=args.profiles_dir)
    specs = [
        s for s in SyncTask(SyncOptions(dbt=dbt_args), SilentProgress()).load_specs() if s.name == args.model
    ]
    if not specs:
        raise SystemExit(f"no intacct model named {args.model}")
    with Warehouse(dbt_args).open() as w:
        store = StateTables.of_target(w, None)
        store.ensure()
        prepared, problems = prepare(w, specs)
        if problems:
            raise SystemExit("\n".join(problems))
        (model,) = prepared
        spec = model.spec
        key = w.render("dbt_intacct__row_key", columns=list(spec.primary_key))
        row_hash = w.render(
            "dbt_intacct__row_hash",
            columns=list(model.hash_columns),
            fingerprint=spec.fingerprint,
            key_columns=list(spec.primary_key),
            scheme=w.render("dbt_intacct__hash_scheme").strip(),
        )
        state = w.relation(store.database, store.schema, STATE_TABLE)
        model_id = w.literal(spec.model_id)
        append = store.log is not None
        log = w.relation(store.database, store.schema, log_name(STATE_TABLE))
        if args.verify:
            rows = w.fetch_small(
                f"select count(*), sum(case when st.row_hash = src.h then 0 else 1 end) "
                f"from {state} st join (select {key} as k, {row_hash} as h from {model.relation}) src "
                f"on st.row_key = src.k where st.model_id = {model_id}"
            )
            compared, mismatched = int(rows[0][0]), int(rows[0][1] or 0)
            report = f"{compared} state rows compared, {mismatched} with a different hash"
            odd = 0
            if append:
                odd = int(w.fetch_small(_odd_log_keys_sql(log, model_id))[0][0])
                report += f"; {odd} keys whose log rows are not an intent followed by its outcome"
            print(report)
            return 1 if mismatched or odd or not compared else 0
        id_value = key if spec.object.id_field else "null"
        text = _string_type(w)
        columns = (
            "model_id, row_key, row_hash, status, recordno, intacct_id, version, controlid, action, "
            "errorno, error, line_counts, run_id, updated_at"
        )
        if append:
            if int(w.fetch_small(f"select count(*) from {state} where model_id = {model_id}")[0][0]):
                raise SystemExit(f"{spec.name} has state rows already: seed a new state schema")
            last = int(w.fetch_small(f"select coalesce(max(seq), 0) from {log}")[0][0])
            # Per key, its intent (pending, version 0) and its outcome (ok, version 1) right after it.
            w.execute(
                f"insert into {log} ({columns}, seq, tombstone) "
                f"select {model_id}, src.k, src.h, step.status, "
                f"case when step.outcome then cast(src.n as {text}) end, "
                f"case when step.outcome then src.id end, step.outcome_version, "
                f"concat('bench-seed-', cast(src.n as {text})), 'create', null, null, null, 'bench-seed', "
                f"current_timestamp, cast({last} + 2 * src.n - 1 + step.outcome_version as bigint), 0 "
                f"from (select {key} as k, {row_hash} as h, cast({id_value} as {text}) as id, "
                f"row_number() over (order by {key}) as n from {model.relation}) src "
                "cross join (select 'pending' as status, false as outcome, 0 as outcome_version "
                "union all select 'ok', true, 1) step"
            )
        else:
            w.execute(f"delete from {state} where model_id = {model_id}")
            w.execute(
                f"insert into {state} ({columns}) "
                f"select {model_id}, {key}, {row_hash}, 'ok', "
                f"cast(row_number() over () as {text}), {id_value}, 1, null, 'create', null, null, "
                f"null, 'bench-seed', current_timestamp from {model.relation}"
            )
        w.commit()
        if w.adapter_type == "postgres":
            # A state table filled by a real first sync has been analysed by autovacuum long before the
            # next sync; one filled in a single statement has not, and Postgres would plan blind.
            w.execute(f"analyze {state}")
            w.commit()
        count = w.fetch_small(f"select count(*) from {state} where model_id = {model_id}")[0][0]
        written = f"{count} state rows written for {spec.name}"
        if append:
            log_rows = w.fetch_small(f"select count(*) from {log} where model_id = {model_id}")[0][0]
            written += f" (append mode: {log_rows} log rows, an intent and its outcome per key)"
        print(written)
    return 0


def _odd_log_keys_sql(log: object, model_id: str) -> str:
    """How many keys of a model have log rows other than one intent followed by its `ok` outcome."""
    return (
        "select count(*) from (select row_key, count(*) as n, "
        "sum(case when status = 'pending' and version = 0 then 1 else 0 end) as intents, "
        "sum(case when status = 'ok' and version = 1 and recordno is not null then 1 else 0 end) "
        "as outcomes, "
        "max(case when status = 'pending' then seq end) as intent_seq, "
        "max(case when status = 'ok' then seq end) as outcome_seq, "
        "count(distinct controlid) as controlids, max(coalesce(tombstone, 0)) as tombstones "
        f"from {log} where model_id = {model_id} group by row_key) per_key "
        "where not (n = 2 and intents = 1 and outcomes = 1 and intent_seq < outcome_seq "
        "and controlids = 1 and tombstones = 0)"
    )


def _string_type(w: Warehouse) -> str:
    return "varchar" if w.adapter_type in {"duckdb", "postgres"} else "string"


if __name__ == "__main__":
    sys.exit(main())
