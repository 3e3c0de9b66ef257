"""The pre-flight checks as dbt generic tests: a user's project installs the package with packages.yml and
`dbt deps`, then real `dbt build` on DuckDB and Postgres passes the good columns and fails the bad ones."""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import dbt_intacct

PACKAGE = Path(dbt_intacct.__file__).parent / "dbt_project"
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}

pytestmark = pytest.mark.xdist_group("dbt_generic_tests")  # build each warehouse's project once

# One customer row per case: fine, blank name, NULL name with an over-long code and a control character,
# a five-character name whose É takes two bytes (lengths are counted in characters).
CUSTOMERS = """
select 1 as id, 'Acme' as name, 'C-1' as code, 'fine' as notes
union all select 2, '   ', 'C-2', 'tab' || chr(9) || 'and' || chr(10) || 'newline are fine'
union all select 3, null, 'C-3-way-too-long', 'bad ' || chr(11) || ' vertical tab'
union all select 4, 'Émile', 'C-4', null
"""

# Journal entries: balanced, unbalanced, one line, balanced only once each line is rounded to the cent,
# no lines at all. `lines` is the warehouse's native type, `lines_text` the same lines as JSON text,
# `signed_lines` balanced lines whose amount key is "signed".
ENTRIES = [
    (1, [("1000", "100.00"), ("4000", "-100.00")]),
    (2, [("6000", "1200.00"), ("1000", "-1150.00")]),
    (3, [("1000", "0")]),
    (4, [("1000", "100.005"), ("4000", "-100.01")]),
    (5, None),
]


def _json_lines(lines: list[tuple[str, str]] | None, key: str = "amount") -> str | None:
    if lines is None:
        return None
    return json.dumps([{"account": account, key: float(amount)} for account, amount in lines])


def _literal(text: str | None) -> str:
    return "null" if text is None else "'" + text.replace("'", "''") + "'"


def entries_sql(warehouse: str) -> str:
    selects = []
    for entry_id, lines in ENTRIES:
        text = _json_lines(lines)
        signed = _json_lines([("1000", "5.5"), ("4000", "-5.5")], key="signed")
        if warehouse == "duckdb":
            native = (
                "cast(null as struct(account varchar, amount decimal(18, 3))[])"
                if lines is None
                else "["
                + ", ".join(f"{{'account': '{a}', 'amount': cast({v} as decimal(18, 3))}}" for a, v in lines)
                + "]"
            )
            signed_native = f"cast({_literal(signed)} as json)"
        else:
            native = f"cast({_literal(text)} as jsonb)"
            signed_native = f"cast({_literal(signed)} as json)"
        selects.append(
            f"select {entry_id} as id, {native} as lines, {_literal(text)} as lines_text, "
            f"{signed_native} as signed_lines"
        )
    return "\nunion all ".join(selects) + "\n"


SCHEMA = """
models:
  - name: customers
    columns:
      - name: id
        data_tests:
          - dbt_intacct.intacct_required:
              name: id_required
      - name: name
        data_tests:
          - dbt_intacct.intacct_required:
              name: name_required
          - dbt_intacct.intacct_max_length:
              name: name_max_5
              arguments: {max_length: 5}
          - dbt_intacct.intacct_valid_xml_text:
              name: name_valid_xml
      - name: code
        data_tests:
          - dbt_intacct.intacct_max_length:
              name: code_max_10
              arguments: {max_length: 10}
          - dbt_intacct.intacct_max_length:
              name: code_max_20
              arguments: {max_length: 20}
      - name: notes
        data_tests:
          - dbt_intacct.intacct_valid_xml_text:
              name: notes_valid_xml
  - name: journal_entries
    columns:
      - name: lines
        data_tests:
          - dbt_intacct.intacct_balanced_entry:
              name: lines_balanced
          - dbt_intacct.intacct_balanced_entry:
              name: lines_balanced_where_good
              config: {where: "id in (1, 4)"}
      - name: lines_text
        data_tests:
          - dbt_intacct.intacct_balanced_entry:
              name: lines_text_balanced
      - name: signed_lines
        data_tests:
          - dbt_intacct.intacct_balanced_entry:
              name: signed_lines_balanced
              arguments: {amount_key: signed}
          - dbt_intacct.intacct_balanced_entry:
              name: signed_lines_three_lines
              arguments: {amount_key: signed, min_lines: 3}
"""

EXPECTED_FAILURES = {
    "id_required": 0,
    "name_required": 2,
    "name_max_5": 0,
    "name_valid_xml": 0,
    "code_max_10": 1,
    "code_max_20": 0,
    "notes_valid_xml": 1,
    "lines_balanced": 3,
    "lines_balanced_where_good": 0,
    "lines_text_balanced": 3,
    "signed_lines_balanced": 0,
    "signed_lines_three_lines": 5,
}


