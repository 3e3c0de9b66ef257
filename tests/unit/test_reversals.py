"""Reversals of journal entries: the reversing entry built from the posted one, and the options that ask
for them (`delete: reverse`, `on_change: reverse`, `reverse_date`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from lxml import etree

from dbt_intacct.errors import ConfigError, RowRejected
from dbt_intacct.objects import get_object
from dbt_intacct.sync.reversals import Reversals
from dbt_intacct.sync.spec import parse_specs
from tests.unit.test_spec import CUSTOMER, model, problems_of

JOURNAL = get_object("journal_entry")
ENTRY = {
    "JOURNAL": "GJ",
    "BATCH_DATE": "2026-10-31",
    "REVERSEDATE": "2026-11-01",
    "BATCH_TITLE": "Payroll accrual",
    "REFERENCENO": "JE-1",
    "SUPDOCID": "DOC1",
    "ENTRIES": [
        {"ACCOUNTNO": "6500", "AMOUNT": "1250.50", "DEPARTMENT": "ADM", "customfields.COST_CENTER": "CC1"},
        {"ACCOUNTNO": "2000", "AMOUNT": "-1250.50", "LOCATION": "100", "DESCRIPTION": "accrued"},
    ],
}
META = {
    "object": "journal_entry",
    "primary_key": "entry_id",
    "mapping": {
        "JOURNAL": {"value": "GJ"},
        "BATCH_DATE": "posting_date",
        "BATCH_TITLE": "title",
        "ENTRIES": {"array": "lines", "mapping": {"ACCOUNTNO": "account", "AMOUNT": "amount"}},
    },
}


def posted(values: dict[str, Any] = ENTRY) -> str:
    return etree.tostring(JOURNAL.build_create(values, {"SOURCE_SYSTEM": "dbt"}), encoding="unicode")


def test_a_reversal_swaps_every_line_and_points_to_the_original() -> None:
    body = JOURNAL.build_reversal(posted(), on=date(2026, 12, 5), recordno="42")
    batch = body.find("GLBATCH")
    assert batch is not None
    assert [child.tag for child in batch] == [
        "JOURNAL",
        "BATCH_DATE",
        "BATCH_TITLE",
        "HISTORY_COMMENT",
        "REFERENCENO",
        "SOURCE_SYSTEM",
        "ENTRIES",
    ], "no REVERSEDATE or SUPDOCID of the original; the create's element order"
    assert batch.findtext("BATCH_DATE") == "12/05/2026"
    assert batch.findtext("BATCH_TITLE") == "Reversal of Payroll accrual (RECORDNO 42)"
    assert batch.findtext("REFERENCENO") == "REV-JE-1"
    assert batch.findtext("HISTORY_COMMENT") == "Reverses journal entry JE-1 (RECORDNO 42)"
    assert batch.findtext("SOURCE_SYSTEM") == "dbt"
    lines = [{child.tag: child.text for child in line} for line in batch.iterfind("ENTRIES/GLENTRY")]
    assert lines == [
        {
            "ACCOUNTNO": "6500",
            "TR_TYPE": "-1",
            "TRX_AMOUNT": "1250.50",
            "DEPARTMENT": "ADM",
            "COST_CENTER": "CC1",
        },
        {
            "ACCOUNTNO": "2000",
            "TR_TYPE": "1",
            "TRX_AMOUNT": "1250.50",
            "LOCATION": "100",
            "DESCRIPTION": "accrued",
        },
    ]
    assert JOURNAL.natural_key_of_body(body) == ("REFERENCENO", "REV-JE-1")


def test_an_entry_without_a_reference_is_reversed_under_its_recordno() -> None:
    values = {k: v for k, v in ENTRY.items() if k not in {"REFERENCENO", "REVERSEDATE", "SUPDOCID"}}
    batch = JOURNAL.build_reversal(posted(values), on=date(2026, 12, 5), recordno="42").find("GLBATCH")
    assert batch is not None
    assert [child.tag for child in batch][:5] == [
        "JOURNAL",
        "BATCH_DATE",
        "BATCH_TITLE",
        "HISTORY_COMMENT",
        "REFERENCENO",
    ]
    assert (batch.findtext("REFERENCENO"), batch.findtext("HISTORY_COMMENT")) == (
        "REV-42",
        "Reverses RECORDNO 42",
    )


def test_other_objects_cannot_be_reversed() -> None:
    with pytest.raises(ConfigError, match="cannot be reversed"):
        get_object("customer").build_reversal("<create/>", on=date(2026, 12, 5), recordno="1")
    with pytest.raises(RowRejected, match="not a GLBATCH create"):
        JOURNAL.build_reversal("<create><CUSTOMER/></create>", on=date(2026, 12, 5), recordno="1")


def test_the_live_entry_is_reversed_and_an_adopted_one_is_refused_with_the_reason() -> None:
    (spec,) = parse_specs([model({**META, "delete": "reverse"}, "intacct_journal_entries")])
    first, second = posted(), posted({**ENTRY, "BATCH_TITLE": "Payroll accrual (fixed)"})
    reversals = Reversals(spec, lambda keys: {"JE-1": [("41", first), ("42", second)]}, date(2026, 12, 5))
    reversals.load(["JE-1", "JE-2"])
    assert reversals.posted("JE-1", "41") == first
    assert reversals.posted("JE-1", "42") == second
    assert reversals.posted("JE-1", None) == second
    with pytest.raises(RowRejected, match="adopted"):
        reversals.build("JE-2", "77", date(2026, 12, 5))


def test_a_changed_rows_reversal_is_dated_by_its_column_else_the_run_date() -> None:
    meta = {**META, "on_change": "reverse", "reverse_date": "fixed_on"}
    (spec,) = parse_specs([model(meta, "intacct_journal_entries")])
    reversals = Reversals(spec, None, date(2026, 12, 5))
    assert reversals.date_of({"fixed_on": date(2026, 11, 30)}) == date(2026, 11, 30)
    assert reversals.date_of({"fixed_on": datetime(2026, 11, 29, 13, 0)}) == date(2026, 11, 29)
    assert reversals.date_of({"fixed_on": "2026-11-28"}) == date(2026, 11, 28)
    assert reversals.date_of({"fixed_on": None}) == date(2026, 12, 5)
    assert reversals.date_of(None) == date(2026, 12, 5)
    with pytest.raises(RowRejected, match="not a date"):
        reversals.date_of({"fixed_on": "soon"})


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({**CUSTOMER, "delete": "reverse"}, "'reverse' is for journal entries only"),
        ({**CUSTOMER, "on_change": "reverse"}, "'reverse' is for journal entries only"),
        ({**META, "on_change": "rewrite"}, "key 'on_change': must be one of ignore, reverse"),
        ({**META, "reverse_date": "fixed_on"}, "set delete: reverse or on_change: reverse with it"),
    ],
)
def test_reverse_options_are_checked(meta: dict[str, Any], expected: str) -> None:
    assert any(expected in problem for problem in problems_of(meta)), problems_of(meta)


def test_reversal_options_do_not_change_the_fingerprint() -> None:
    (plain,) = parse_specs([model(META, "je")])
    (reversing,) = parse_specs([model({**META, "delete": "reverse", "on_change": "reverse"}, "je")])
    assert reversing.reverses and not plain.reverses
    assert plain.fingerprint == reversing.fingerprint, "turning reversals on must not make every row changed"
