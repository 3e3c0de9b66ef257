"""Pending intents, made on purpose: each scenario leaves writes unanswered (the WireTap cuts the
connection before or after the emulator applies them, on every retry), then changes the model the way a
user would before the next run, and checks what Intacct and the state end up with.

These are the situations the crash test reaches by chance, made deterministic. They were written against
an engine that re-sent an open intent's old payload under the row's new hash (a change made meanwhile was
never sent), never settled an intent whose row had left the model, recorded journal entries resolved as
"already applied" without their RECORDNO (fixed in 8978c69), and read each such create back with a query
of its own (fixed in ded6380); these tests keep them fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_intacct.emulator import EmulatorAdmin
from tests.resilience.dataset import (
    CUSTOMERS_YML,
    ENTRIES_ENTRY,
    ENTRIES_MODEL,
    entries_model_sql,
    state_rows,
)
from tests.resilience.wiretap import Spoil, WireTap
from tests.support.project import DbtProject

pytestmark = pytest.mark.xdist_group("resilience_pending")


@pytest.fixture
def project(tmp_path: Path, tap: WireTap) -> DbtProject:
    project = DbtProject(tmp_path / "proj", "duckdb", tap.url())
    project.write_intacct_yml(batch_size=20, max_retries=2)
    return project


def unanswered_writes(cut: str) -> Spoil | None:
    """What the tap does to every write while a scenario wants it left pending."""
    return Spoil(cut=cut, name=f"cut {cut}")


def cut_writes(tap: WireTap, cut: str) -> None:
    tap.tamper = lambda _, body: unanswered_writes(cut) if b"<uniqueid>true</uniqueid>" in body else None


def customers(project: DbtProject, rows: str) -> None:
    project.seed("crm_customers", "code,name\n" + rows)
    project.model("intacct_customers", "select * from {{ ref('crm_customers') }}")
    project.schema_yml(CUSTOMERS_YML)
    project.build()


def names(admin: EmulatorAdmin) -> dict[str, str]:
    return {str(r["CUSTOMERID"]): str(r["NAME"]) for r in admin.records("CUSTOMER")}


@pytest.mark.parametrize("cut", ["before", "after"], ids=["never_applied", "applied_unanswered"])
def test_a_row_changed_while_its_update_was_pending_reaches_intacct_with_its_new_values(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin, cut: str
) -> None:
    customers(project, "C1,Acme Old\nC2,Blue\n")
    assert project.sync().exit_code == 0
    customers(project, "C1,Acme Mid\nC2,Blue\n")
    cut_writes(tap, cut)
    assert project.sync().exit_code == 1
    assert project.state("intacct_customers")["C1"]["status"] == "pending"
    tap.tamper = None
    customers(project, "C1,Acme New\nC2,Blue\n")  # the user fixes the row again before the rerun
    assert project.sync().exit_code == 0
    assert project.sync().exit_code == 0
    assert names(admin)["C1"] == "Acme New", f"Intacct has {names(admin)['C1']!r}; the model says 'Acme New'"


def test_a_row_that_left_the_model_while_pending_gets_its_delete_behaviour(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin
) -> None:
    customers(project, "C1,Acme\nC2,Blue\n")
    cut_writes(tap, "after")  # both created in Intacct, neither answer arrives
    assert project.sync().exit_code == 1
    assert set(names(admin)) == {"C1", "C2"}
    tap.tamper = None
    customers(project, "C1,Acme\n")
    assert project.sync().exit_code == 0
    assert project.sync().exit_code == 0
    state = project.state("intacct_customers")
    assert state["C1"]["status"] == "ok"
    assert (set(names(admin)), state["C2"]["status"]) == ({"C1"}, "deleted")


def test_a_journal_entry_applied_without_an_answer_is_recorded_with_its_recordno(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin
) -> None:
    project.seed(
        "gl_lines",
        "entry_id,posting_date,title,line_no,account,amount,memo\n"
        "JE-1,2026-10-31,Payroll,1,6500,100.00,a\nJE-1,2026-10-31,Payroll,2,2000,-100.00,b\n"
        "JE-2,2026-10-31,Hosting,1,6000,5.00,c\nJE-2,2026-10-31,Hosting,2,2000,-5.00,d\n",
    )
    project.model(ENTRIES_MODEL, entries_model_sql(project.warehouse))
    project.schema_yml("models:\n" + ENTRIES_ENTRY)
    project.build()
    cut_writes(tap, "after")
    assert project.sync().exit_code == 1
    tap.tamper = None
    assert project.sync().exit_code == 0
    posted = {str(r["REFERENCENO"]): str(r["RECORDNO"]) for r in admin.records("GLBATCH")}
    assert len(admin.records("GLBATCH")) == 2, "posted once each"
    state = state_rows(project)
    assert {key: state[(ENTRIES_MODEL, key)]["recordno"] for key in posted} == posted


def test_creates_applied_without_an_answer_are_read_back_in_bulk(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin
) -> None:
    customers(project, "".join(f"C{n:03d},Customer {n}\n" for n in range(40)))
    cut_writes(tap, "after")  # two batches of 20 applied, both answers lost
    assert project.sync().exit_code == 1
    tap.tamper = None
    before = len(tap.exchanges)
    assert project.sync().exit_code == 0
    rerun = tap.exchanges[before:]
    reads = [e for e in rerun if not e.writes]
    assert len(admin.records("CUSTOMER")) == 40
    # One login, and at most one read-back query per batch of 20 (each query is a billed transaction).
    assert len(reads) <= 3, f"{len(reads)} read requests to resolve 40 already-applied creates"


INVOICES_AND_PAYMENTS_YML = """\
models:
  - name: intacct_invoices
    config:
      meta:
        intacct:
          object: invoice
          mode: insert
          primary_key: invoice_number
          mapping:
            customerid: customer_code
            datecreated: invoice_date
            datedue: due_date
            description: description
            invoiceitems:
              array: lines
              mapping: {glaccountno: account, amount: amount, memo: memo}
  - name: intacct_payments
    config:
      meta:
        intacct:
          object: ar_payment
          mode: insert
          primary_key: receipt_id
          mapping:
            FINANCIALENTITY: {value: BOA}
            PAYMENTMETHOD: {value: Printed Check}
            CUSTOMERID: customer_code
            RECEIPTDATE: received_on
            ARPYMTDETAILS:
              array: applications
              mapping:
                RECORDKEY: {record_of: intacct_invoices, key: invoice_number}
                TRX_PAYMENTAMOUNT: amount
