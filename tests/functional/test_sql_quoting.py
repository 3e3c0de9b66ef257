"""Names a user controls (model files, connection names, the state schema) never become SQL of their own."""

from __future__ import annotations

import textwrap

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.support.project import DbtProject

APOSTROPHE = "o'brien_customers"
# A model file name (dbt refuses spaces, not tabs) that, spliced into SQL unescaped, ends the statement,
# drops another table, and turns the rest into a comment.
CRAFTED = "x';drop\ttable\tvictim;--"


def test_models_whose_names_carry_quotes_sync_like_any_other(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    project.seed("crm", "code,name\nC1,Acme\nC2,Blue\n")
    project.seed("others", "code,name\nC3,Cobalt\n")
    project.model("victim", "select 1 as kept")
    project.model(APOSTROPHE, "select * from {{ ref('crm') }}")
    project.model(CRAFTED, "select * from {{ ref('others') }}")
    blocks = "".join(
        f"""
          - name: "{name}"
            config:
              meta:
                intacct:
                  object: customer
                  primary_key: code
                  mapping: {{CUSTOMERID: code, NAME: name}}
                  delete: delete
        """
        for name in (APOSTROPHE, CRAFTED)
    )
    project.schema_yml("models:\n" + textwrap.dedent(blocks))
    project.build()

    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts(APOSTROPHE)["created"] == 2
    assert run.counts(CRAFTED)["created"] == 1
    assert sorted(r["CUSTOMERID"] for r in emulator.records("CUSTOMER")) == ["C1", "C2", "C3"]
    assert project.query(f"select kept from {project.model_schema}.victim") == [(1,)]

    # The state of each is its own: a second sync sends nothing, a removed row is deleted.
    again = project.sync()
    assert again.exit_code == 0, again.output
    assert again.counts(APOSTROPHE)["unchanged"] == 2
    # dbt-duckdb itself cannot rebuild a table whose name has a quote: the row leaves the built table.
    project.query(f"""delete from {project.model_schema}."{APOSTROPHE}" where code = 'C2'""")
    third = project.sync()
    assert third.exit_code == 0, third.output
    assert third.counts(APOSTROPHE)["deleted"] == 1
    assert third.counts(CRAFTED)["unchanged"] == 1
    assert sorted(r["CUSTOMERID"] for r in emulator.records("CUSTOMER")) == ["C1", "C3"]
