"""Reversals of posted journal entries (`delete: reverse`, `on_change: reverse`).

A posted entry is never edited or deleted: when its row leaves the model, or changes, a new entry with
the same lines, debits and credits swapped, is posted (the object builds it: `build_reversal`). The row
is gone (or holds its new values), so the reversal is built from what the entry was posted with: the
payload of the row's applied create, as the ledger recorded it with its intent.

A reversal is a function of its own (action `reverse`, a control ID of its own), recorded like any
other: its intent before it leaves, its outcome (the reversal's RECORDNO) after. Once it is applied the
row's state is `reversed` (no live record); a changed row is then posted again, in the same run (a
follow-up of the reversal) or, if the run stops in between, by the next one, which sees the `reversed`
row in the model and creates it (same version, same control ID).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import IntacctObject
from dbt_intacct.sync.spec import SyncSpec

# Row keys -> [(RECORDNO, create payload)] of each row's applied creates, oldest first
# (Ledger.posted_payloads).
PostedReader = Callable[[Sequence[str]], Mapping[str, list[tuple[str, str]]]]
# The change kinds of a posted row whose values may differ from its entry's (on_change: reverse).
CHANGED = frozenset({"changed", "retry"})


class Reversals:
    """Builds one model's reversals, a page at a time."""

    def __init__(
        self, spec: SyncSpec, read_posted: PostedReader | None, run_date: date | None = None
    ) -> None:
        self.spec = spec
        self.obj: IntacctObject = spec.object
        self._read_posted = read_posted
        self.run_date = run_date or datetime.now(UTC).date()
        self._posted: Mapping[str, list[tuple[str, str]]] = {}

    def load(self, row_keys: Sequence[str]) -> None:
        """Read what the page's rows were posted with (one query per page)."""
        self._posted = self._read_posted(row_keys) if (row_keys and self._read_posted) else {}

    def posted(self, row_key: str, recordno: str | None) -> str | None:
        """The create payload the row's live entry was posted with: the applied create that got its
        RECORDNO, else (RECORDNO unknown) the last one applied; None when the tool never posted it."""
        creates = self._posted.get(row_key, [])
        if recordno:
            return next((payload for number, payload in reversed(creates) if number == recordno), None)
        return creates[-1][1] if creates else None

    def build(self, row_key: str, recordno: str | None, on: date) -> etree._Element:
        """The reversal of the row's live entry, dated `on`; RowRejected when nothing records its lines."""
        payload = self.posted(row_key, recordno)
        if payload is None:
            raise RowRejected(
                None,
                f"cannot reverse journal entry RECORDNO {recordno}: it was not posted by this tool (it was "
                "adopted, found by its REFERENCENO), so no copy of its lines is kept; reverse it in "
                "Intacct by hand",
            )
        return self.obj.build_reversal(payload, on=on, recordno=recordno)

    def date_of(self, row: Mapping[str, Any] | None) -> date:
        """A reversal's date: the row's `reverse_date` column (a changed row), else the run's date (UTC)."""
        column = self.spec.reverse_date
        value = row.get(column) if (row is not None and column) else None
        if value is None or value == "":
            return self.run_date
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise RowRejected(column, f"reverse_date {value!r} is not a date (YYYY-MM-DD)") from None

    @staticmethod
    def payload_of(body: etree._Element) -> str:
        return etree.tostring(body, encoding="unicode")
