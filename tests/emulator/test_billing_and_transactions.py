"""The API-transaction counter, uniqueid duplicate protection, and transaction="true" rollback."""

from __future__ import annotations

from dbt_intacct.emulator import EmulatorAdmin
from tests.emulator.support import GatewayClient, customer_xml, function, invoice_xml, journal_xml

BALANCED = [("6000", "1", "10"), ("1000", "-1", "10")]


def spent(admin: EmulatorAdmin, before: int) -> int:
    return admin.api_transactions() - before


def test_billing_rule(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    start = admin.api_transactions()
    gw.login()
    assert spent(admin, start) == 0, "getAPISession is free"

    gw.create(customer_xml("B1") + customer_xml("B2") + customer_xml("B3")).ok()
    assert spent(admin, start) == 3, "one per object created, even in one function"

    gw.one(
        "<update><CUSTOMER><CUSTOMERID>B1</CUSTOMERID><NAME>x</NAME></CUSTOMER>"
        "<CUSTOMER><CUSTOMERID>B2</CUSTOMERID><NAME>y</NAME></CUSTOMER></update>"
    ).ok()
    assert spent(admin, start) == 5, "one per object updated"

    keys = [str(row["RECORDNO"]) for row in gw.query("CUSTOMER", fields="RECORDNO")]
    assert spent(admin, start) == 6, "one per query page"
    gw.one(f"<delete><object>CUSTOMER</object><keys>{keys[0]},{keys[1]}</keys></delete>").ok()
    assert spent(admin, start) == 8, "one per key deleted"

    gw.create(journal_xml([("6000", "1", "1"), ("1000", "-1", "1")] * 5)).ok()
    assert spent(admin, start) == 9, "lines do not count separately"

    gw.create(customer_xml("B3"))  # duplicate: fails
    gw.create(journal_xml([("6000", "1", "1"), ("1000", "-1", "2")]))  # unbalanced: fails
    assert spent(admin, start) == 9, "failed functions are free"

    gw.create(customer_xml("LEG")).ok()
    key = gw.one(invoice_xml("LEG")).ok().key
    gw.one(f'<update_invoice key="{key}"><description>d</description></update_invoice>').ok()
    gw.one(f'<delete_invoice key="{key}"/>').ok()
    assert spent(admin, start) == 13, "each legacy create, update and delete counts one"

    page = gw.one("<readByQuery><object>CUSTOMER</object><query/><pagesize>1</pagesize></readByQuery>").ok()
    assert page.data is not None
    gw.one(f"<readMore><resultId>{page.data.get('resultId')}</resultId></readMore>").ok()
    gw.one(f"<read><object>CUSTOMER</object><keys>{keys[2]},1,2,3</keys></read>").ok()
    gw.one("<readByName><object>CUSTOMER</object><keys>B3,LEG</keys></readByName>").ok()
    gw.one("<query><object>CUSTOMER</object><select><field>RECORDNO</field></select></query>").ok()
    assert spent(admin, start) == 18, "read, readByName, readByQuery, readMore, query: one per call"

    gw.one("<readByQuery><object>NOPE</object><query/></readByQuery>")
    assert spent(admin, start) == 18, "a failed read is free"

    partial = gw.one(
        "<update><CUSTOMER><CUSTOMERID>B3</CUSTOMERID><NAME>z</NAME></CUSTOMER>"
        "<CUSTOMER><CUSTOMERID>GHOST</CUSTOMERID><NAME>z</NAME></CUSTOMER></update>"
    )
    assert partial.status == "failure"
    assert spent(admin, start) == 19, "a failed multi-object update counts the objects it did write"

    stats = admin.stats()
    assert stats["functions_failed"] == 4
    assert stats["requests"] >= stats["functions"] - 3


def test_uniqueid_true_refuses_a_completed_controlid(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    first = gw.call(function(f"<create>{customer_xml('U1')}</create>", "cust-U1-v1"), uniqueid=True).result
    first.ok()
    again = gw.call(function(f"<create>{customer_xml('U1')}</create>", "cust-U1-v1"), uniqueid=True).result
    assert again.status == "failure"
    assert again.errornos == ["XL03000010"]
    assert again.errors[0].description2 == (
        "The function with control ID 'cust-U1-v1' was already executed and completed; "
        "with uniqueid=true it cannot be repeated."
    )
    assert "already executed" in again.message
    assert len(gw.query("CUSTOMER")) == 1

    failed = gw.call(function(f"<create>{customer_xml('U1')}</create>", "cust-U1-dup"), uniqueid=True).result
    assert failed.errornos[0] == "BL34000061"
    retried = gw.call(function(f"<create>{customer_xml('U2')}</create>", "cust-U1-dup"), uniqueid=True).result
    retried.ok()  # a controlid that failed did not complete, so it may run again

    plain = gw.call(function(f"<create>{customer_xml('U3')}</create>", "cust-U3"), uniqueid=False).result
    plain.ok()
    gw.call(
        function(f"<update>{customer_xml('U3', 'again')}</update>", "cust-U3"), uniqueid=False
    ).result.ok()
    assert admin.stats()["completed_controlids"] == 2  # only functions run under uniqueid=true are remembered


def test_transaction_true_rolls_back_everything_on_failure(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    gw.create(customer_xml("T0")).ok()
    before = admin.api_transactions()
    reply = gw.call(
        function(f"<create>{customer_xml('T1')}</create>", "t-1"),
        function(f"<create>{journal_xml(BALANCED)}</create>", "t-2"),
        function(f"<create>{customer_xml('T0')}</create>", "t-3"),  # duplicate: fails
        function(f"<create>{customer_xml('T4')}</create>", "t-4"),
        transaction=True,
        uniqueid=True,
    )
    statuses = [(r.controlid, r.status, r.errornos) for r in reply.results]
    assert statuses == [
        ("t-1", "aborted", ["XL03000009"]),
        ("t-2", "aborted", ["XL03000009"]),
        ("t-3", "failure", ["BL34000061", "BL01001973", "XL03000009"]),
        ("t-4", "aborted", ["XL03000009"]),
    ]
    assert reply.results[0].errors[0].description2 == (
        "The entire transaction in this operation has been rolled back due to an error."
    )
    assert [row["CUSTOMERID"] for row in gw.query("CUSTOMER")] == ["T0"]
    assert gw.query("GLBATCH") == []
    assert admin.api_transactions() == before + 2  # only the two readByQuery calls above
    assert admin.stats()["functions_aborted"] == 3
    again = gw.call(function(f"<create>{customer_xml('T1')}</create>", "t-1"), uniqueid=True).result
    again.ok()  # the rolled-back function did not complete: its controlid is free


def test_transaction_true_commits_when_all_succeed(gw: GatewayClient) -> None:
    reply = gw.call(
        function(f"<create>{customer_xml('OK1')}</create>"),
        function(f"<create>{customer_xml('OK2')}</create>"),
        transaction=True,
    )
    assert [r.status for r in reply.results] == ["success", "success"]
    assert len(gw.query("CUSTOMER")) == 2


def test_transaction_false_keeps_the_others(gw: GatewayClient) -> None:
    reply = gw.call(
        function(f"<create>{customer_xml('F1')}</create>"),
        function(f"<create>{customer_xml('F1')}</create>"),
        function(f"<create>{customer_xml('F2')}</create>"),
    )
    assert [r.status for r in reply.results] == ["success", "failure", "success"]
    assert [row["CUSTOMERID"] for row in gw.query("CUSTOMER")] == ["F1", "F2"]
