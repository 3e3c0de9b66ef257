"""The five objects that carry money, end to end on DuckDB and Postgres (journal entries on Spark too),
through the emulator over HTTP."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

import pytest

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.functional.test_sync_customers import setup_customers
from tests.support.project import DbtProject


def lines_sql(project: DbtProject, fields: dict[str, str], order_by: str, as_json_text: bool = False) -> str:
    """An aggregate of one struct per line, as each warehouse holds arrays: a DuckDB LIST of STRUCT,
    a Postgres jsonb array, a Spark ARRAY<STRUCT<...>>, or (as_json_text) a JSON string on any."""
    if project.warehouse == "spark":
        # collect_list keeps no order: (order key, line) structs are sorted, then the lines kept.
        named = ", ".join(f"'{k}', {v.replace(' as varchar)', ' as string)')}" for k, v in fields.items())
        line = f"struct({order_by} as o, named_struct({named}) as l)"
        aggregate = f"transform(array_sort(collect_list({line})), x -> x.l)"
        return f"to_json({aggregate})" if as_json_text else aggregate
    if project.warehouse == "duckdb":
        struct = "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields.items()) + ")"
        aggregate = f"list({struct} order by {order_by})"
        return f"cast(to_json({aggregate}) as varchar)" if as_json_text else aggregate
    pairs = ", ".join(f"'{k}', {v}" for k, v in fields.items())
    aggregate = f"jsonb_agg(jsonb_build_object({pairs}) order by {order_by})"
    return f"cast({aggregate} as text)" if as_json_text else aggregate


def yaml(text: str) -> str:
    return textwrap.dedent(text)


def model_entries(text: str) -> str:
    """More `- name: ...` entries for the `models:` list of a schema file."""
    return textwrap.indent(textwrap.dedent(text), "  ")


# -- journal entries -------------------------------------------------------------------------------------

JOURNAL_LINES = """\
entry_id,posting_date,title,line_no,account,amount,memo
JE-1,2026-10-31,Payroll accrual,1,6500,1250.50,Salaries
JE-1,2026-10-31,Payroll accrual,2,2000,-1250.50,Accrued payroll
JE-2,2026-10-31,Hosting accrual,1,6000,300.10,Hosting
JE-2,2026-10-31,Hosting accrual,2,6000,0.20,Storage
JE-2,2026-10-31,Hosting accrual,3,2000,-300.30,Accrued vendors
"""

JOURNAL_YAML = """\
models:
  - name: intacct_journal_entries
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
          custom_fields:
            SOURCE_SYSTEM: {value: dbt}
