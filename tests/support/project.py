"""A throwaway dbt project on DuckDB, Postgres or Spark, built with real dbt, synced with the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from dbt_intacct.cli import main
from tests.support import spark

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


@dataclass
class SyncRun:
    exit_code: int
    output: str
    results: dict[str, Any]

    def model(self, name: str) -> dict[str, Any]:
        for model in self.results.get("results", []):
            if model["name"] == name:
                return model
        raise KeyError(f"{name} not in run results; output:\n{self.output}")

    def counts(self, name: str) -> dict[str, int]:
        return dict(self.model(name)["counts"])


class DbtProject:
    """A dbt project in a temporary directory, with a profile for one warehouse and an intacct.yml."""

    def __init__(
        self,
        root: Path,
        warehouse: str,
        endpoint: str,
        *,
        name: str = "proj",
        state_writes: str | None = None,
        spark_home: Path | None = None,
    ) -> None:
        """`spark_home`: the directory of the worker's SparkSession (warehouse, metastore), for "spark"."""
        if warehouse == "spark" and spark_home is None:
            raise ValueError("a Spark project needs the worker's spark_home (the `spark_home` fixture)")
        self.root = root
        self.warehouse = warehouse
        self.spark_home = spark_home
        self.endpoint = endpoint
        self.name = name
        self.schema = f"t_{uuid.uuid4().hex[:10]}"
        (root / "models").mkdir(parents=True, exist_ok=True)
        (root / "seeds").mkdir(exist_ok=True)
        (root / "dbt_project.yml").write_text(
            textwrap.dedent(
                f"""\
                name: {name}
                version: "1.0"
                config-version: 2
                profile: {name}
                models:
                  {name}:
                    +materialized: table
                """
            )
            + (f"vars:\n  dbt_intacct_state_writes: {state_writes}\n" if state_writes else "")
        )
        self.write_profiles()
        self.write_intacct_yml()
        if warehouse == "spark":
            (root / "macros").mkdir(exist_ok=True)
            (root / "macros" / "spark_seeds.sql").write_text(spark.SEED_MACRO)

    # -- files --------------------------------------------------------------------------------------
    def write_profiles(self) -> None:
        output: dict[str, Any]
        if self.warehouse == "duckdb":
            output = {"type": "duckdb", "path": str(self.root / "warehouse.duckdb"), "threads": 1}
        elif self.warehouse == "spark":
            assert self.spark_home is not None
            output = spark.profile_output(self.spark_home, self.schema)
        else:
            output = {
                "type": "postgres",
                "host": POSTGRES["host"],
                "port": POSTGRES["port"],
                "user": POSTGRES["user"],
                "password": "",
                "dbname": POSTGRES["dbname"],
                "schema": self.schema,
                "threads": 1,
            }
        profiles = {self.name: {"target": "dev", "outputs": {"dev": output}}}
        (self.root / "profiles.yml").write_text(json.dumps(profiles, indent=2))

    def write_intacct_yml(self, **overrides: Any) -> None:
        settings: dict[str, Any] = {
            "sender_id": "demo_sender",
            "sender_password": "demo_sender_pw",
            "company_id": "demo_company",
            "user_id": "demo_user",
            "user_password": "demo_password",
            "endpoint": self.endpoint,
            "batch_size": 50,
            "max_retries": 2,
            "timeout_seconds": 30,
        }
        settings.update(overrides)
        (self.root / "intacct.yml").write_text(json.dumps({"default": settings}, indent=2))

    def seed_column_types(self, seed: str, types: dict[str, str]) -> None:
        """Declare seed column types in dbt_project.yml (dbt infers them otherwise)."""
        project = self.root / "dbt_project.yml"
        cast = ", ".join(f"{k}: {v}" for k, v in types.items())
        project.write_text(
            project.read_text() + f"seeds:\n  {self.name}:\n    {seed}:\n      +column_types: {{{cast}}}\n"
        )

    def seed(self, name: str, csv: str) -> None:
        (self.root / "seeds" / f"{name}.csv").write_text(textwrap.dedent(csv).lstrip())

    def model(self, name: str, sql: str) -> None:
        (self.root / "models" / f"{name}.sql").write_text(textwrap.dedent(sql).lstrip())

    def schema_yml(self, text: str, name: str = "schema") -> None:
        (self.root / "models" / f"{name}.yml").write_text(textwrap.dedent(text).lstrip())

    def remove_model(self, name: str) -> None:
        (self.root / "models" / f"{name}.sql").unlink()

    # -- commands ---------------------------------------------------------------------------------
    def dbt(self, *args: str) -> None:
        """Run a real dbt command in-process; fail the test with dbt's own output when it fails."""
        from dbt.cli.main import dbtRunner

        with _cwd(self.root):
            result = dbtRunner().invoke(
                [*args, "--project-dir", str(self.root), "--profiles-dir", str(self.root), "--quiet"]
            )
        if not result.success:
            failed = [
                f"{r.node.name}: {r.message}"
                for r in getattr(result.result, "results", None) or []
                if str(r.status) in {"error", "fail"}
            ]
            raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception or '; '.join(failed)}")

    def build(self) -> None:
        self.dbt("build")

    def cli(
        self, *args: str, env: Mapping[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        """The CLI in the project, with its directory and profiles named by flags (`input`: its stdin)."""
        return run_cli(
            [*args, "--project-dir", str(self.root), "--profiles-dir", str(self.root)],
            cwd=self.root,
            env=env,
            input=input,
        )

    def sync(self, *args: str, command: str = "sync", env: Mapping[str, str | None] | None = None) -> SyncRun:
        result = self.cli(command, *args, env=env)
        path = self.root / "target" / "intacct_run_results.json"
        results = json.loads(path.read_text()) if path.exists() and result.exit_code != 2 else {}
        if path.exists():
            path.unlink()
        check_counts_add_up(results, result.output)
        return SyncRun(exit_code=result.exit_code, output=result.output, results=results)

    def plan(self, *args: str, env: Mapping[str, str | None] | None = None) -> SyncRun:
        return self.sync(*args, command="plan", env=env)

    # -- the warehouse, read directly -------------------------------------------------------------
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.warehouse == "duckdb":
            import duckdb

            with duckdb.connect(str(self.root / "warehouse.duckdb")) as con:
                return [tuple(r) for r in con.execute(sql).fetchall()]
        if self.warehouse == "spark":
            assert self.spark_home is not None
            return [tuple(r) for r in spark.session(self.spark_home).sql(sql).collect()]
        import psycopg2

        with psycopg2.connect(**POSTGRES) as con, con.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def has_table(self, schema: str, table: str) -> bool:
        if self.warehouse == "spark":
            return bool(self.query(f"show tables in `{schema}` like '{table}'"))
        found = self.query(
            "select count(*) from information_schema.tables "
            f"where table_schema = '{schema}' and table_name = '{table}'"
        )
        return bool(found[0][0])

    def rows_if_table(self, schema: str, table: str, sql: str) -> list[tuple[Any, ...]] | None:
        """The rows of `sql` (which reads `schema.table`), or None when that table does not exist yet."""
        return self.query(sql) if self.has_table(schema, table) else None

    @property
    def model_schema(self) -> str:
        """The schema dbt builds the project's models in."""
        return "main" if self.warehouse == "duckdb" else self.schema

    @property
    def state_schema(self) -> str:
        return self.model_schema + "_intacct"

    def state(self, model: str) -> dict[str, dict[str, Any]]:
        """The state rows of one model, by row key."""
        rows = self.query(
            "select row_key, status, recordno, intacct_id, version, error from "
            f"{self.state_schema}.intacct_state where model_id = 'model.{self.name}.{model}' order by row_key"
        )
        return {
            r[0]: {"status": r[1], "recordno": r[2], "intacct_id": r[3], "version": r[4], "error": r[5]}
            for r in rows
        }

    def drop_postgres_schemas(self) -> None:
        """Drop the project's schemas where they outlive the test's directory (Postgres, Spark)."""
        if self.warehouse == "duckdb":
            return
        quote = "`" if self.warehouse == "spark" else '"'
        for schema in (self.schema, self.state_schema):  # cascade: append mode's views too
            self.query(f"drop schema if exists {quote}{schema}{quote} cascade")


def check_counts_add_up(results: Mapping[str, Any], output: str) -> None:
    """Every model that ran to its end accounts for each of its rows and of the rows that left it: the
    outcomes (a plan: the rows counted plus the functions planned) sum to `rows.in_model + rows.left`,
    plus the rows with two outcomes (an open intent resent, then a new change sent)."""
    plan = results.get("metadata", {}).get("command") == "plan"
    for model in results.get("results", []):
        rows = model.get("rows")
        if model["status"] != "success" or not rows:
            continue
        outcomes = sum(n for k, n in model["counts"].items() if k != "resent")
        if plan:
            outcomes += sum(n for k, n in model["planned"].items() if k != "resend")
        expected = rows["in_model"] + rows["left"] + rows["twice"]
        assert outcomes == expected, (
            f"{model['name']}: the counts {model['counts']} (planned {model['planned']}) add up to "
            f"{outcomes}, not {expected} ({rows}):\n{output}"
        )


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
) -> Result:
    """`dbt-intacct ARGS` in-process from `cwd`, with `env` added to (None: removed from) the environment
    and `input` on its stdin."""
    with _cwd(cwd):
        return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def rows_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


class ChildSparkProject(DbtProject):
    """A Spark project whose SparkSession this process never opens: dbt and every read run in child
    processes. Derby, the embedded metastore, admits one JVM at a time, and the syncs under test (the crash
    tests) run in other processes on the same metastore. Each child starts a JVM (about 10 s)."""

    def __init__(self, root: Path, endpoint: str, *, spark_home: Path) -> None:
        spark_home.mkdir(parents=True, exist_ok=True)
        super().__init__(root, "spark", endpoint, spark_home=spark_home)

    def dbt(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-c", "from dbt.cli.main import cli; cli()", *args, *self._dirs()],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            output = f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{output}")

    def _dirs(self) -> list[str]:
        return ["--project-dir", str(self.root), "--profiles-dir", str(self.root)]

    def cli(
        self, *args: str, env: Mapping[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        raise AssertionError("the CLI in this process would open the metastore: run it as a child process")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        assert self.spark_home is not None
        (answer,) = spark.query_in_child(self.spark_home, [sql])
        if isinstance(answer, str):
            raise AssertionError(f"{sql}: {answer}")
        return answer

    def rows_if_table(self, schema: str, table: str, sql: str) -> list[tuple[Any, ...]] | None:
        # One child instead of two: a table not found is the answer None.
        assert self.spark_home is not None
        (answer,) = spark.query_in_child(self.spark_home, [sql])
        if isinstance(answer, str):
            if "TABLE_OR_VIEW_NOT_FOUND" in answer or "SCHEMA_NOT_FOUND" in answer:
                return None
            raise AssertionError(f"{sql}: {answer}")
        return answer
