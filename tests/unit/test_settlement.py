"""Settlement: every answer (or its absence) a sent function can get, and the outcome it must give.

These are the cases the exactly-once promise rests on: a function whose effect is unknown is settled by
reading Intacct back, never by sending a new function for its row.
"""

from __future__ import annotations

from datetime import date

from lxml import etree

from dbt_intacct.objects import RecordRef, get_object
from dbt_intacct.state.tables import CLEARED, DELETED, FAILED, OK, PENDING, REVERSED
from dbt_intacct.sync.planned import CREATE, DELETE, REVERSE, UPDATE, PlannedFunction, plan_function
from dbt_intacct.sync.settlement import (
    ALREADY_APPLIED,
    Verdict,
    after_read_back,
    settle,
    settle_too_large,
)
from dbt_intacct.xml.response import ErrorDetail, FunctionResult

CUSTOMER = get_object("customer")
PAYMENT = get_object("ar_payment")
MODEL = "model.demo.intacct_customers"


def customer_create(customer_id: str | None = "C1", match_value: str | None = None) -> PlannedFunction:
    values = {"NAME": "Acme"} | ({"CUSTOMERID": customer_id} if customer_id else {})
    body = CUSTOMER.build_create(values, {})
    return plan_function(MODEL, "C1", "h1", CREATE, None, 3, body, match_value=match_value)


def customer_update(mode_ref: RecordRef | None = None) -> PlannedFunction:
    ref = mode_ref or RecordRef(recordno="42", id="C1")
    body = CUSTOMER.build_update(ref, {"NAME": "Acme Ltd"}, {})
    return plan_function(MODEL, "C1", "h2", UPDATE, ref, 4, body, match_value="C1", line_counts='{"x": 1}')


def customer_delete() -> PlannedFunction:
    ref = RecordRef(recordno="42", id="C1")
    return plan_function(MODEL, "C1", None, DELETE, ref, 5, CUSTOMER.build_delete(ref))


def payment_create() -> PlannedFunction:
    body = PAYMENT.build_create(
        {
            "CUSTOMERID": "C1",
            "PAYMENTMETHOD": "Cash",
            "FINANCIALENTITY": "BOA",
            "RECEIPTDATE": "2026-12-01",
            "TRX_AMOUNTTOPAY": "10.00",
            "ARPYMTDETAILS": [{"RECORDKEY": 7, "TRX_PAYMENTAMOUNT": "10.00"}],
        },
        {},
    )
    return plan_function("model.demo.intacct_payments", "P1", "h", CREATE, None, 0, body)


def success(controlid: str, recordno: str | None = "101", customer_id: str | None = "C1") -> FunctionResult:
    data = etree.fromstring("<data><customer/></data>")
    record = data[0]
    if recordno is not None:
        etree.SubElement(record, "RECORDNO").text = recordno
    if customer_id is not None:
        etree.SubElement(record, "CUSTOMERID").text = customer_id
    return FunctionResult("success", "create", controlid, (), data, None)


def failure(controlid: str, errorno: str, text: str) -> FunctionResult:
    return FunctionResult("failure", "create", controlid, (ErrorDetail(errorno, text, "", ""),), None, None)


def test_an_applied_create_records_the_record_it_names() -> None:
    p = customer_create()
    s = settle(p, [success(p.controlid)], CUSTOMER, "upsert")
    assert s.verdict is Verdict.APPLIED
    assert s.outcome is not None
    assert (s.outcome.status, s.outcome.recordno, s.outcome.intacct_id) == (OK, "101", "C1")
    assert (s.counter, s.billed, s.read_back, s.error) == ("created", 1, None, None)


def test_an_applied_update_keeps_the_record_and_takes_the_new_line_counts() -> None:
    p = customer_update()
    answer = FunctionResult("success", "update", p.controlid, (), None, None)
    s = settle(p, [answer], CUSTOMER, "upsert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.outcome.recordno, s.outcome.line_counts) == (
        Verdict.APPLIED,
        OK,
        "42",
        '{"x": 1}',
    )
    assert (s.counter, s.billed) == ("updated", 1)


def test_an_applied_delete_leaves_the_row_deleted() -> None:
    p = customer_delete()
    s = settle(p, [FunctionResult("success", "delete", p.controlid, (), None, None)], CUSTOMER, "upsert")
    assert s.outcome is not None and s.outcome.status == DELETED
    assert s.counter == "deleted"