"""


def setup_journal(project: DbtProject, csv: str = JOURNAL_LINES, json_text: bool = False) -> None:
    project.seed("je_lines", csv)
    lines = lines_sql(
        project,
        {"account": "cast(account as varchar)", "amount": "cast(amount as decimal(18,2))", "memo": "memo"},
        "line_no",
        as_json_text=json_text,
    )
    project.model(
        "intacct_journal_entries",
        f"select entry_id, cast(posting_date as date) as posting_date, title, {lines} as lines "
        "from {{ ref('je_lines') }} group by entry_id, posting_date, title",
    )
    project.schema_yml(JOURNAL_YAML)
    project.build()


@pytest.mark.parametrize(
    ("json_text", "state_writes"),
    [(False, None), (True, None), (False, "append")],
    ids=["native_array", "json_string", "native_array-append"],
)
def test_journal_entries_post_once_with_derived_debits_and_credits(
    project: DbtProject, emulator: EmulatorAdmin, json_text: bool
) -> None:
    setup_journal(project, json_text=json_text)
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_journal_entries")["created"] == 2
    batches = {b["BATCH_TITLE"]: b for b in emulator.records("GLBATCH")}
    assert set(batches) == {"Payroll accrual", "Hosting accrual"}
    payroll = batches["Payroll accrual"]
    entries = payroll["ENTRIES"]["GLENTRY"]
    assert [(e["ACCOUNTNO"], e["TR_TYPE"], Decimal(e["TRX_AMOUNT"])) for e in entries] == [
        ("6500", "1", Decimal("1250.50")),
        ("2000", "-1", Decimal("1250.50")),
    ]
    assert payroll["SOURCE_SYSTEM"] == "dbt"
    assert payroll["BATCH_DATE"] == "10/31/2026"
    # Nothing changed: nothing posted again.
    assert project.sync().exit_code == 0
    assert len(emulator.records("GLBATCH")) == 2


def test_bad_journal_entries_are_rejected_alone_and_go_through_once_fixed(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    bad = JOURNAL_LINES + (
        "JE-3,2026-10-31,Unbalanced,1,6000,100.00,x\n"
        "JE-3,2026-10-31,Unbalanced,2,2000,-90.00,y\n"
        "JE-4,2026-10-31,One line,1,6000,10.00,z\n"
    )
    setup_journal(project, bad)
    run = project.sync()
    assert run.exit_code == 1, run.output
    counts = run.counts("intacct_journal_entries")
    assert (counts["created"], counts["rejected"]) == (2, 2)
    errors = {e["row_key"]: e for e in run.model("intacct_journal_entries")["errors"]}
    assert errors["JE-3"]["field"] == "ENTRIES"
    assert "debits 100.00" in errors["JE-3"]["message"] and "credits 90.00" in errors["JE-3"]["message"]
    assert errors["JE-4"]["field"] == "ENTRIES" and "at least 2 line(s), got 1" in errors["JE-4"]["message"]
    assert "JE-3" in run.output and "ENTRIES" in run.output
    assert len(emulator.records("GLBATCH")) == 2
    assert project.state("intacct_journal_entries")["JE-3"]["status"] == "rejected"

    fixed = bad.replace(
        "JE-3,2026-10-31,Unbalanced,2,2000,-90.00,y", "JE-3,2026-10-31,Unbalanced,2,2000,-100.00,y"
    )
    fixed = fixed.replace(
        "JE-4,2026-10-31,One line,1,6000,10.00,z\n",
        "JE-4,2026-10-31,One line,1,6000,10.00,z\nJE-4,2026-10-31,One line,2,1000,-10.00,z\n",
    )
    project.seed("je_lines", fixed)
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_journal_entries")["created"] == 2
    assert len(emulator.records("GLBATCH")) == 4


# -- invoices --------------------------------------------------------------------------------------------

INVOICE_LINES = """\
invoice_number,customer,invoice_date,due_date,description,line_no,account,amount,memo
INV-1,C1,2026-10-01,2026-10-31,October subscription,1,4000,1000.00,Subscription
INV-1,C1,2026-10-01,2026-10-31,October subscription,2,4100,250.00,Support
INV-2,C2,2026-10-02,2026-11-01,Services,1,4100,800.00,Implementation
"""


def invoice_yaml(mode: str, delete: str = "nothing") -> str:
    return yaml(
        f"""\
        models:
          - name: intacct_invoices
            config:
              meta:
                intacct:
                  object: invoice
                  mode: {mode}
                  primary_key: invoice_number
                  mapping:
                    customerid: customer
                    datecreated: invoice_date
                    datedue: due_date
                    invoiceno: invoice_number
                    description: description
                    invoiceitems:
                      array: lines
                      mapping: {{glaccountno: account, amount: amount, memo: memo}}
                  custom_fields:
                    SALES_CHANNEL: {{value: direct}}
                  delete: {delete}
        """
    )


def setup_invoices(
    project: DbtProject, csv: str = INVOICE_LINES, mode: str = "insert", delete: str = "nothing"
) -> None:
    setup_customers(project)  # customers C1..C3, referenced by the invoices
    assert project.sync().exit_code == 0
    project.seed("invoice_lines", csv)
    lines = lines_sql(
        project,
        {"account": "cast(account as varchar)", "amount": "cast(amount as decimal(18,2))", "memo": "memo"},
        "line_no",
    )
    project.model(
        "intacct_invoices",
        "select invoice_number, customer, cast(invoice_date as date) as invoice_date, "
        f"cast(due_date as date) as due_date, description, {lines} as lines "
        "from {{ ref('invoice_lines') }} "
        "group by invoice_number, customer, invoice_date, due_date, description",
    )
    from tests.functional.test_sync_customers import customer_yaml

    project.schema_yml(customer_yaml() + invoice_yaml(mode, delete).split("models:\n", 1)[1])
    project.build()


def invoices_by_number(emulator: EmulatorAdmin) -> dict[str, dict[str, Any]]:
    return {r["RECORDID"]: r for r in emulator.records("ARINVOICE")}


def test_invoices_are_created_then_updated_by_a_second_sync(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_invoices(project)
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_invoices")["created"] == 2
    invoices = invoices_by_number(emulator)
    assert invoices["INV-1"]["CUSTOMERID"] == "C1"
    assert invoices["INV-1"]["TOTALENTERED"] == "1250.00"
    assert invoices["INV-1"]["WHENDUE"] == "10/31/2026"
    state = project.state("intacct_invoices")
    assert state["INV-1"]["recordno"] == str(invoices["INV-1"]["RECORDNO"])

    # The same rows, now kept up to date: update mode, matched by the RECORDNO the state knows.
    changed = INVOICE_LINES.replace(
        "October subscription,2,4100,250.00", "October subscription,2,4100,300.00"
    )
    changed = changed.replace("Services,1,4100,800.00", "Services (revised),1,4100,800.00")
    project.seed("invoice_lines", changed)
    from tests.functional.test_sync_customers import customer_yaml

    project.schema_yml(customer_yaml() + invoice_yaml("update").split("models:\n", 1)[1])
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_invoices")["updated"] == 2
    invoices = invoices_by_number(emulator)
    assert len(invoices) == 2
    assert invoices["INV-1"]["TOTALENTERED"] == "1300.00"
    assert invoices["INV-2"]["DESCRIPTION"] == "Services (revised)"


def test_invoice_update_mode_matches_invoices_created_elsewhere(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_invoices(project, mode="insert")
    assert project.sync().exit_code == 0  # creates INV-1 and INV-2 (as "another tool")
    # A second project-level model in update mode knows nothing of them: it matches on RECORDID.
    from tests.functional.test_sync_customers import customer_yaml

    project.schema_yml(customer_yaml() + invoice_yaml("update").split("models:\n", 1)[1])
    project.query(f"delete from {project.state_schema}.intacct_state where model_id like '%intacct_invoices'")
    project.seed("invoice_lines", INVOICE_LINES.replace("Services,", "Services (matched),"))
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_invoices")["updated"] == 2
    assert invoices_by_number(emulator)["INV-2"]["DESCRIPTION"] == "Services (matched)"


def test_invoice_clear_empties_what_can_be_cleared(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_invoices(project, mode="insert", delete="clear")
    assert project.sync().exit_code == 0
    project.seed("invoice_lines", "\n".join(INVOICE_LINES.splitlines()[:3]) + "\n")  # INV-2 leaves
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_invoices")["cleared"] == 1
    assert project.state("intacct_invoices")["INV-2"]["status"] == "cleared"
    invoices = invoices_by_number(emulator)
    assert len(invoices) == 2
    assert "DESCRIPTION" not in invoices["INV-2"] and "SALES_CHANNEL" not in invoices["INV-2"]
    assert invoices["INV-1"]["DESCRIPTION"] == "October subscription"


def test_bad_invoice_rows_name_model_key_and_field(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_invoices(project)
    # Dates as text, so that one can be wrong; a customer ID over Intacct's 20 characters; a NULL customer.
    bad = INVOICE_LINES + (
        "INV-3,C3,2026-13-45,2026-11-01,Bad date,1,4100,10.00,x\n"
        "INV-4,C3-A-CUSTOMER-CODE-TOO-LONG,2026-10-02,2026-11-01,Too long,1,4100,10.00,x\n"
        "INV-5,,2026-10-02,2026-11-01,No customer,1,4100,10.00,x\n"
    )
    project.seed("invoice_lines", bad)
    project.seed_column_types("invoice_lines", {"invoice_date": "varchar(20)"})
    sql = (project.root / "models" / "intacct_invoices.sql").read_text()
    project.model(
        "intacct_invoices",
        sql.replace(
            "cast(invoice_date as date) as invoice_date", "cast(invoice_date as varchar) as invoice_date"
        ),
    )
    project.dbt("build", "--full-refresh")  # the seed's column type changes
    run = project.sync()
    assert run.exit_code == 1, run.output
    counts = run.counts("intacct_invoices")
    assert (counts["created"], counts["rejected"]) == (2, 3)
    errors = {e["row_key"]: e for e in run.model("intacct_invoices")["errors"]}
    assert errors["INV-3"]["field"] == "datecreated" and "2026-13-45" in errors["INV-3"]["message"]
    assert errors["INV-4"]["field"] == "customerid" and "the limit is 20" in errors["INV-4"]["message"]
    assert errors["INV-5"]["field"] == "customerid"
    assert "intacct_invoices" in run.output and "INV-3" in run.output and "datecreated" in run.output
    assert set(invoices_by_number(emulator)) == {"INV-1", "INV-2"}
    # Fixed rows go through on the next run; the others are not sent again.
    project.seed(
        "invoice_lines", bad.replace("2026-13-45", "2026-10-15").replace("C3-A-CUSTOMER-CODE-TOO-LONG", "C3")
    )
    project.build()
    run = project.sync()
    counts = run.counts("intacct_invoices")
    assert (counts["created"], counts["rejected"]) == (2, 1)
    assert set(invoices_by_number(emulator)) == {"INV-1", "INV-2", "INV-3", "INV-4"}


def test_lines_that_are_not_an_array_are_rejected(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_invoices(project)
    sql = (project.root / "models" / "intacct_invoices.sql").read_text()
    json_text = "cast(to_json(lines) as varchar)" if project.warehouse == "duckdb" else "cast(lines as text)"
    project.model(
        "intacct_invoices",
        f"select invoice_number, customer, invoice_date, due_date, description, "
        f"case when invoice_number = 'INV-2' then 'not json' else {json_text} end as lines "
        f"from ({sql}) built",
    )
    project.build()
    run = project.sync()
    assert run.exit_code == 1, run.output
    assert run.counts("intacct_invoices")["created"] == 1
    errors = {e["row_key"]: e for e in run.model("intacct_invoices")["errors"]}
    assert errors["INV-2"]["field"] == "invoiceitems"
    assert "must hold a list of lines" in errors["INV-2"]["message"]


# -- Order Entry transactions ------------------------------------------------------------------------------

ORDER_LINES = """\
order_number,customer,order_date,reference,line_no,item,quantity,price
SO-1,C1,2026-11-03,PO-19,1,WIDGET,40,10.00
SO-1,C1,2026-11-03,PO-19,2,CONSULTING,4,150.00
SO-2,C2,2026-11-05,PO-20,1,WIDGET,250,9.50
"""


def order_yaml(mode: str, delete: str = "nothing") -> str:
    text = _order_yaml(mode, delete)
    if mode == "update":
        # update_sotransaction cannot change the definition, customer or number of a document.
        fixed = ("transactiontype: {value: Sales Order}", "customerid: customer", "documentno: order_number")
        text = "".join(line for line in text.splitlines(keepends=True) if line.strip() not in fixed)
    return text


def _order_yaml(mode: str, delete: str) -> str:
    match = "\n                  match: {column: docid, field: DOCID}" if mode == "update" else ""
    return model_entries(
        f"""\
          - name: intacct_orders
            config:
              meta:
                intacct:
                  object: transaction
                  mode: {mode}
                  primary_key: order_number{match}
                  mapping:
                    transactiontype: {{value: Sales Order}}
                    datecreated: order_date
                    customerid: customer
                    documentno: order_number
                    referenceno: reference
                    sotransitems:
                      array: lines
                      mapping: {{itemid: item, quantity: quantity, price: price}}
                  custom_fields:
                    SALES_CHANNEL: {{value: web}}
                  delete: {delete}
        """
    )


def setup_orders(
    project: DbtProject, mode: str = "insert", delete: str = "nothing", csv: str = ORDER_LINES
) -> None:
    from tests.functional.test_sync_customers import customer_yaml

    setup_customers(project)
    assert project.sync().exit_code == 0
    project.seed("order_lines", csv)
    lines = lines_sql(
        project,
        {"item": "item", "quantity": "quantity", "price": "cast(price as decimal(18,2))"},
        "line_no",
    )
    project.model(
        "intacct_orders",
        "select order_number, 'Sales Order-' || order_number as docid, customer, "
        f"cast(order_date as date) as order_date, reference, {lines} as lines "
        "from {{ ref('order_lines') }} group by order_number, customer, order_date, reference",
    )
    project.schema_yml(customer_yaml() + order_yaml(mode, delete))
    project.build()


def orders_by_docid(emulator: EmulatorAdmin) -> dict[str, dict[str, Any]]:
    return {r["DOCID"]: r for r in emulator.records("SODOCUMENT")}


def test_transactions_are_created_then_updated_by_a_second_sync(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    setup_orders(project)
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_orders")["created"] == 2
    orders = orders_by_docid(emulator)
    assert set(orders) == {"Sales Order-SO-1", "Sales Order-SO-2"}
    assert Decimal(orders["Sales Order-SO-1"]["TOTAL"]) == Decimal("1000.00")
    assert project.state("intacct_orders")["SO-1"]["intacct_id"] == "Sales Order-SO-1"

    from tests.functional.test_sync_customers import customer_yaml

    project.seed(
        "order_lines", ORDER_LINES.replace("PO-19,2,CONSULTING,4,150.00", "PO-19,2,CONSULTING,6,150.00")
    )
    project.schema_yml(customer_yaml() + order_yaml("update"))
    project.build()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_orders")["updated"] == 2
    orders = orders_by_docid(emulator)
    assert len(orders) == 2
    assert Decimal(orders["Sales Order-SO-1"]["TOTAL"]) == Decimal("1300.00")


def test_transaction_clear(project: DbtProject, emulator: EmulatorAdmin) -> None:
    setup_orders(project, delete="clear")
    assert project.sync().exit_code == 0
    project.seed("order_lines", "\n".join(ORDER_LINES.splitlines()[:3]) + "\n")  # SO-2 leaves
    project.build()
    before = emulator.api_transactions()
    run = project.sync()
    assert run.exit_code == 0, run.output
    assert run.counts("intacct_orders")["cleared"] == 1
    assert project.state("intacct_orders")["SO-2"]["status"] == "cleared"
    assert emulator.api_transactions() == before + 1, "one update_sotransaction emptying SO-2's fields"
    cleared = orders_by_docid(emulator)["Sales Order-SO-2"]
    assert "PONUMBER" not in cleared and "SALES_CHANNEL" not in cleared
    assert orders_by_docid(emulator)["Sales Order-SO-1"]["PONUMBER"] == "PO-19"


# -- AR adjustments and payments ------------------------------------------------------------------------


def test_adjustments_and_payments_applied_to_synced_invoices(
    project: DbtProject, emulator: EmulatorAdmin
) -> None:
    from tests.functional.test_sync_customers import customer_yaml

    setup_invoices(project)
    project.seed(
        "receipts",
        """\
        receipt_id,customer,received_on,reference,invoice_number,amount
        R-1,C1,2026-10-28,WIRE-1,INV-1,1250.00
        R-2,C2,2026-10-30,CHK-2,INV-2,300.00
        R-3,C2,2026-10-30,CHK-3,INV-404,10.00
        """,
    )
    project.seed(
        "credit_memos",
        """\
        memo_number,customer,memo_date,invoice_number,account,amount,reason
        CM-1,C2,2026-10-20,INV-2,4100,-50.00,Goodwill credit
        """,
    )
    details = lines_sql(
        project, {"invoice_number": "invoice_number", "amount": "cast(amount as decimal(18,2))"}, "receipt_id"
    )
    adjustment_lines = lines_sql(
        project,
        {"account": "cast(account as varchar)", "amount": "cast(amount as decimal(18,2))", "memo": "reason"},
        "memo_number",
    )
    project.model(
        "intacct_payments",
        "select receipt_id, customer, cast(received_on as date) as received_on, reference, "
        f"{details} as applications from {{{{ ref('receipts') }}}} "
        "group by receipt_id, customer, received_on, reference",
    )
    project.model(
        "intacct_credit_memos",
        "select memo_number, customer, cast(memo_date as date) as memo_date, invoice_number, reason, "
        f"{adjustment_lines} as lines from {{{{ ref('credit_memos') }}}} "
        "group by memo_number, customer, memo_date, invoice_number, reason",
    )
    project.schema_yml(
        customer_yaml()
        + invoice_yaml("insert").split("models:\n", 1)[1]
        + model_entries(
            """\
              - name: intacct_payments
                config:
                  meta:
                    intacct:
                      object: ar_payment
                      primary_key: receipt_id
                      mapping:
                        FINANCIALENTITY: {value: BOA}
                        PAYMENTMETHOD: {value: EFT}
                        CUSTOMERID: customer
                        DOCNUMBER: reference
                        RECEIPTDATE: received_on
                        ARPYMTDETAILS:
                          array: applications
                          mapping:
                            RECORDKEY: {record_of: intacct_invoices, key: invoice_number}
                            TRX_PAYMENTAMOUNT: amount
              - name: intacct_credit_memos
                config:
                  meta:
                    intacct:
                      object: ar_adjustment
                      primary_key: memo_number
                      mapping:
                        customerid: customer
                        datecreated: memo_date
                        adjustmentno: memo_number
                        invoiceno: invoice_number
                        description: reason
                        aradjustmentitems:
                          array: lines
                          mapping:
                            glaccountno: account
                            amount: amount
                            memo: memo
                            customfields.REASON_CODE: {value: GOODWILL}
            """
        )
    )
    project.build()
    run = project.sync()
    assert run.exit_code == 1, run.output  # R-3 points at an invoice no model synced
    assert run.counts("intacct_invoices")["created"] == 2
    assert run.counts("intacct_credit_memos")["created"] == 1
    payments = run.counts("intacct_payments")
    assert (payments["created"], payments["rejected"]) == (2, 1)
    (error,) = run.model("intacct_payments")["errors"]
    assert error["row_key"] == "R-3" and error["field"] == "ARPYMTDETAILS[0].RECORDKEY"
    assert "'intacct_invoices' has no synced row with key 'INV-404'" in error["message"]

    invoices = invoices_by_number(emulator)
    assert Decimal(invoices["INV-1"]["TOTALDUE"]) == 0
    assert Decimal(invoices["INV-2"]["TOTALDUE"]) == Decimal("500.00")
    payments_made = emulator.records("ARPYMT")
    assert sorted(p["DOCNUMBER"] for p in payments_made) == ["CHK-2", "WIRE-1"]
    (adjustment,) = emulator.records("ARADJUSTMENT")
    assert adjustment["RECORDID"] == "CM-1" and Decimal(adjustment["TOTALENTERED"]) == Decimal("-50.00")
