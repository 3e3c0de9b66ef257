"""One plan everywhere: the same golden dataset, built by real dbt on each engine, gives the same plan.

Customers (NULLs, Unicode, quotes, decimals of several scales, a boolean, a date, an integer) and journal
entries with lines are built by dbt on DuckDB, Postgres and, where the test suite has a Spark target,
Spark, each with column types of its own widths (an integer as INTEGER on one engine and BIGINT on
another, a decimal as DECIMAL(18,4), NUMERIC(12,2) or DECIMAL(20,3)). `plan --out` on each must give the
same plan: the same functions (model, row key, action, body, control ID, row hash), the same counts and
API cost, the same row counts in the fingerprint. What is engine-specific in a plan file is left out of
the comparison, and named: the plan's time and checksum, the target's name and state schema. The
fingerprint's checksums (order-independent aggregates of the first bits of each row's md5, which a saved
plan compares only with the same warehouse: `sync --plan`) are equal on DuckDB and Postgres, which take
64 bits alike, and compared there; Spark takes 60, so its checksums are left out.

One dbt build and one plan per engine, shared by the module's tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from dbt_intacct.emulator.server import EmulatorServer
from tests.support.project import DbtProject
from tests.support.spark import WITH_SPARK

# The engines of the suite: DuckDB, Postgres and Spark (its `spark_home` fixture).
ENGINES: tuple[str, ...] = WITH_SPARK
OTHERS = [e for e in ENGINES if e != "duckdb"]

# Each engine's own types for the same logical columns: widths and scales differ on purpose.
TYPES: dict[str, dict[str, str]] = {
    "duckdb": {"text": "varchar", "credit": "decimal(18,4)", "days": "integer", "amount": "decimal(18,2)"},
    "postgres": {"text": "text", "credit": "numeric(12,2)", "days": "bigint", "amount": "numeric(14,4)"},
    "spark": {"text": "string", "credit": "decimal(20,3)", "days": "bigint", "amount": "decimal(18,2)"},
}

CUSTOMERS = """\
code,name,email,city,credit,days,onhold,since
C1,Acme Corp,ap@acme.example,Paris,15000.5,30,false,2024-01-15
C2,Zoë Ångström & Fils,,Zürich,0,,true,2023-12-31
C3,日本語の顧客 <Ltd>,c3@example.jp,,1234567.12,45,,
C4,"O'Brien, ""Quoted"" \\ Ltd",billing@obrien.example,Dublin,,0,false,2026-02-28
C5,Ünïcødé ✓ — 😀,,,-42.1,-7,true,1999-12-31
"""

CUSTOMERS_YAML = """\
  - name: golden_customers
    config:
      meta:
        intacct:
          object: customer
          mode: upsert
          primary_key: code
          mapping:
            CUSTOMERID: code
            NAME: name
            DISPLAYCONTACT.PRINTAS: name
            DISPLAYCONTACT.EMAIL1: email
            DISPLAYCONTACT.MAILADDRESS.CITY: city
            CREDITLIMIT: credit
            ONHOLD: onhold
            STATUS: {value: active}
            COMMENTS: {template: "since [[ row.since ]], terms [[ row.days ]] days"}
"""

JOURNAL_LINES = """\
entry_id,posting_date,title,line_no,account,amount,memo
JE-1,2026-10-31,Payroll accrual,1,6500,1250.50,Salaries
JE-1,2026-10-31,Payroll accrual,2,2000,-1250.50,Accrued payroll
JE-2,2026-10-31,Hébergement 日本,1,6000,300.10,Hosting
JE-2,2026-10-31,Hébergement 日本,2,6000,0.20,
JE-2,2026-10-31,Hébergement 日本,3,2000,-300.30,Accrued vendors
"""

JOURNAL_YAML = """\
  - name: golden_journal_entries
    config:
      meta:
        intacct:
          object: journal_entry
          primary_key: entry_id
          mapping:
            JOURNAL: {value: GJ}
            BATCH_DATE: posting_date
            BATCH_TITLE: title
            ENTRIES:
              array: lines
              mapping: {ACCOUNTNO: account, AMOUNT: amount, DESCRIPTION: memo}
