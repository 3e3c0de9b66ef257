"""Settling a sent function: from what the gateway answered, or did not, to the row's outcome.

A pure module: no I/O, no clock, no state. `settle` takes a planned function and every result the
gateway returned for its control ID (none, one, or several) and decides by kind, never by message
text alone:

- applied: Intacct ran it now; a create must name its record (RECORDNO or key in the answer);
- already applied: Intacct refused to run the control ID again, so an earlier, unanswered attempt ran
  it; a create's record is read back by its natural ID;
- rejected: Intacct refused it; the row fails with Intacct's error number and is retried next run;
- gone: the record it names was deleted in Intacct (a delete or clear is then done; an upsert creates
  it again; an update waits to be matched again);
- duplicate: an upsert's create met an existing record, which is matched and updated;
- unknown: no answer, several answers for one control ID, or a create applied without naming its
  record. The outcome is settled by reading Intacct back (`after_read_back`), never by writing again:
  found, the row is written; not found, it stays pending and its same function is resent next run.
- too large: the function alone is larger than a request may be.

Billing (`billed`, API.md section 5: one API transaction per record written; a failed function
nothing): a function counts 1 in the run that learns its record was written, and only then: applied
now, applied by an earlier attempt (the refusal of its repeated control ID costs nothing, the write it
refers to was billed when it ran, in an attempt whose answer was lost), or found by a read-back. A
rejected function, an unknown outcome not found, a duplicate and a gone record count 0. Each write is so
counted once over the runs, and their sum is what Intacct billed.

Exactly-once rests on this: a function whose effect is not known is never followed by a new one for
its row, only by the same function (same control ID), which Intacct refuses to run twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from dbt_intacct.objects import IntacctObject, RecordRef
from dbt_intacct.results import RowError
from dbt_intacct.state.ledger import RowOutcome
from dbt_intacct.state.tables import DELETED, FAILED, PENDING
from dbt_intacct.sync.planned import (
    ACTION_COUNTER,
    CLEAR,
    CREATE,
    CREATING,
    DELETE,
    REVERSE,
    PlannedFunction,
)
from dbt_intacct.xml.response import FunctionResult

ALREADY_APPLIED = "applied by an earlier attempt (same controlid)"
NO_ANSWER = "Intacct returned no result for this function"
# Wording Intacct uses when the record a function names does not exist (API.md section 4).
_GONE_WORDING = ("cannot find", "non-existing", "non existing", "does not exist", "not found")


class Verdict(StrEnum):
    """What the gateway's answer means for the row."""

    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    REJECTED = "rejected"
    GONE = "gone"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"
    TOO_LARGE = "too_large"


@dataclass(frozen=True)
class Settlement:
    """A function's answer, settled: what the state records and what the run's counts gain.

    `read_back` (query field, value) asks the caller to look the record up and pass what it found to
    `after_read_back`; `follow_up` asks it to match an upsert row again (update the match, or create).
    `outcome` is None when nothing is recorded until the follow-up is sent.
    """

    verdict: Verdict
    function: PlannedFunction
    outcome: RowOutcome | None
    counter: str | None = None  # the ModelResult counter it adds to (created, failed, pending ...)
    error: RowError | None = None
    billed: int = 0  # API transactions Intacct billed for it (1 when its record is known written)
    read_back: tuple[str, str] | None = None
    follow_up: bool = False


def settle(
    planned: PlannedFunction, answers: Sequence[FunctionResult], obj: IntacctObject, mode: str
) -> Settlement:
    """Settle one function from every result the gateway returned for its control ID."""
    if not answers:
        return _unknown(planned, obj, NO_ANSWER, billed=0)
    if len(answers) > 1:
        kinds = ", ".join(answer.status or "no status" for answer in answers)
        message = (
            f"Intacct answered {len(answers)} results for this function ({kinds}); its outcome is unknown "
            "until Intacct is read back"
        )
        return _unknown(planned, obj, message, billed=0)
    answer = answers[0]
    if answer.ok:
        return _applied(planned, answer, obj)
    if (
        planned.action == CREATE
        and mode == "upsert"
        and answer.is_duplicate
        and planned.match_value is not None
    ):
        return Settlement(Verdict.DUPLICATE, planned, None, follow_up=True)
    if (
        planned.action not in CREATING
        and planned.ref is not None
        and record_is_gone(answer.message, planned.ref)
    ):
        return _gone(planned, answer.message, mode)
    if answer.is_repeated_controlid:
        return _already_applied(planned, obj)
    errorno = answer.errors[0].errorno if answer.errors else None
    message = answer.message or "Intacct refused the function without a message"
    return Settlement(
        Verdict.REJECTED,
        planned,
        planned.outcome(FAILED, errorno=errorno, message=message),
        counter="failed",
        error=RowError(row_key=planned.row_key, field=None, message=message, errorno=errorno, stage="failed"),
    )


def settle_too_large(planned: PlannedFunction, detail: str) -> Settlement:
    """A function refused for its size even alone in its request: the row fails."""
    message = f"this row's function alone is larger than Intacct accepts in one request ({detail})"
    return Settlement(
        Verdict.TOO_LARGE,
        planned,
        planned.outcome(FAILED, message=message),
        counter="failed",
        error=RowError(row_key=planned.row_key, field=None, message=message, stage="failed"),
    )


