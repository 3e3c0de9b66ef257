"""Postgres proves an unchanged model unchanged by a checksum; states an older version hashed (md5, or
hash64 on Postgres) are carried over to canonical row hashes without a call.

DuckDB checks the keys alone (the last test): when they agree, the keys are not counted and the join is
an inner one.

The check before the diff (macro `dbt_intacct__diff_check_sql`) compares counts and the XOR of the rows'
64-bit hashes, relation against state; only when they agree is the full join skipped. These tests make
the changes that a weaker check would miss, and check that each is still found and sent.
"""

from __future__ import annotations

import pytest

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.results import SilentProgress
from dbt_intacct.state.tables import STATE_TABLE
from dbt_intacct.sync.model import prepare
from dbt_intacct.sync.task import SyncOptions, SyncTask
from tests.functional.test_sync_customers import CUSTOMERS, customer_yaml, customers_by_id, setup_customers
from tests.support.project import DbtProject

postgres_only = pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)

MODEL = "intacct_customers"


def _rebuild(project: DbtProject, sql: str) -> None:
    project.model(MODEL, sql)
    project.build()


@postgres_only
def test_an_unchanged_model_skips_the_join_and_a_change_does_not(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    first = project.sync()
    assert first.exit_code == 0, first.output
    assert first.model(MODEL)["diff"] == {
        "method": "full join",
        "row_hash": "canonical",
        "hashes_carried_over": 0,
    }
    before = emulator.stats()["requests"]
    again = project.sync()
    assert again.exit_code == 0, again.output
    assert again.model(MODEL)["diff"]["method"] == "checksum"
    assert again.counts(MODEL)["unchanged"] == 3
    assert emulator.stats()["requests"] == before
    _rebuild(
        project,
        "select code, case when code = 'C3' then 'Cobalt SA' else name end as name, "
        "email, city, segment from {{ ref('crm_customers') }}",
    )
    changed = project.sync()
    assert changed.exit_code == 0, changed.output
    assert changed.model(MODEL)["diff"]["method"] == "join"
    assert changed.counts(MODEL)["updated"] == 1
    assert customers_by_id(emulator)["C3"]["NAME"] == "Cobalt SA"


@postgres_only
def test_two_rows_that_swap_their_keys_are_both_sent(project: DbtProject, emulator: EmulatorAdmin) -> None:
    # The key (row_id) is not a mapped column: swapping it between two rows leaves the same row texts,
    # only under other keys. The key is inside each row's hash, so the XOR of the hashes changes.
    project.seed("crm_customers", CUSTOMERS)
    project.schema_yml(customer_yaml().replace("primary_key: code", "primary_key: row_id"))
    _rebuild(project, "select 'R' || code as row_id, * from {{ ref('crm_customers') }}")
    assert project.sync().exit_code == 0
    assert project.sync().model(MODEL)["diff"]["method"] == "checksum"
    _rebuild(
        project,
        "select case code when 'C1' then 'RC2' when 'C2' then 'RC1' else 'R' || code end as row_id, * "
        "from {{ ref('crm_customers') }}",
    )
    run = project.sync()
    model = run.model(MODEL)
    assert model["diff"]["method"] == "join"
    counts = model["counts"]
    assert counts["unchanged"] == 1
    assert counts["updated"] + counts["failed"] + counts["rejected"] == 2, run.output


@postgres_only
def test_a_copy_of_one_row_in_place_of_another_is_found(project: DbtProject, emulator: EmulatorAdmin) -> None:
    # Three rows again, as in the state, but C2 twice and C3 gone: the count agrees, the XOR does not
    # (C2's hash twice cancels out, leaving C3's missing).
    setup_customers(project)
    assert project.sync().exit_code == 0
    before = emulator.stats()["requests"]
    _rebuild(
        project,
        "select * from {{ ref('crm_customers') }} where code <> 'C3' union all "
        "select * from {{ ref('crm_customers') }} where code = 'C2'",
    )
    run = project.sync()
    assert run.exit_code == 1, run.output
    model = run.model(MODEL)
    assert model["diff"]["method"] == "full join"
    assert [e["row_key"] for e in model["errors"]] == ["C2"]
    assert "shared by 2 rows" in model["errors"][0]["message"]
    assert emulator.stats()["requests"] == before


@postgres_only
def test_a_row_with_a_null_key_or_a_rejected_row_is_never_taken_for_unchanged(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    _rebuild(
        project,
        "select * from {{ ref('crm_customers') }} union all "
        "select cast(null as varchar), 'Nobody', null, 'Paris', 'smb'",
    )
    run = project.sync()
    assert run.exit_code == 1, run.output
    assert run.model(MODEL)["diff"]["method"] == "full join"
    assert run.counts(MODEL)["rejected"] == 1
    # The same rows again: the NULL key is still there and still reported.
    again = project.sync()
    assert again.model(MODEL)["diff"]["method"] == "full join"
    assert again.counts(MODEL)["rejected"] == 1
    # A state row left `rejected` (a shared key, a bad value) is retried, even with every count equal.
    _rebuild(project, "select * from {{ ref('crm_customers') }}")
    project.query(f"update {project.state_schema}.intacct_state set status = 'rejected' where row_key = 'C1'")
    retried = project.sync()
    assert retried.exit_code == 0, retried.output
    assert retried.model(MODEL)["diff"]["method"] == "join"
    assert retried.counts(MODEL)["updated"] == 1 and retried.counts(MODEL)["unchanged"] == 2


@postgres_only
def test_an_insert_only_model_compares_its_keys(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project, mode="insert")
    assert project.sync().exit_code == 0
    again = project.sync()
    assert again.model(MODEL)["diff"]["method"] == "checksum"
    _rebuild(
        project,
        "select * from {{ ref('crm_customers') }} union all select 'C4', 'Delta', null, 'Lille', 'smb'",
    )
    added = project.sync()
    assert added.exit_code == 0, added.output
    assert added.model(MODEL)["diff"]["method"] == "full join"
    assert added.counts(MODEL)["created"] == 1 and added.counts(MODEL)["unchanged"] == 3


def _write_legacy_hashes(project: DbtProject, scheme: str) -> int:
    """Rewrite the model's state hashes as an older version wrote them (`scheme`: md5 or hash64)."""
    args = DbtArgs(project_dir=project.root, profiles_dir=project.root)
    specs = [s for s in SyncTask(SyncOptions(dbt=args), SilentProgress()).load_specs() if s.name == MODEL]
    with Warehouse(args).open() as w:
        (model,), problems = prepare(w, specs)
        assert not problems
        spec = model.spec
        state = w.relation(w.target_database, f"{w.target_schema}_intacct", STATE_TABLE)
        old = w.render(
            "dbt_intacct__row_hash",
            columns=list(model.hash_columns),
            fingerprint=spec.fingerprint,
            prefix="src.",
            key_columns=list(spec.primary_key),
            scheme=scheme,
        )
        key = w.render("dbt_intacct__row_key", columns=list(spec.primary_key), prefix="src.")
        w.execute(
            f"update {state} as st set row_hash = {old} from {model.relation} src "
            f"where st.model_id = {w.literal(spec.model_id)} and st.row_key = {key}"
        )
        w.commit()
        return int(w.fetch_small(f"select count(*) from {state} where row_hash not like 'c1:%'")[0][0])


@pytest.mark.parametrize(
    ("warehouse", "scheme"),
    [("duckdb", "md5"), ("postgres", "hash64"), ("postgres", "md5")],
    indirect=["warehouse"],
)
def test_row_hashes_of_an_older_version_are_carried_over_without_a_call(
    project: DbtProject, emulator: EmulatorAdmin, scheme: str
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    assert _write_legacy_hashes(project, scheme) == 3
    # Since that older sync: C2 renamed, C3 left the model (delete: nothing keeps its state).
    _rebuild(
        project,
        "select code, case when code = 'C2' then 'Blue SA' else name end as name, email, city, segment "
        "from {{ ref('crm_customers') }} where code <> 'C3'",
    )
    legacy = {"duckdb": "md5", "postgres": "hash64"}[project.warehouse]
    if scheme == legacy:
        # A plan writes nothing: it compares with the older version's hash, and finds the one change.
        plan = project.plan()
        assert plan.exit_code == 0, plan.output
        assert plan.model(MODEL)["diff"] == {
            "method": "full join",
            "row_hash": scheme,
            "hashes_carried_over": 0,
        }
        assert plan.model(MODEL)["planned"] == {"update": 1}
    assert project.query(
        f"select count(*) from {project.state_schema}.intacct_state where row_hash not like 'c1:%'"
    ) == [(3,)]
    before = emulator.stats()["requests"]
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.model(MODEL)["diff"] == {
        "method": "full join",
        "row_hash": "canonical",
        "hashes_carried_over": 3,
    }
    assert run.counts(MODEL)["updated"] == 1 and run.counts(MODEL)["unchanged"] == 1
    assert emulator.stats()["requests"] - before == 2  # a session, then C2's update: nothing for C1
    assert customers_by_id(emulator)["C2"]["NAME"] == "Blue SA"
    hashes = dict(project.query(f"select row_key, row_hash from {project.state_schema}.intacct_state"))
    assert hashes["C3"] == "md5 hash not carried over"
    assert all(hashes[k].startswith("c1:") and len(hashes[k]) == 35 for k in ("C1", "C2"))
    # C3 left the model under `delete: nothing`: its state row stays 'ok', so the counts cannot agree
    # and every run joins (finding nothing to send).
    settled = project.sync()
    assert settled.model(MODEL)["diff"]["method"] == "full join"
    assert settled.counts(MODEL)["unchanged"] == 2
    assert emulator.stats()["requests"] - before == 2
    # C3 back as it was: its old hash was not carried over, so it is sent once more; then the check
    # proves the model unchanged (Postgres) or its keys the same (DuckDB).
    _rebuild(
        project,
        "select code, case when code = 'C2' then 'Blue SA' else name end as name, email, city, segment "
        "from {{ ref('crm_customers') }}",
    )
    back = project.sync()
    assert back.exit_code == 0, back.output
    assert back.counts(MODEL)["updated"] == 1 and back.counts(MODEL)["unchanged"] == 2
    last = project.sync()
    method = "checksum" if project.warehouse == "postgres" else "join"
    assert last.model(MODEL)["diff"] == {"method": method, "row_hash": "canonical", "hashes_carried_over": 0}
    assert last.counts(MODEL)["unchanged"] == 3


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_duckdb_checks_the_keys_alone(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    assert project.sync().model(MODEL)["diff"] == {
        "method": "full join",
        "row_hash": "canonical",
        "hashes_carried_over": 0,
    }
    before = emulator.stats()["requests"]
    again = project.sync()
    assert again.model(MODEL)["diff"]["method"] == "join"  # the keys agree; rows are still compared
    assert again.counts(MODEL)["unchanged"] == 3 and emulator.stats()["requests"] == before
    _rebuild(
        project,
        "select * from {{ ref('crm_customers') }} where code <> 'C3' union all "
        "select * from {{ ref('crm_customers') }} where code = 'C2'",
    )
    shared = project.sync()
    assert shared.model(MODEL)["diff"]["method"] == "full join"
    assert [e["row_key"] for e in shared.model(MODEL)["errors"]] == ["C2"]
    _rebuild(
        project, "select code, upper(name) as name, email, city, segment from {{ ref('crm_customers') }}"
    )
    changed = project.sync()
    assert changed.exit_code == 0, changed.output
    assert changed.model(MODEL)["diff"]["method"] == "join"  # C2 was rejected: same keys, retried
    assert changed.counts(MODEL)["updated"] == 3