"""


def _lines_sql(engine: str, amount_type: str) -> str:
    """The entry's lines, one struct per line in line order, as each engine holds arrays: a DuckDB LIST
    of STRUCT, a Postgres jsonb array, a Spark ARRAY<STRUCT>."""
    account = "cast(account as varchar)" if engine != "spark" else "cast(account as string)"
    amount = f"cast(amount as {amount_type})"
    if engine == "duckdb":
        struct = f"struct_pack(account := {account}, amount := {amount}, memo := memo)"
        return f"list({struct} order by cast(line_no as integer))"
    if engine == "postgres":
        pairs = f"'account', {account}, 'amount', {amount}, 'memo', memo"
        return f"jsonb_agg(jsonb_build_object({pairs}) order by cast(line_no as integer))"
    # Spark: collect_list has no order; sort by the line number, then drop it.
    fields = f"'line_no', cast(line_no as int), 'account', {account}, 'amount', {amount}, 'memo', memo"
    struct = f"named_struct({fields})"
    return (
        f"transform(array_sort(collect_list({struct})), "
        "x -> named_struct('account', x.account, 'amount', x.amount, 'memo', x.memo))"
    )


def _build(project: DbtProject) -> None:
    t = TYPES[project.warehouse]
    project.seed("golden_crm", CUSTOMERS)
    project.seed_column_types("golden_crm", {c: t["text"] for c in CUSTOMERS.splitlines()[0].split(",")})
    project.seed("golden_je_lines", JOURNAL_LINES)
    project.model(
        "golden_customers",
        f"""
        select code, name, email, city,
          cast(credit as {t["credit"]}) as credit,
          cast(days as {t["days"]}) as days,
          cast(onhold as boolean) as onhold,
          cast(since as date) as since
        from {{{{ ref('golden_crm') }}}}
        """,
    )
    project.model(
        "golden_journal_entries",
        f"select entry_id, cast(posting_date as date) as posting_date, title, "
        f"{_lines_sql(project.warehouse, t['amount'])} as lines "
        "from {{ ref('golden_je_lines') }} group by entry_id, posting_date, title",
    )
    project.schema_yml("models:\n" + CUSTOMERS_YAML + JOURNAL_YAML)
    project.build()


@pytest.fixture(scope="module")
def plan_of(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, emulator_server: EmulatorServer
) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Each engine's plan file, built by dbt and planned once for the module, on first use."""
    made: dict[str, dict[str, Any]] = {}
    projects: list[DbtProject] = []

    def plan(engine: str) -> dict[str, Any]:
        if engine not in made:
            emulator_server.admin.reset()  # the company check reads the same (empty) company each time
            extra: dict[str, Any] = {}
            if engine == "spark":
                extra["spark_home"] = request.getfixturevalue("spark_home")
            root = tmp_path_factory.mktemp(f"one_plan_{engine}") / "proj"
            project = DbtProject(root, engine, emulator_server.url, **extra)
            projects.append(project)
            _build(project)
            path = project.root / "plan.json"
            run = project.plan("--out", str(path))
            assert run.exit_code == 0, run.output
            made[engine] = json.loads(path.read_text())
        return made[engine]

    yield plan
    for project in projects:
        project.drop_postgres_schemas()


# The plan file's engine-specific parts: when and where it was made, and its checksum over them.
_ENGINE_SPECIFIC = {"created_at", "target", "state_schema", "checksum"}