def after_read_back(settlement: Settlement, found: RecordRef | None) -> Settlement:
    """Finish a settlement that asked for a read-back with the record found (None: not found)."""
    if settlement.read_back is None:
        return settlement
    planned = settlement.function
    field, value = settlement.read_back
    if found is not None:
        assert settlement.outcome is not None
        outcome = planned.applied(
            recordno=found.recordno,
            intacct_id=found.id or settlement.outcome.intacct_id,
            message=_reversal_note(planned, settlement.outcome.message),
        )
        verdict = (
            Verdict.ALREADY_APPLIED if settlement.verdict is Verdict.ALREADY_APPLIED else Verdict.APPLIED
        )
        return replace(
            settlement,
            verdict=verdict,
            outcome=outcome,
            counter=ACTION_COUNTER[planned.action],
            billed=1,  # written, by this attempt or an earlier one whose answer was lost
            read_back=None,
            follow_up=planned.reposts,
        )
    reason = settlement.outcome.message if settlement.outcome is not None else NO_ANSWER
    message = (
        f"{reason}; no {field} = {value!r} was found in Intacct, so the row stays pending and the same "
        "function (same controlid, which Intacct never runs twice) is sent again by the next run"
    )
    return replace(
        settlement,
        verdict=Verdict.UNKNOWN,
        outcome=planned.outcome(PENDING, message=message),
        counter="pending",
        billed=0,  # counted by the run that finds it written (its resend is refused as already applied)
        read_back=None,
    )


def record_is_gone(message: str, ref: RecordRef) -> bool:
    """Whether Intacct refused a function because the very record it names no longer exists: the
    wording says so and the message names the record's RECORDNO or ID (not, say, a missing customer)."""
    text = message.lower()
    names_record = any(key and str(key).lower() in text for key in (ref.recordno, ref.id))
    return names_record and any(words in text for words in _GONE_WORDING)


def _reversal_note(planned: PlannedFunction, message: str | None) -> str | None:
    """A reversal's outcome names the entry it reverses (its own RECORDNO is the outcome's)."""
    if planned.action != REVERSE:
        return message
    original = planned.ref.recordno if planned.ref is not None else None
    note = f"reversal of RECORDNO {original or '(unknown)'}"
    if planned.reposts:
        note += "; the row is posted again"
    return f"{note} ({message})" if message else note


def _applied(planned: PlannedFunction, answer: FunctionResult, obj: IntacctObject) -> Settlement:
    if planned.action not in CREATING:
        return Settlement(
            Verdict.APPLIED, planned, planned.applied(), counter=ACTION_COUNTER[planned.action], billed=1
        )
    ref = obj.ref_from_result(answer.data, answer.key)
    if not (ref.recordno or ref.id):
        return _unknown(planned, obj, "Intacct reported the create applied but named no record", billed=1)
    return Settlement(
        Verdict.APPLIED,
        planned,
        planned.applied(recordno=ref.recordno, intacct_id=ref.id, message=_reversal_note(planned, None)),
        counter=ACTION_COUNTER[planned.action],
        billed=1,
        follow_up=planned.reposts,
    )


def _already_applied(planned: PlannedFunction, obj: IntacctObject) -> Settlement:
    """Intacct says this controlid already ran: the write happened in an earlier, unanswered attempt.

    A create's (or a reversal's) record is then read back by the natural ID its payload carries. An
    object that has none (an AR payment) is recorded as applied with its RECORDNO unknown: nothing
    could ever name it.
    """
    outcome = planned.applied(message=ALREADY_APPLIED)
    settlement = Settlement(
        Verdict.ALREADY_APPLIED, planned, outcome, counter=ACTION_COUNTER[planned.action], billed=1
    )
    if planned.action not in CREATING or (
        planned.action == CREATE and planned.ref is not None and planned.ref.recordno
    ):
        return replace(settlement, follow_up=planned.reposts)
    key = obj.natural_key_of_body(planned.function.body)
    if key is None:
        return settlement
    return replace(settlement, counter=None, billed=0, read_back=key)


def _unknown(planned: PlannedFunction, obj: IntacctObject, reason: str, *, billed: int) -> Settlement:
    """An outcome the answer does not settle: read the record back when Intacct can find it."""
    key = obj.natural_key_of_body(planned.function.body) if planned.action in CREATING else None
    if key is None:
        message = reason
        if planned.action in CREATING:
            message += "; nothing in its payload can find the record again"
        message += (
            ", so the row stays pending and the same function (same controlid, which Intacct never runs "
            "twice) is sent again by the next run"
        )
        return Settlement(
            Verdict.UNKNOWN,
            planned,
            planned.outcome(PENDING, message=message),
            counter="pending",
            billed=billed,
        )
    return Settlement(
        Verdict.UNKNOWN, planned, planned.outcome(PENDING, message=reason), billed=billed, read_back=key
    )


def _gone(planned: PlannedFunction, message: str, mode: str) -> Settlement:
    """The record was deleted in Intacct by someone else.

    A delete or clear of it is done (nothing is left). An update forgets the RECORDNO: an upsert row is
    then matched again and created, in this run; an update row waits to be matched again.
    """
    if planned.action in {DELETE, CLEAR}:
        outcome = planned.outcome(DELETED, message=f"already gone in Intacct: {message}")
        return Settlement(Verdict.GONE, planned, outcome, counter="deleted")
    forgotten = planned.outcome(FAILED, recordno=None, intacct_id=None, line_counts=None)
    if mode == "upsert":
        outcome = replace(forgotten, message="the record was deleted in Intacct; created again")
        return Settlement(Verdict.GONE, planned, outcome, follow_up=True)
    text = f"the record no longer exists in Intacct ({message}); the row is matched again on the next run"
    return Settlement(
        Verdict.GONE,
        planned,
        replace(forgotten, message=text),
        counter="failed",
        error=RowError(row_key=planned.row_key, field=None, message=text, stage="failed"),
    )