def test_a_rejected_function_fails_its_row_with_intacts_error_number() -> None:
    p = customer_create()
    s = settle(p, [failure(p.controlid, "BL03000018", "Invalid e-mail")], CUSTOMER, "insert")
    assert s.verdict is Verdict.REJECTED
    assert s.outcome is not None
    assert (s.outcome.status, s.outcome.errorno) == (FAILED, "BL03000018")
    assert s.error is not None and s.error.stage == "failed" and s.error.errorno == "BL03000018"
    assert (s.counter, s.billed) == ("failed", 0)


def test_already_applied_under_the_same_controlid_reads_a_create_back() -> None:
    p = customer_create()
    s = settle(p, [failure(p.controlid, "XL03000010", "already executed")], CUSTOMER, "upsert")
    assert s.verdict is Verdict.ALREADY_APPLIED
    assert s.read_back == ("CUSTOMERID", "C1")
    assert s.counter is None  # counted once the read-back says what happened
    found = after_read_back(s, RecordRef(recordno="77", id="C1"))
    assert found.outcome is not None
    assert (found.outcome.status, found.outcome.recordno, found.outcome.message) == (
        OK,
        "77",
        ALREADY_APPLIED,
    )
    # Intacct billed the write when the earlier, unanswered attempt ran; this run learns of it and
    # counts it (the refusal itself costs nothing): over the runs, the write is counted once.
    assert (s.billed, found.counter, found.billed) == (0, "created", 1)


def test_already_applied_and_not_found_stays_pending_for_the_same_function() -> None:
    p = customer_create()
    s = after_read_back(
        settle(p, [failure(p.controlid, "XL03000010", "already executed")], CUSTOMER, "upsert"), None
    )
    assert s.verdict is Verdict.UNKNOWN
    assert s.outcome is not None
    assert (s.outcome.status, s.outcome.controlid) == (PENDING, p.controlid)
    assert (s.counter, s.billed) == ("pending", 0)


def test_an_already_applied_update_is_applied_without_reading_back() -> None:
    p = customer_update()
    s = settle(p, [failure(p.controlid, "XL03000010", "already executed")], CUSTOMER, "upsert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.counter, s.read_back) == (
        Verdict.ALREADY_APPLIED,
        OK,
        "updated",
        None,
    )
    assert s.billed == 1  # the earlier attempt's write, billed when it ran, counted once: now


def test_an_already_applied_payment_has_nothing_to_be_found_by_and_is_applied() -> None:
    p = payment_create()
    s = settle(p, [failure(p.controlid, "XL03000010", "already executed")], PAYMENT, "insert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.outcome.recordno, s.counter) == (
        Verdict.ALREADY_APPLIED,
        OK,
        None,
        "created",
    )


def test_a_record_gone_in_intacct_settles_a_delete_as_deleted() -> None:
    p = customer_delete()
    answer = failure(p.controlid, "BL01001973", "Cannot find customer with key 42 to delete")
    s = settle(p, [answer], CUSTOMER, "upsert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.counter) == (Verdict.GONE, DELETED, "deleted")


def test_a_record_gone_in_intacct_makes_an_upsert_forget_it_and_create_it_again() -> None:
    p = customer_update()
    answer = failure(p.controlid, "BL01001973", "Cannot update non-existing CUSTOMER with RECORDNO=42")
    s = settle(p, [answer], CUSTOMER, "upsert")
    assert s.verdict is Verdict.GONE and s.follow_up
    assert s.outcome is not None
    assert (s.outcome.status, s.outcome.recordno, s.outcome.intacct_id) == (FAILED, None, None)
    assert s.counter is None  # the follow-up settles the row


def test_a_record_gone_in_intacct_fails_an_update_row_until_it_is_matched_again() -> None:
    p = customer_update()
    answer = failure(p.controlid, "BL01001973", "Cannot update non-existing CUSTOMER with RECORDNO=42")
    s = settle(p, [answer], CUSTOMER, "update")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.outcome.recordno, s.counter, s.follow_up) == (
        Verdict.GONE,
        FAILED,
        None,
        "failed",
        False,
    )