def engine_free(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan without what is engine-specific (see the module's docstring)."""
    models = []
    for m in plan["models"]:
        m = dict(m)
        fingerprint = m.pop("fingerprint")
        m["fingerprint_rows"] = (fingerprint["rows"], fingerprint["state_rows"])
        models.append(m)
    functions = sorted(plan["functions"], key=lambda f: (f["model"], f["row_key"], f["action"]))
    kept = {k: v for k, v in plan.items() if k not in _ENGINE_SPECIFIC | {"models", "functions"}}
    return {**kept, "models": sorted(models, key=lambda m: m["unique_id"]), "functions": functions}


def _mark(engine: str) -> Any:
    # Spark's leg runs on the worker that holds the SparkSession (the `spark` mark puts it in its group).
    marks = {"postgres": [pytest.mark.postgres], "spark": [pytest.mark.spark]}.get(engine, [])
    return pytest.param(engine, marks=marks)


def test_the_golden_plan_on_duckdb_plans_every_row(plan_of: Callable[[str], dict[str, Any]]) -> None:
    plan = plan_of("duckdb")
    functions = plan["functions"]
    by_model: dict[str, set[str]] = {}
    for f in functions:
        by_model.setdefault(f["model"].rsplit(".", 1)[1], set()).add(f["row_key"])
    assert by_model["golden_customers"] == {"C1", "C2", "C3", "C4", "C5"}
    assert by_model["golden_journal_entries"] == {"JE-1", "JE-2"}
    assert all(f["row_hash"] and f["row_hash"] == f["row_hash"].lower() for f in functions)
    assert len({f["row_hash"] for f in functions}) == len(functions)
    assert plan["api_transactions"] > 0


def test_duckdb_row_hashes_are_the_canonical_texts_md5(plan_of: Callable[[str], dict[str, Any]]) -> None:
    # The reference of tests/unit/test_canonical_engines.py, which Spark's macros are checked against:
    # DuckDB gives it too (and so Postgres, by the comparison below).
    from tests.unit.test_canonical_engines import reference_hash

    plan = plan_of("duckdb")
    hashes = {(f["model"].rsplit(".", 1)[1], f["row_key"]): f["row_hash"] for f in plan["functions"]}
    fingerprints = {m["name"]: m["spec_fingerprint"] for m in plan["models"]}
    customer = {"code": "text", "name": "text", "email": "text", "city": "text", "credit": "decimal",
                "days": "int", "onhold": "bool", "since": "date"}  # fmt: skip
    entry = {"entry_id": "text", "posting_date": "date", "title": "text", "lines": "json"}
    rows: list[tuple[str, dict[str, str], list[Any]]] = [
        ("golden_customers", customer,
         ["C1", "Acme Corp", "ap@acme.example", "Paris", Decimal("15000.5"), 30, False, date(2024, 1, 15)]),
        ("golden_customers", customer,
         ["C3", "日本語の顧客 <Ltd>", "c3@example.jp", None, Decimal("1234567.12"), 45, None, None]),
        ("golden_journal_entries", entry,
         ["JE-2", date(2026, 10, 31), "Hébergement 日本", [
             {"account": "6000", "amount": Decimal("300.10"), "memo": "Hosting"},
             {"account": "6000", "amount": Decimal("0.20"), "memo": None},
             {"account": "2000", "amount": Decimal("-300.30"), "memo": "Accrued vendors"}]]),
    ]  # fmt: skip
    for model, kinds, values in rows:
        row = {name: (kinds[name], value) for name, value in zip(kinds, values, strict=True)}
        assert hashes[(model, values[0])] == reference_hash(row, fingerprints[model]), values[0]


@pytest.mark.parametrize("engine", [_mark(e) for e in OTHERS])
def test_the_plan_is_the_same_on_every_engine(plan_of: Callable[[str], dict[str, Any]], engine: str) -> None:
    want, got = engine_free(plan_of("duckdb")), engine_free(plan_of(engine))
    # Function by function first: a difference names the row and the part that differs.
    assert [(f["model"], f["row_key"], f["action"]) for f in got["functions"]] == [
        (f["model"], f["row_key"], f["action"]) for f in want["functions"]
    ]
    for g, w in zip(got["functions"], want["functions"], strict=True):
        assert g["body"] == w["body"], f"{engine}: the body of {g['row_key']} differs"
        assert g["controlid"] == w["controlid"], f"{engine}: the control ID of {g['row_key']} differs"
        assert g["row_hash"] == w["row_hash"], f"{engine}: the row hash of {g['row_key']} differs"
    for g, w in zip(got["models"], want["models"], strict=True):
        assert g["counts"] == w["counts"], g["unique_id"]
        assert g["fingerprint_rows"] == w["fingerprint_rows"], g["unique_id"]
    assert got["api_transactions"] == want["api_transactions"]
    assert got == want
    if engine == "postgres":
        # DuckDB and Postgres write the saved plan's checksums alike (the first 64 bits of each md5,
        # signed, XORed); Spark and the documented dialects take 60 bits, so theirs differ.
        fingerprints = [
            {m["unique_id"]: m["fingerprint"] for m in plan_of(e)["models"]} for e in ("duckdb", engine)
        ]
        assert fingerprints[0] == fingerprints[1]
