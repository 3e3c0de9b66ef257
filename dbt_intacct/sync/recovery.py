"""Recovery of the intents an earlier run left open (it stopped before their answers were recorded).

Each open intent is sent again unchanged, same controlid and payload, before anything else of its
model, whether or not its row is still in the model: Intacct either applies it now or refuses it as
already executed, never twice (`settlement` reads a create back to learn its RECORDNO).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from lxml import etree

from dbt_intacct.objects import IntacctObject, RecordRef
from dbt_intacct.results import ModelResult
from dbt_intacct.state.ledger import Ledger, RowOutcome
from dbt_intacct.state.tables import FAILED
from dbt_intacct.sync.entities import entity_label
from dbt_intacct.sync.planned import REVERSE, PlannedFunction, action_of, line_counts_of
from dbt_intacct.sync.sending import PAGE_SIZE, Sender
from dbt_intacct.xml.request import Function

# Payloads are the tool's own XML, read back from the ledger; parsed with the same care as any XML.
_PAYLOAD_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def price_pending(ledger: Ledger, model_id: str, result: ModelResult, *, by_entity: bool = False) -> None:
    """What a plan counts for the open intents the sync would resend first (one transaction each);
    with `by_entity` (or intents sent in entities), also per entity, each resent in its own."""
    pending = ledger.pending_by_entity(model_id)
    total = sum(pending.values())
    if not total:
        return
    result.planned["resend"] += total
    result.api_transactions += total
    if by_entity or any(entity is not None for entity in pending):
        for entity, count in pending.items():
            result.planned_by_entity.setdefault(entity_label(entity), Counter())["resend"] += count


def resend_pending(ledger: Ledger, model_id: str, obj: IntacctObject, sender: Sender) -> set[str]:
    """Resend every open intent of a model, a page at a time, and settle their answers; the keys of the
    rows resent (each counted once, by its settlement)."""
    seen: set[str] = set()
    resent_keys: set[str] = set()
    while True:
        rows = [r for r in ledger.pending_rows(model_id, PAGE_SIZE) if r["row_key"] not in seen]
        if not rows:
            return resent_keys
        seen.update(str(r["row_key"]) for r in rows)
        payloads = ledger.pending_payloads(model_id, [str(r["controlid"]) for r in rows])
        planned: list[PlannedFunction] = []
        lost: list[RowOutcome] = []
        for row in rows:
            payload = payloads.get(str(row["controlid"]))
            if payload is None:
                # The state says pending but the ledger has no intent: nothing can have been sent with
                # it, so the row is simply retried (a new function) on this run's diff.
                lost.append(
                    RowOutcome.of_state(
                        row,
                        FAILED,
                        message="the intent of the last attempt was not recorded; the row is sent again",
                    )
                )
                continue
            planned.append(resent(row, payload, obj))
        sender.record(lost)
        sender.result.counts["resent"] += len(planned)
        resent_keys.update(p.row_key for p in planned)
        sender.send(planned, intents_recorded=True)


def resent(row: Mapping[str, Any], payload: str, obj: IntacctObject) -> PlannedFunction:
    """The planned function of an open intent: its state row and the payload its ledger kept."""
    body = etree.fromstring(payload.encode("utf-8"), parser=_PAYLOAD_PARSER)
    recordno, intacct_id = row["recordno"], row["intacct_id"]
    return PlannedFunction(
        row_key=str(row["row_key"]),
        row_hash=row["row_hash"],
        # A reversal is a create by its element; the state's action says which it was.
        action=REVERSE if row.get("action") == REVERSE else action_of(body),
        ref=RecordRef(recordno=recordno, id=intacct_id) if (recordno or intacct_id) else None,
        version=int(row["version"]),
        function=Function(controlid=str(row["controlid"]), body=body),
        payload=payload,
        previous_line_counts=row["line_counts"],
        # What a successful (re)send leaves in Intacct: the lines of the payload.
        line_counts=line_counts_of(obj, body) or row["line_counts"],
        # Resent in the entity it was first sent in: a create that did not land is made there, and
        # one that did is read back there.
        entity=row.get("entity"),
    )