def test_a_missing_other_record_is_not_the_record_gone() -> None:
    p = customer_update()
    answer = failure(p.controlid, "BL03000025", "Term NET99 does not exist")
    assert settle(p, [answer], CUSTOMER, "upsert").verdict is Verdict.REJECTED


def test_an_upsert_create_that_meets_an_existing_record_is_matched_again() -> None:
    p = customer_create(match_value="C1")
    answer = failure(p.controlid, "BL34000061", "Another Customer with the given value(s) C1 already exists")
    s = settle(p, [answer], CUSTOMER, "upsert")
    assert (s.verdict, s.follow_up, s.outcome, s.counter) == (Verdict.DUPLICATE, True, None, None)
    # Outside upsert, or without a value to match, a duplicate is the row's error.
    assert settle(p, [answer], CUSTOMER, "insert").verdict is Verdict.REJECTED
    unmatched = customer_create(match_value=None)
    assert settle(unmatched, [answer], CUSTOMER, "upsert").verdict is Verdict.REJECTED


def test_no_answer_for_a_create_reads_it_back_by_its_natural_id() -> None:
    p = customer_create()
    s = settle(p, [], CUSTOMER, "upsert")
    assert (s.verdict, s.read_back, s.billed) == (Verdict.UNKNOWN, ("CUSTOMERID", "C1"), 0)
    found = after_read_back(s, RecordRef(recordno="9", id="C1"))
    assert found.outcome is not None
    assert (found.verdict, found.outcome.status, found.outcome.recordno, found.counter) == (
        Verdict.APPLIED,
        OK,
        "9",
        "created",
    )
    assert found.billed == 1  # found written: Intacct billed it
    missing = after_read_back(s, None)
    assert missing.outcome is not None
    assert (missing.verdict, missing.outcome.status, missing.counter) == (Verdict.UNKNOWN, PENDING, "pending")
    assert missing.billed == 0


def test_no_answer_for_an_update_leaves_it_pending() -> None:
    p = customer_update()
    s = settle(p, [], CUSTOMER, "upsert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.outcome.controlid, s.counter, s.read_back) == (
        Verdict.UNKNOWN,
        PENDING,
        p.controlid,
        "pending",
        None,
    )


def test_an_applied_create_that_names_no_record_is_read_back_never_recorded_ok_blind() -> None:
    p = customer_create()
    s = settle(p, [success(p.controlid, recordno=None, customer_id=None)], CUSTOMER, "upsert")
    assert (s.verdict, s.read_back, s.billed, s.counter) == (Verdict.UNKNOWN, ("CUSTOMERID", "C1"), 1, None)
    missing = after_read_back(s, None)
    assert missing.outcome is not None and missing.outcome.status == PENDING
    # Not found: counted by the run that finds it (its resend refused as already applied), not twice.
    assert missing.billed == 0
    found = after_read_back(s, RecordRef(recordno="55", id="C1"))
    assert found.outcome is not None and (found.outcome.status, found.outcome.recordno) == (OK, "55")
    assert found.billed == 1


def test_an_applied_create_without_record_or_natural_id_stays_pending() -> None:
    p = customer_create(customer_id=None)
    s = settle(p, [success(p.controlid, recordno=None, customer_id=None)], CUSTOMER, "upsert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.read_back, s.counter) == (
        Verdict.UNKNOWN,
        PENDING,
        None,
        "pending",
    )


def test_two_answers_for_one_controlid_are_an_unknown_outcome_never_a_failure() -> None:
    p = customer_create()
    answers = [success(p.controlid), failure(p.controlid, "BL03000018", "Invalid")]
    s = settle(p, answers, CUSTOMER, "upsert")
    assert (s.verdict, s.read_back, s.error) == (Verdict.UNKNOWN, ("CUSTOMERID", "C1"), None)
    assert s.outcome is not None and s.outcome.status == PENDING
    # Billed only once the read-back finds the record written.
    assert (s.billed, after_read_back(s, RecordRef(recordno="5", id="C1")).billed) == (0, 1)
    # Two identical successes are no better: Intacct answers each control ID once.
    assert (
        settle(p, [success(p.controlid), success(p.controlid)], CUSTOMER, "upsert").verdict is Verdict.UNKNOWN
    )