@dataclass
class UserProject:
    root: Path
    warehouse: str
    schema: str

    def dbt(self, *args: str) -> Any:
        from dbt.cli.main import dbtRunner

        previous = Path.cwd()
        os.chdir(self.root)
        try:
            return dbtRunner().invoke(
                [*args, "--project-dir", str(self.root), "--profiles-dir", str(self.root), "--quiet"]
            )
        finally:
            os.chdir(previous)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.warehouse == "duckdb":
            import duckdb

            with duckdb.connect(str(self.root / "warehouse.duckdb")) as connection:
                return [tuple(row) for row in connection.execute(sql).fetchall()]
        import psycopg2

        with psycopg2.connect(**POSTGRES) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    @property
    def audit_schema(self) -> str:
        return f"{'main' if self.warehouse == 'duckdb' else self.schema}_dbt_test__audit"

    def problems(self, test_name: str) -> list[str]:
        rows = self.query(f"select intacct_problem from {self.audit_schema}.{test_name} order by 1")
        return [str(row[0]) for row in rows]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)], scope="module")
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[UserProject, Any]]:
    """A user's project that installs the package, built once per warehouse (`dbt build --store-failures`)."""
    warehouse = str(request.param)
    root = tmp_path_factory.mktemp(f"user_{warehouse}")
    project = UserProject(root, warehouse, f"t_{uuid.uuid4().hex[:10]}")
    _write(
        root / "dbt_project.yml",
        """
        name: finance
        version: "1.0"
        config-version: 2
        profile: finance
        models:
          finance:
            +materialized: table
        """,
    )
    _write(root / "packages.yml", f"packages:\n  - local: {json.dumps(str(PACKAGE))}\n")
    if warehouse == "duckdb":
        output: dict[str, Any] = {"type": "duckdb", "path": str(root / "warehouse.duckdb"), "threads": 1}
    else:
        output = {**POSTGRES, "type": "postgres", "password": "", "schema": project.schema, "threads": 1}
    (root / "profiles.yml").write_text(json.dumps({"finance": {"target": "dev", "outputs": {"dev": output}}}))
    _write(root / "models" / "customers.sql", CUSTOMERS)
    _write(root / "models" / "journal_entries.sql", entries_sql(warehouse))
    _write(root / "models" / "schema.yml", SCHEMA)

    deps = project.dbt("deps")
    assert deps.success, deps.exception
    result = project.dbt("build", "--store-failures")
    try:
        yield project, result
    finally:
        if warehouse == "postgres":
            for schema in (project.schema, project.audit_schema):
                project.query(f'drop schema if exists "{schema}" cascade')


def test_dbt_build_fails_on_bad_rows_and_passes_good_ones(built: tuple[UserProject, Any]) -> None:
    _, result = built
    assert result.exception is None
    assert result.success is False  # `dbt build` stops a pipeline before `dbt-intacct sync` runs
    tests = {
        r.node.name: (str(r.status), r.failures)
        for r in result.result.results
        if r.node.resource_type == "test"
    }
    assert tests == {name: ("pass" if n == 0 else "fail", n) for name, n in EXPECTED_FAILURES.items()}
    models = {r.node.name: str(r.status) for r in result.result.results if r.node.resource_type == "model"}
    assert models == {"customers": "success", "journal_entries": "success"}


def test_failing_rows_say_what_is_wrong(built: tuple[UserProject, Any]) -> None:
    project, _ = built
    assert (
        project.problems("name_required") == ["name is empty (NULL or blank): Intacct requires a value"] * 2
    )
    assert project.problems("code_max_10") == ["code is 16 characters long, the Intacct limit is 10"]
    assert project.problems("notes_valid_xml") == [
        "notes contains U+000B, a character XML 1.0 cannot carry, at position 5"
    ]
    balanced = project.problems("lines_balanced")
    assert balanced == [
        "lines needs at least 2 line(s), got 0",
        "lines needs at least 2 line(s), got 1",
        "the entry does not balance: debits 1200.00, credits 1150.00",
    ]
    assert project.problems("lines_text_balanced") == [
        p.replace("lines ", "lines_text ", 1) for p in balanced
    ]
    assert (
        project.problems("signed_lines_three_lines") == ["signed_lines needs at least 3 line(s), got 2"] * 5
    )
    rows = project.query(
        "select id, intacct_line_count, intacct_debits, intacct_credits "
        f"from {project.audit_schema}.lines_balanced order by id"
    )
    assert [(row[0], row[1], float(row[2]), float(row[3])) for row in rows] == [
        (2, 2, 1200.0, 1150.0),
        (3, 1, 0.0, 0.0),
        (5, 0, 0.0, 0.0),
    ]
