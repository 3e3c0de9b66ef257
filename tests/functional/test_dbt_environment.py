"""dbt's environment variables (DBT_TARGET, DBT_PROJECT_DIR ...) set the options named like dbt's, as in dbt.

Precedence as in dbt: the flag, then the variable, then the default. DuckDB only: the options are read before
any warehouse is opened.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.server import EmulatorServer
from tests.functional.test_sync_customers import CUSTOMERS, customer_yaml, setup_customers
from tests.support.project import DbtProject, run_cli


@pytest.fixture
def duckdb_project(
    tmp_path: Path, emulator: EmulatorAdmin, emulator_server: EmulatorServer
) -> Iterator[DbtProject]:
    yield DbtProject(tmp_path / "proj", "duckdb", emulator_server.url)


def _results(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    path.unlink()
    return data


def _planned(results: dict[str, Any]) -> dict[str, int]:
    (model,) = results["results"]
    return dict(model["planned"])


def test_dbt_target_selects_the_target_and_the_flag_wins(
    duckdb_project: DbtProject, emulator: EmulatorAdmin
) -> None:
    project = duckdb_project
    profiles = json.loads((project.root / "profiles.yml").read_text())
    outputs = profiles[project.name]["outputs"]
    # The same file name in another folder: DuckDB names the database after the file, and the manifest
    # (of the last build) names the relation with it.
    (project.root / "other").mkdir()
    outputs["other"] = {**outputs["dev"], "path": str(project.root / "other" / "warehouse.duckdb")}
    (project.root / "profiles.yml").write_text(json.dumps(profiles))
    project.seed("crm_customers", CUSTOMERS)
    # Target `other` has the three customers, the default target `dev` two.
    project.model(
        "intacct_customers",
        "select * from {{ ref('crm_customers') }}\n"
        "{% if target.name != 'other' %}where code <> 'C3'{% endif %}",
    )
    project.schema_yml(customer_yaml())
    project.dbt("build")
    project.dbt("build", "--target", "other")
    results = project.root / "target" / "intacct_run_results.json"

    run = project.cli("plan", env={"DBT_TARGET": "other"})
    assert run.exit_code == 0, run.output
    data = _results(results)
    assert data["metadata"]["target"] == "other"
    assert _planned(data) == {"create": 3}

    run = project.cli("plan", "--target", "dev", env={"DBT_TARGET": "other"})
    assert run.exit_code == 0, run.output
    assert _planned(_results(results)) == {"create": 2}

    assert project.cli("plan").exit_code == 0
    assert _planned(_results(results)) == {"create": 2}

    # dbt 1.11 reads DBT_ENGINE_TARGET first, then DBT_TARGET.
    run = project.cli("plan", env={"DBT_ENGINE_TARGET": "other", "DBT_TARGET": "dev"})
    assert run.exit_code == 0, run.output
    assert _planned(_results(results)) == {"create": 3}
    assert emulator.stats()["write_functions"] == 0


def test_dbt_project_dir_finds_the_project_from_another_directory(
    duckdb_project: DbtProject, tmp_path: Path
) -> None:
    setup_customers(duckdb_project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_cli(["plan"], cwd=elsewhere, env={"DBT_PROJECT_DIR": str(duckdb_project.root)})
    assert run.exit_code == 0, run.output
    assert _planned(_results(duckdb_project.root / "target" / "intacct_run_results.json")) == {"create": 3}

    # The flag wins over the variable.
    run = run_cli(["plan", "--project-dir", str(elsewhere)], cwd=elsewhere, env={"DBT_PROJECT_DIR": "/"})
    assert run.exit_code == 2
    said = " ".join(run.output.split())
    assert f"{elsewhere} is not a dbt project: it has no dbt_project.yml" in said
    assert "--project-dir" in said
    # With --no-parse the manifest is read as found: the message names the file that is missing.
    run = run_cli(["plan", "--no-parse", "--project-dir", str(elsewhere)], cwd=elsewhere)
    assert run.exit_code == 2
    assert f"{elsewhere}/target/manifest.json does not exist" in " ".join(run.output.split())


def test_dbt_profiles_dir_holds_profiles_yml_and_intacct_yml(
    duckdb_project: DbtProject, emulator: EmulatorAdmin, tmp_path: Path
) -> None:
    project = duckdb_project
    setup_customers(project)
    dot_dbt = tmp_path / "dot_dbt"
    dot_dbt.mkdir()
    for name in ("profiles.yml", "intacct.yml"):
        shutil.move(project.root / name, dot_dbt / name)

    run = run_cli(
        ["sync", "--project-dir", str(project.root)], cwd=tmp_path, env={"DBT_PROFILES_DIR": str(dot_dbt)}
    )
    assert run.exit_code == 0, run.output
    assert len(emulator.records("CUSTOMER")) == 3
    debug = run_cli(
        ["debug", "--project-dir", str(project.root)], cwd=tmp_path, env={"DBT_PROFILES_DIR": str(dot_dbt)}
    )
    assert debug.exit_code == 0, debug.output
    assert "dot_dbt/intacct.yml" in "".join(debug.output.split())


def test_dbt_target_path_moves_the_manifest_read_and_the_results_written(
    duckdb_project: DbtProject, emulator: EmulatorAdmin
) -> None:
    project = duckdb_project
    project.seed("crm_customers", CUSTOMERS)
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(customer_yaml())
    project.dbt("build", "--target-path", "build_out")
    env = {"DBT_TARGET_PATH": "build_out"}

    run = project.cli("sync", env=env)
    assert run.exit_code == 0, run.output
    assert _results(project.root / "build_out" / "intacct_run_results.json")["status"] == "success"
    assert not (project.root / "target" / "intacct_run_results.json").exists()
    assert len(emulator.records("CUSTOMER")) == 3

    report = project.cli("report", env=env)
    assert report.exit_code == 0, report.output
    assert (project.root / "build_out" / "intacct_report.html").is_file()

    # The flag wins over the variable: the project is parsed into `nowhere/` and the results land there.
    run = project.cli("plan", "--target-path", "nowhere", env=env)
    assert run.exit_code == 0, run.output
    assert (project.root / "nowhere" / "manifest.json").is_file()
    assert _planned(_results(project.root / "nowhere" / "intacct_run_results.json")) == {}
    assert not (project.root / "build_out" / "intacct_run_results.json").exists()
    # --no-parse reads the manifest as found: none in `other_dir/`.
    run = project.cli("plan", "--no-parse", "--target-path", "other_dir", env=env)
    assert run.exit_code == 2
    assert "other_dir/manifest.json does not exist" in " ".join(run.output.split())


def test_dbt_full_refresh_and_dbt_log_format(duckdb_project: DbtProject, emulator: EmulatorAdmin) -> None:
    project = duckdb_project
    setup_customers(project)
    assert project.sync().exit_code == 0

    run = project.cli("plan", env={"DBT_FULL_REFRESH": "true", "DBT_LOG_FORMAT": "json"})
    assert run.exit_code == 0, run.output
    events = [json.loads(line) for line in run.output.splitlines()]
    (model,) = events[-1]["results"]
    assert events[-1]["event"] == "run_finished" and model["planned"] == {"update": 3}

    # dbt's other log formats are taken as text, so a DBT_LOG_FORMAT set for dbt never stops a sync.
    for log_format in ("default", "debug", "TEXT"):
        run = project.cli("plan", env={"DBT_LOG_FORMAT": log_format})
        assert run.exit_code == 0, run.output
        assert "Plan only: nothing was written to Intacct." in run.output
        assert _planned(_results(project.root / "target" / "intacct_run_results.json")) == {}
