"""Mark every row of a model as synced, in one SQL statement, as a completed first sync would leave it.

    .venv/bin/python bench/seed_state.py MODEL --project-dir DIR --profiles-dir DIR [--verify]

A real first sync of a million rows spends most of its time in the emulator; the no-op and 1% benchmarks
only need its result: one `ok` state row per model row, with the hash the tool computes. The hash and the
row key are rendered from the tool's own macros (`dbt_intacct__row_hash` with the warehouse's scheme,
`dbt_intacct__row_key`) with the spec's fingerprint and the columns `prepare` chose, so they are the ones
a sync writes. `--verify` does
not write: it counts the state rows whose hash differs from that computation, which after a real sync
must be zero (the --quick runs check this).
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
        if args.verify:
            rows = w.fetch_small(
                f"select count(*), sum(case when st.row_hash = src.h then 0 else 1 end) "
                f"from {state} st join (select {key} as k, {row_hash} as h from {model.relation}) src "
                f"on st.row_key = src.k where st.model_id = {model_id}"
            )
            compared, mismatched = int(rows[0][0]), int(rows[0][1] or 0)
            print(f"{compared} state rows compared, {mismatched} with a different hash")
            return 1 if mismatched or not compared else 0
        id_value = key if spec.object.id_field else "null"
        w.execute(f"delete from {state} where model_id = {model_id}")
        w.execute(
            f"insert into {state} (model_id, row_key, row_hash, status, recordno, intacct_id, version, "
            "controlid, action, errorno, error, line_counts, run_id, updated_at) "
            f"select {model_id}, {key}, {row_hash}, 'ok', "
            f"cast(row_number() over () as {_string_type(w)}), {id_value}, 1, null, 'create', null, null, "
            f"null, 'bench-seed', current_timestamp from {model.relation}"
        )
        w.commit()
        if w.adapter_type == "postgres":
            # A state table filled by a real first sync has been analysed by autovacuum long before the
            # next sync; one filled in a single statement has not, and Postgres would plan blind.
            w.execute(f"analyze {state}")
            w.commit()
        count = w.fetch_small(f"select count(*) from {state} where model_id = {model_id}")[0][0]
        print(f"{count} state rows written for {spec.name}")
    return 0


def _string_type(w: Warehouse) -> str:
    return "varchar" if w.adapter_type in {"duckdb", "postgres"} else "string"


if __name__ == "__main__":
    sys.exit(main())
