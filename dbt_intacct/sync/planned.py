"""A planned function: one row's Intacct function with everything needed to settle its answer.

Planning (`planning`) makes them, the sender (`sending`) sends them, settlement (`settlement`) turns
their answers into row outcomes, and recovery (`recovery`) remakes them from the ledger's intents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree

from dbt_intacct.objects import IntacctObject, RecordRef
from dbt_intacct.state.ledger import Intent, RowOutcome
from dbt_intacct.state.tables import CLEARED, DELETED, OK, REVERSED
from dbt_intacct.xml.request import Function

CREATE, UPDATE, CLEAR, DELETE, REVERSE = "create", "update", "clear", "delete", "reverse"
# Actions whose function creates a record (a reversal is a new entry), read back by its natural ID.
CREATING = frozenset({CREATE, REVERSE})
# The state a row is in once its function was applied, by action.
_WRITTEN_STATUS = {DELETE: DELETED, CLEAR: CLEARED, REVERSE: REVERSED}
# The ModelResult counter an applied function adds to, by action.
ACTION_COUNTER = {
    CREATE: "created",
    UPDATE: "updated",
    CLEAR: "cleared",
    DELETE: "deleted",
    REVERSE: "reversed",
}


def written_status(action: str) -> str:
    """The state of a row whose function `action` was applied: ok, or deleted / cleared."""
    return _WRITTEN_STATUS.get(action, OK)


@dataclass(frozen=True)
class PlannedFunction:
    """One row's function, as sent: its row, action and version, and what the record has after it."""

    row_key: str
    row_hash: str | None
    action: str
    ref: RecordRef | None  # the record it writes to (None: a create)
    version: int
    function: Function
    payload: str  # the function body's XML, as recorded with the intent
    match_value: Any = None  # the value of the model's match column (upsert: matched again on duplicates)
    line_counts: str | None = None  # what the record has after this function succeeds
    previous_line_counts: str | None = None  # what it has if it fails
    entity: str | None = None  # the entity whose session sends it ("" top level; None: the connection's)
    note: str | None = None  # said with the row's outcome once applied (fields a NULL left unchanged)
    reposts: bool = False  # a reversal of a changed row: the row is posted again once it is applied

    @property
    def controlid(self) -> str:
        return self.function.controlid

    def intent(self) -> Intent:
        """What the ledger records before the function leaves."""
        return Intent(
            row_key=self.row_key,
            row_hash=self.row_hash,
            action=self.action,
            controlid=self.controlid,
            payload=self.payload,
            version=self.version,
            recordno=self.ref.recordno if self.ref else None,
            intacct_id=self.ref.id if self.ref else None,
            line_counts=self.previous_line_counts,
            entity=self.entity,
        )

    def outcome(self, status: str, **changes: Any) -> RowOutcome:
        """The row's outcome after this function, with `status`: the record it names, its line counts
        as before the function (pass `line_counts` for what an applied function leaves)."""
        base = RowOutcome(
            row_key=self.row_key,
            row_hash=self.row_hash,
            action=self.action,
            status=status,
            version=self.version,
            controlid=self.controlid,
            recordno=self.ref.recordno if self.ref else None,
            intacct_id=self.ref.id if self.ref else None,
            line_counts=self.previous_line_counts,
            entity=self.entity,
        )
        return replace(base, **changes) if changes else base

    def applied(self, **changes: Any) -> RowOutcome:
        """The outcome of this function once Intacct applied it."""
        lines = self.line_counts if self.action in {CREATE, UPDATE} else self.previous_line_counts
        if self.note and "message" not in changes:
            changes["message"] = self.note
        return self.outcome(written_status(self.action), line_counts=lines, **changes)


@dataclass
class PagePlan:
    """One page, planned: the functions to send and the outcomes of the rows that send nothing."""

    functions: list[PlannedFunction] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)


def controlid_for(
    model_id: str, row_key: str, action: str, version: int, payload: str, entity: str | None = None
) -> str:
    """The function controlid: the same row, action, version, payload (and entity) always give the
    same id.

    A retry of an unanswered function therefore carries the id Intacct already saw, and with
    uniqueid=true Intacct refuses to apply it twice; the version moves on after each successful write,
    so a later legitimate change to the same values gets a new id. Intacct remembers control IDs per
    company, not per entity: the entity is part of the id, so that the same payload meant for another
    entity is never refused as already executed there. (Models without `entity:` keep the ids they had.)
    """
    parts: tuple[str, ...] = (model_id, row_key, action, str(version), payload)
    if entity is not None:
        parts = (*parts, f"entity={entity}")
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"dbti-{digest[:40]}"


def plan_function(
    model_id: str,
    row_key: str,
    row_hash: str | None,
    action: str,
    ref: RecordRef | None,
    version: int,
    body: etree._Element,
    *,
    match_value: Any = None,
    line_counts: str | None = None,
    previous_line_counts: str | None = None,
    entity: str | None = None,
    note: str | None = None,
    reposts: bool = False,
) -> PlannedFunction:
    """A planned function for `body`, its payload serialised and its controlid derived from it."""
    payload = etree.tostring(body, encoding="unicode")
    return PlannedFunction(
        row_key=row_key,
        row_hash=row_hash,
        action=action,
        ref=ref,
        version=version,
        function=Function(
            controlid=controlid_for(model_id, row_key, action, version, payload, entity), body=body
        ),
        payload=payload,
        match_value=match_value,
        line_counts=line_counts,
        previous_line_counts=previous_line_counts,
        entity=entity,
        note=note,
        reposts=reposts,
    )


def action_of(body: etree._Element) -> str:
    """The action a function body performs, from its element name (`create_invoice` creates)."""
    tag = str(body.tag)
    if tag.startswith("create"):
        return CREATE
    if tag.startswith("delete"):
        return DELETE
    return UPDATE


def line_counts_of(obj: IntacctObject, body: etree._Element) -> str | None:
    """How many lines each line array of a create/update body carries (JSON), for later updates."""
    counts: dict[str, int] = {}
    for key in obj.lines:
        element = body.find(f".//{key}")
        if element is not None:
            counts[key] = sum(1 for child in element if isinstance(child.tag, str))
    return json.dumps(counts, sort_keys=True) if counts else None


def line_counts_of_values(obj: IntacctObject, values: Mapping[str, Any]) -> str | None:
    """How many lines each line array of a row's mapped values has (JSON), or None without lines."""
    counts = {k: len(v) for k, v in values.items() if k in obj.lines and isinstance(v, list)}
    return json.dumps(counts, sort_keys=True) if counts else None
