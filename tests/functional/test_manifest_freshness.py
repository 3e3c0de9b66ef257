"""plan and sync see the project as it is on disk, for the target asked for (dbt's parse when needed)."""

from __future__ import annotations

import json

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import customer_yaml, setup_customers
from tests.support.project import DbtProject


def test_a_yaml_fix_is_seen_without_dbt_parse(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_customers(project)
    project.schema_yml(customer_yaml().replace("NAME: name", "CUSTOMER_NAME: name", 1))
    typo = project.plan()
    assert typo.exit_code == 2, typo.output
    assert "unknown field 'CUSTOMER_NAME'" in " ".join(typo.output.split())
    assert "Parsing the project: models/schema.yml changed after" in " ".join(typo.output.split())

    project.schema_yml(customer_yaml())  # fixed, and no `dbt parse`
    as_is = project.plan("--no-parse")
    assert as_is.exit_code == 2, as_is.output  # --no-parse: the manifest as it is, typo included
    fixed = project.plan()
    assert fixed.exit_code == 0, fixed.output
    assert fixed.model("intacct_customers")["planned"] == {"create": 3}
    # Parsed once: the next plan reads the manifest as it is, without parsing again.
    again = project.plan()
    assert again.exit_code == 0 and "Parsing the project" not in again.output, again.output
    assert emulator.stats()["write_functions"] == 0


def test_a_manifest_built_for_another_target_is_parsed_for_the_one_asked_for(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    # prod builds one row in its own schema; dev (the profile's default) builds all three.
    profiles = json.loads((project.root / "profiles.yml").read_text())
    outputs = profiles[project.name]["outputs"]
    outputs["prod"] = {**outputs["dev"], "schema": f"{project.schema}_prod"}
    (project.root / "profiles.yml").write_text(json.dumps(profiles))
    setup_customers(project)
    project.model(
        "intacct_customers",
        "select * from {{ ref('crm_customers') }}"
        " {% if target.name == 'prod' %} where code = 'C1' {% endif %}",
    )
    project.build()
    project.dbt("build", "--target", "prod")
    try:
        run = project.plan()
        assert run.exit_code == 0, run.output
        assert "was made for another target" in " ".join(run.output.split()), run.output
        assert run.model("intacct_customers")["planned"] == {"create": 3}  # dev's relation, not prod's
        prod = project.plan("--target", "prod")
        assert prod.exit_code == 0, prod.output
        assert prod.model("intacct_customers")["planned"] == {"create": 1}
    finally:
        if project.warehouse == "postgres":
            project.query(f'drop schema if exists "{project.schema}_prod" cascade')