"""


def test_a_payment_reaches_an_invoice_whose_create_answer_was_lost(
    project: DbtProject, tap: WireTap, admin: EmulatorAdmin
) -> None:
    from tests.support.intacct import create_customer_directly

    create_customer_directly(admin, "ACME", "Acme")
    project.model(
        "intacct_invoices",
        "select 'INV-1' as invoice_number, 'ACME' as customer_code, date '2026-10-01' as invoice_date, "
        "date '2026-10-31' as due_date, 'Widgets' as description, "
        "[struct_pack(account := '4000', amount := 100.00, memo := 'widgets')] as lines",
    )
    project.model(
        "intacct_payments",
        "select 'R-1' as receipt_id, 'ACME' as customer_code, date '2026-10-15' as received_on, "
        "[struct_pack(invoice_number := 'INV-1', amount := 100.00)] as applications",
    )
    project.schema_yml(INVOICES_AND_PAYMENTS_YML)
    project.build()
    # The invoice is created, its answer lost (every resend too): the run stops with it pending.
    tap.tamper = lambda _, body: Spoil(cut="after", name="cut after") if b"<create_invoice" in body else None
    assert project.sync().exit_code == 1
    tap.tamper = None
    runs = [project.sync() for _ in range(3)]
    invoices = admin.records("ARINVOICE")
    assert len(invoices) == 1, "the invoice exists once"
    assert runs[-1].exit_code == 0, runs[-1].output
    assert str(invoices[0]["TOTALPAID"]) == "100.00", "the payment was applied to it"
