"""The diff in the warehouse: the hashes in the state stay valid, and keys shared by rows are always found."""

from __future__ import annotations

import hashlib

import pytest

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.results import MAX_ROW_ERRORS
from tests.functional.test_sync_customers import customer_yaml, setup_customers
from tests.support.project import DbtProject

# Each row and the text its hash is documented to be made of: the fingerprint, then per column in name
# order the unit separator chr(30) and 'n' for NULL or 'v' and the value as text.
ROWS = (
    ("'Ann'", "cast(null as varchar(20))", "''", "true", "cast(12.5 as decimal(12, 2))"),
    ("'Bob'", "'b@x.example'", "cast(null as varchar(20))", "false", "cast(null as decimal(12, 2))"),
)
COLUMNS = ("name", "email", "city", "active", "credit")
_ROWS_SQL = " union all ".join(
    "select " + ", ".join(f"{v} as {c}" for v, c in zip(row, COLUMNS, strict=True)) for row in ROWS
)
TEXTS = (
    "fp\x1evtrue\x1ev\x1ev12.50\x1en\x1evAnn",
    "fp\x1evfalse\x1en\x1en\x1evb@x.example\x1evBob",
)


def test_row_hashes_are_the_md5_of_the_documented_text(project: DbtProject) -> None:
    # A state written by any earlier version must still match: a different hash resends every row.
    # DuckDB keeps md5; Postgres reads md5 states (and carries them over, see test_diff_checksum.py).
    with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        hash_sql = w.render("dbt_intacct__row_hash", columns=list(COLUMNS), fingerprint="fp", prefix="src.")
        found = [r[0] for r in w.fetch_small(f"select {hash_sql} from ({_ROWS_SQL}) src order by src.name")]
    assert found == [hashlib.md5(text.encode()).hexdigest() for text in TEXTS]


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_postgres_row_hashes_are_the_64_bit_hash_of_the_key_and_the_documented_text(
    project: DbtProject,
) -> None:
    # hash64: hashtextextended(key || chr(31) || text, 0), the text exactly as md5 hashes it.
    with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        assert w.render("dbt_intacct__hash_scheme").strip() == "hash64"
        hash_sql = w.render(
            "dbt_intacct__row_hash",
            columns=list(COLUMNS),
            fingerprint="fp",
            prefix="src.",
            key_columns=["name"],
            scheme="hash64",
        )
        found = [r[0] for r in w.fetch_small(f"select {hash_sql} from ({_ROWS_SQL}) src order by src.name")]
        texts = [f"{name}\x1f{text}" for name, text in zip(("Ann", "Bob"), TEXTS, strict=True)]
        expected = [str(w.fetch_small(f"select hashtextextended({w.literal(t)}, 0)")[0][0]) for t in texts]
    assert found == expected
    assert all(len(h) <= 20 for h in found) and len(set(found)) == 2


def test_a_key_shared_by_an_unchanged_row_and_its_copy_is_reported(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    # A copy of a row already synced, identical to it: nothing of it changed, but the key is now shared.
    project.model(
        "intacct_customers",
        "select * from {{ ref('crm_customers') }} union all "
        "select * from {{ ref('crm_customers') }} where code = 'C2'",
    )
    project.build()
    before = emulator.stats()["requests"]
    run = project.sync()
    assert run.exit_code == 1, run.output
    errors = run.model("intacct_customers")["errors"]
    assert [(e["row_key"], "shared by 2 rows" in e["message"]) for e in errors] == [("C2", True)]
    assert run.counts("intacct_customers")["unchanged"] == 2
    assert emulator.stats()["requests"] == before
    state = project.state("intacct_customers")
    # What Intacct holds for the key is kept, so that it is updated, not created again, once unique.
    assert state["C2"]["status"] == "rejected" and state["C2"]["recordno"] and state["C2"]["version"] == 1


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_a_state_made_without_its_index_gets_it_and_stays_valid(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    index = f"{project.state_schema}.intacct_state_model_id_row_key"
    project.query(f"drop index {index}")  # as a state table made by an older version
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["unchanged"] == 3
    assert project.query(f"select to_regclass('{index}') is not null") == [(True,)]


def test_more_shared_keys_than_the_diff_reads_at_once_are_all_counted(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    # 12,000 keys shared by two rows each, beyond the 10,000 shared keys that the key count (on Postgres
    # on a second connection) hands back as rows: the count is then run again straight into the diff.
    project.model(
        "intacct_customers",
        """
        with ids as (
          {% if target.type == 'duckdb' %}select range as i from range(24000)
          {% else %}select generate_series(0, 23999) as i{% endif %}
        )
        select 'K' || cast(i % 12000 as varchar) as code, 'Name ' || cast(i as varchar) as name,
          cast(null as varchar) as email, 'Paris' as city, 'smb' as segment
        from ids
        union all
        select 'U1', 'Unique', cast(null as varchar), 'Oslo', 'smb'
        """,
    )
    project.schema_yml(customer_yaml())
    project.build()
    run = project.plan()
    assert run.exit_code == 1, run.output  # rejected rows
    model = run.model("intacct_customers")
    assert model["counts"]["rejected"] == 24_000
    assert model["planned"] == {"create": 1}
    shared = [e for e in model["errors"] if "is shared by 2 rows" in e["message"]]
    assert len(shared) == len(model["errors"]) == MAX_ROW_ERRORS  # the first ones, in key order
    assert shared[0]["row_key"] == "K0"
    assert emulator.stats()["requests"] == 0
    # A sync records every shared key as rejected, with its reason, not only the errors listed.
    synced = project.sync()
    assert synced.exit_code == 1, synced.output
    assert synced.counts("intacct_customers")["created"] == 1
    rows = project.query(
        f"select status, count(*), min(error) from {project.state_schema}.intacct_state group by status"
    )
    found = {status: (count, error) for status, count, error in rows}
    assert found["ok"][0] == 1 and found["rejected"][0] == 12_000
    assert "is shared by 2 rows" in found["rejected"][1]