def test_two_answers_for_an_update_leave_it_pending() -> None:
    p = customer_update()
    ok = FunctionResult("success", "update", p.controlid, (), None, None)
    s = settle(p, [failure(p.controlid, "BL03000018", "Invalid"), ok], CUSTOMER, "upsert")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.counter) == (Verdict.UNKNOWN, PENDING, "pending")


def test_a_function_too_large_alone_fails_its_row() -> None:
    p = customer_create()
    s = settle_too_large(p, "HTTP 413")
    assert s.outcome is not None
    assert (s.verdict, s.outcome.status, s.counter) == (Verdict.TOO_LARGE, FAILED, "failed")
    assert s.error is not None and "HTTP 413" in s.error.message


def test_a_cleared_record_is_cleared() -> None:
    ref = RecordRef(recordno="42", id="C1")
    body = CUSTOMER.build_clear(ref, ["NAME", "COMMENTS"], [])
    p = plan_function(MODEL, "C1", None, "clear", ref, 2, body)
    s = settle(p, [FunctionResult("success", "update", p.controlid, (), None, None)], CUSTOMER, "upsert")
    assert s.outcome is not None and (s.outcome.status, s.counter) == (CLEARED, "cleared")


# -- reversals (journal entries) ------------------------------------------------------------------------

JOURNAL = get_object("journal_entry")


def journal_reversal(reposts: bool = True) -> PlannedFunction:
    posted = JOURNAL.build_create(
        {
            "JOURNAL": "GJ",
            "BATCH_DATE": "2026-10-31",
            "BATCH_TITLE": "Payroll",
            "REFERENCENO": "JE-1",
            "ENTRIES": [{"ACCOUNTNO": "6500", "AMOUNT": "10.00"}, {"ACCOUNTNO": "2000", "AMOUNT": "-10.00"}],
        },
        {},
    )
    body = JOURNAL.build_reversal(
        etree.tostring(posted, encoding="unicode"), on=date(2026, 12, 5), recordno="42"
    )
    ref = RecordRef(recordno="42")
    return plan_function("model.demo.je", "JE-1", "h", REVERSE, ref, 1, body, reposts=reposts)


def batch_success(controlid: str, recordno: str) -> FunctionResult:
    data = etree.fromstring(f"<data><glbatch><RECORDNO>{recordno}</RECORDNO></glbatch></data>")
    return FunctionResult("success", "create", controlid, (), data, None)


def test_an_applied_reversal_records_its_own_recordno_names_the_original_and_asks_for_the_new_entry() -> None:
    p = journal_reversal()
    s = settle(p, [batch_success(p.controlid, "43")], JOURNAL, "insert")
    assert s.verdict is Verdict.APPLIED and s.outcome is not None
    assert (s.outcome.status, s.outcome.recordno, s.outcome.action) == (REVERSED, "43", REVERSE)
    assert s.outcome.message is not None and "reversal of RECORDNO 42" in s.outcome.message
    assert (s.counter, s.billed, s.follow_up) == ("reversed", 1, True)
    removal = journal_reversal(reposts=False)
    assert settle(removal, [batch_success(removal.controlid, "44")], JOURNAL, "insert").follow_up is False


def test_a_reversal_already_applied_is_read_back_by_its_own_reference_not_taken_as_the_original() -> None:
    p = journal_reversal()
    s = settle(p, [failure(p.controlid, "XL03000010", "already executed")], JOURNAL, "insert")
    assert s.read_back == ("REFERENCENO", "REV-JE-1")
    assert s.counter is None
    found = after_read_back(s, RecordRef(recordno="43"))
    assert found.outcome is not None
    assert (found.outcome.status, found.outcome.recordno, found.counter) == (REVERSED, "43", "reversed")
    assert found.follow_up is True
    lost = after_read_back(s, None)
    assert lost.outcome is not None and lost.outcome.status == PENDING and lost.follow_up is False


def test_no_answer_for_a_reversal_reads_it_back_and_a_refused_one_fails_its_row() -> None:
    p = journal_reversal()
    assert settle(p, [], JOURNAL, "insert").read_back == ("REFERENCENO", "REV-JE-1")
    refused = settle(p, [failure(p.controlid, "BL01001973", "period closed")], JOURNAL, "insert")
    assert refused.outcome is not None
    assert (refused.outcome.status, refused.outcome.recordno, refused.follow_up) == (FAILED, "42", False)
