"""A throwaway dbt project on real DuckDB or real Postgres, built with real dbt, synced with the real CLI."""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from dbt_intacct.cli import main

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

    def __init__(self, root: Path, warehouse: str, endpoint: str, *, name: str = "proj") -> None:
        self.root = root
        self.warehouse = warehouse
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
        )
        self.write_profiles()
        self.write_intacct_yml()

    # -- files --------------------------------------------------------------------------------------
    def write_profiles(self) -> None:
        if self.warehouse == "duckdb":
            output = {"type": "duckdb", "path": str(self.root / "warehouse.duckdb"), "threads": 1}
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
            raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception}")

    def build(self) -> None:
        self.dbt("build")

    def cli(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
        """The CLI in the project, with its directory and profiles named by flags."""
        return run_cli(
            [*args, "--project-dir", str(self.root), "--profiles-dir", str(self.root)], cwd=self.root, env=env
        )

    def sync(self, *args: str, command: str = "sync", env: Mapping[str, str | None] | None = None) -> SyncRun:
        result = self.cli(command, *args, env=env)
        path = self.root / "target" / "intacct_run_results.json"
        results = json.loads(path.read_text()) if path.exists() and result.exit_code != 2 else {}
        if path.exists():
            path.unlink()
        return SyncRun(exit_code=result.exit_code, output=result.output, results=results)

    def plan(self, *args: str, env: Mapping[str, str | None] | None = None) -> SyncRun:
        return self.sync(*args, command="plan", env=env)

    # -- the warehouse, read directly -------------------------------------------------------------
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.warehouse == "duckdb":
            import duckdb

            with duckdb.connect(str(self.root / "warehouse.duckdb")) as con:
                return [tuple(r) for r in con.execute(sql).fetchall()]
        import psycopg2

        with psycopg2.connect(**POSTGRES) as con, con.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

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
        if self.warehouse != "postgres":
            return
        for schema in (self.schema, self.state_schema):
            self.query(f'drop schema if exists "{schema}" cascade')


def run_cli(args: Sequence[str], *, cwd: Path, env: Mapping[str, str | None] | None = None) -> Result:
    """`dbt-intacct ARGS` in-process from `cwd`, with `env` added to (None: removed from) the environment."""
    with _cwd(cwd):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


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
