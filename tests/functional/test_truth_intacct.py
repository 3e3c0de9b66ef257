"""What the tool tells the user matches what Intacct holds: derived fields, NULLs, insert-only changes,
and the company's own definitions of its objects (real dbt, a real warehouse, the emulator over HTTP)."""

from __future__ import annotations

import textwrap

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.support.project import DbtProject

CUSTOMERS = """\
code,name,email
C1,Acme Corp,ap@acme.example
C2,Blue & Co,billing@blue.example
"""


def customer_yaml(extra_mapping: str = "", model_extra: str = "", custom: str = "") -> str:
    return textwrap.dedent(
        """\
        models:
          - name: intacct_customers
            config:
              meta:
                intacct:
                  object: customer
                  mode: upsert
                  primary_key: code
        {model_extra}
                  mapping:
                    CUSTOMERID: code
                    NAME: name
                    DISPLAYCONTACT.EMAIL1: email
        {extra_mapping}
        {custom}
        """
    ).format(
        model_extra=textwrap.indent(model_extra, " " * 10) if model_extra else "",
        extra_mapping=textwrap.indent(extra_mapping, " " * 12) if extra_mapping else "",
        custom=textwrap.indent(custom, " " * 10) if custom else "",
    )


def setup_customers(project: DbtProject, csv: str = CUSTOMERS, **yaml: str) -> None:
    project.seed("crm_customers", csv)
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(customer_yaml(**yaml))
    project.build()


def customers_by_id(emulator: EmulatorAdmin) -> dict[str, dict]:
    return {r["CUSTOMERID"]: r for r in emulator.records("CUSTOMER")}


def test_renaming_a_customer_keeps_the_printas_derived_from_its_name_in_step(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_customers(project)
    assert project.sync().exit_code == 0
    assert customers_by_id(emulator)["C1"]["DISPLAYCONTACT"]["PRINTAS"] == "Acme Corp"
    project.seed("crm_customers", CUSTOMERS.replace("Acme Corp", "Acme Holdings"))
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_customers")["updated"] == 1
    record = customers_by_id(emulator)["C1"]
    assert record["NAME"] == "Acme Holdings"
    assert record["DISPLAYCONTACT"]["PRINTAS"] == "Acme Holdings"
