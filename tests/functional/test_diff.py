"""The diff in the warehouse: the hashes in the state stay valid, and keys shared by rows are always found."""

from __future__ import annotations

import hashlib

import pytest

from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.results import MAX_ROW_ERRORS
from dbt_intacct.state.canonical import hashed_columns
from tests.functional.test_sync_customers import customer_yaml, setup_customers
from tests.support.project import DbtProject

# The same logical values in types that differ from one warehouse, and one model, to another; each
# variant's row hash must be the md5 of one documented canonical text (docs/row-hashes.md): the
# fingerprint, then per column in name order chr(31) and 'N' for NULL, or the value's length, ':' and
# its canonical text.
COLUMNS = (
    "active",
    "amount",
    "at",
    "at_utc",
    "city",
    "email",
    "lines",
    "name",
    "paused",
    "qty",
    "rate",
    "since",
)
# Line arrays as each warehouse holds them (a DuckDB LIST of STRUCT, Postgres jsonb), and as JSON with
# its keys in another order and its amounts at another scale.
LINES = {
    "duckdb": "[struct_pack(account := '6500', amount := cast(1250.50 as decimal(18, 2)), memo := 'Zoë'), "
    "struct_pack(account := '2000', amount := cast(-1250.5 as decimal(18, 2)), memo := null)]",
    "postgres": "jsonb_build_array("
    "jsonb_build_object('account', '6500', 'amount', cast(1250.50 as numeric(18, 2)), 'memo', 'Zoë'), "
    "jsonb_build_object('account', '2000', 'amount', -1250.5, 'memo', null))",
}
LINES_JSON = (
    'cast(\'[{"memo": "Zoë", "amount": 1250.5000, "account": "6500"}, '
    '{"account": "2000", "memo": null, "amount": -1250.5}]\' as json)'
)
VARIANTS = {
    "narrow": {
        "active": "true",
        "amount": "cast(12.50 as decimal(12, 2))",
        "at": "cast('2024-03-01 10:20:30.5' as timestamp)",
        "at_utc": "cast('2024-03-01 10:20:30+02' as timestamp with time zone)",
        "city": "''",
        "email": "cast(null as varchar(20))",
        "lines": "",
        "name": "'Zoë \u2713 Ann'",
        "paused": "cast(null as boolean)",
        "qty": "cast(100 as integer)",
        "rate": "cast(0.1 as double precision)",
        "since": "cast('2024-02-29' as date)",
    },
    "wide": {
        "active": "(1 = 1)",
        "amount": "cast(12.5 as decimal(18, 6))",
        "at": "cast('2024-03-01 10:20:30.500000' as timestamp)",
        "at_utc": "cast('2024-03-01 08:20:30+00' as timestamp with time zone)",
        "city": "cast('' as varchar(200))",
        "email": "cast(null as varchar)",
        "lines": LINES_JSON,
        "name": "cast('Zoë \u2713 Ann' as varchar(100))",
        "paused": "case when 1 = 0 then true end",
        "qty": "cast(100 as decimal(10, 0))",
        "rate": "cast(0.10 as decimal(9, 4))",
        "since": "cast('2024-02-29' as date)",
    },
}
VALUES = {
    "active": "true",
    "amount": "12.5",
    "at": "2024-03-01T10:20:30.500000",
    "at_utc": "2024-03-01T08:20:30.000000",
    "city": "",
    "email": None,
    "lines": "\x1d\x1f7:account\x1f4:6500\x1f6:amount\x1f6:1250.5\x1f4:memo\x1f3:Zoë"
    "\x1d\x1f7:account\x1f4:2000\x1f6:amount\x1f7:-1250.5\x1f4:memo\x1fN",
    "name": "Zoë \u2713 Ann",
    "paused": None,
    "qty": "100",
    "rate": "0.1",
    "since": "2024-02-29",
}


def canonical_text(fingerprint: str, values: dict[str, str | None]) -> str:
    """The documented canonical row text (docs/row-hashes.md)."""
    parts = [fingerprint]
    for name in sorted(values):
        value = values[name]
        parts.append("\x1fN" if value is None else f"\x1f{len(value)}:{value}")
    return "".join(parts)


def test_row_hashes_are_the_md5_of_the_canonical_text_whatever_the_types(project: DbtProject) -> None:
    expected = "c1:" + hashlib.md5(canonical_text("fp", VALUES).encode()).hexdigest()
    with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        schema = w.target_schema
        w.create_schema(w.target_database, schema)
        found = {}
        for variant, values in VARIANTS.items():
            values = {**values, "lines": values["lines"] or LINES[project.warehouse]}
            table = w.relation(w.target_database, schema, f"hash_{variant}")
            select = ", ".join(f"{sql} as {w.quote(c)}" for c, sql in values.items())
            w.execute(f"create table {table} as select {select}")
            columns = hashed_columns(w, table, COLUMNS)
            hash_sql = w.render(
                "dbt_intacct__row_hash", columns=list(columns), fingerprint="fp", prefix="src."
            )
            found[variant] = w.fetch_small(f"select {hash_sql} from {table} src")[0][0]
            kinds = {c.name: c.kind for c in columns}
            assert kinds["at_utc"] == "timestamptz" and kinds["lines"] == "json", kinds
    assert found == {"narrow": expected, "wide": expected}


def test_the_canonical_text_cannot_be_made_by_other_values(project: DbtProject) -> None:
    # A value that spells the separator or the NULL marker, a value moved into the next column: each
    # is another text, so another hash.
    rows = [
        {"a": "x\x1fN", "b": None},
        {"a": "x", "b": "N"},
        {"a": "x\x1f1:N", "b": None},
        {"a": None, "b": None},
        {"a": "", "b": None},
        {"a": None, "b": ""},
    ]
    with Warehouse(DbtArgs(project_dir=project.root, profiles_dir=project.root)).open() as w:
        w.create_schema(w.target_database, w.target_schema)
        table = w.relation(w.target_database, w.target_schema, "hash_ambiguity")
        select = " union all ".join(
            "select "
            + ", ".join(
                f"cast({w.literal(v)} as {w.render('dbt_intacct__column_type', kind='string')}) as {c}"
                for c, v in row.items()
            )
            for row in rows
        )
        w.execute(f"create table {table} as {select}")
        columns = hashed_columns(w, table, ["a", "b"])
        hash_sql = w.render("dbt_intacct__row_hash", columns=list(columns), fingerprint="fp")
        found = [r[0] for r in w.fetch_small(f"select {hash_sql} from {table}")]
    assert len(set(found)) == len(rows)
    assert sorted(found) == sorted(
        "c1:" + hashlib.md5(canonical_text("fp", row).encode()).hexdigest() for row in rows
    )


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
    assert emulator.stats()["write_functions"] == 0
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
