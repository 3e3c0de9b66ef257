"""Where functions are sent: in batches, pipelined, each intent written before its request leaves and
each answer settled (`settlement`) and written as it lands.

Batches are taken from a lazy iterable (the model plans its next page while Intacct answers the
current one's); up to `concurrency` requests are in flight. Answers are written in groups, at most
OUTCOME_WRITE_SECONDS apart: one write and commit per answer took CPU time the requests in flight
needed. An answer not yet written when the process dies leaves its intent open, and the next run
resends that same function (recovery).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dbt_intacct import interrupts
from dbt_intacct.client import IntacctClient
from dbt_intacct.errors import IntacctError, Interrupted, RequestTooLarge, WarehouseError
from dbt_intacct.results import ModelResult, Progress
from dbt_intacct.state.ledger import Ledger, RowOutcome
from dbt_intacct.state.tables import WRITTEN
from dbt_intacct.sync.lookups import RecordLookups
from dbt_intacct.sync.planned import CREATE, PlannedFunction
from dbt_intacct.sync.settlement import Settlement, after_read_back, settle, settle_too_large
from dbt_intacct.sync.spec import SyncSpec
from dbt_intacct.xml.request import Function

OUTCOME_WRITE_SECONDS = 0.25
PAGE_SIZE = 1000  # rows per page of the change set: the sender keeps a page's worth of batches ahead


@dataclass
class _Unwritten:
    """Outcomes of answered batches not yet written to the state."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    ok: int = 0
    failed: int = 0
    batches: int = 0
    since: float = field(default_factory=time.monotonic)


class Sender:
    """Sends one model's planned functions and records what became of them."""

    def __init__(
        self,
        *,
        spec: SyncSpec,
        result: ModelResult,
        client: Callable[[], IntacctClient],
        ledger: Ledger,
        lookups: RecordLookups,
        run_id: str,
        batch_size: int,
        concurrency: int,
        progress: Progress,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.result = result
        self._client = client
        self.ledger = ledger
        self.lookups = lookups
        self.run_id = run_id
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.progress = progress
        self._after_batch = after_batch
        # The entity each batched function is sent in, by controlid (functions with an entity only: a
        # model with `entity:`, or an intent sent in an entity before the model lost its `entity:`).
        self._entities: dict[str, str] = {}

    def record_intents(self, planned: Sequence[PlannedFunction]) -> None:
        """Write the functions' intents and commit: nothing leaves before its intent is in the state."""
        # Logged in first: a login that fails leaves no intent open (nothing left the machine).
        client = self._client()
        for entity in sorted({p.entity for p in planned}, key=lambda e: (e is not None, e or "")):
            client.for_entity(entity).ensure_session()
        with self.result.phase("intents"):
            self.ledger.record_intents(self.run_id, self.spec.model_id, [p.intent() for p in planned])

    def record(self, outcomes: Sequence[RowOutcome]) -> None:
        """Write outcomes of rows that sent nothing (rejected, unchanged, dropped ...)."""
        self.ledger.record_outcomes(self.run_id, self.spec.model_id, outcomes)

    def batches(self, planned: Sequence[PlannedFunction]) -> list[list[Function]]:
        """The functions in request-sized batches; a batch holds one entity's functions only (each entity
        has its own session)."""
        by_entity: dict[str | None, list[Function]] = {}
        for p in planned:
            by_entity.setdefault(p.entity, []).append(p.function)
            if p.entity is not None:
                self._entities[p.controlid] = p.entity
        return [
            functions[start : start + self.batch_size]
            for functions in by_entity.values()
            for start in range(0, len(functions), self.batch_size)
        ]

    def _entity_of(self, batch: Sequence[Function]) -> str | None:
        return self._entities.get(batch[0].controlid)

    def send(
        self, planned: Sequence[PlannedFunction], *, intents_recorded: bool = False
    ) -> list[PlannedFunction]:
        """Send functions, intents first; returns the upsert rows to match again (`Settlement.follow_up`)."""
        if not planned:
            return []
        if not intents_recorded:
            self.record_intents(planned)
        return self.deliver(self.batches(planned), {p.controlid: p for p in planned})

    def deliver(
        self, batches: Iterable[list[Function]], by_controlid: dict[str, PlannedFunction]
    ) -> list[PlannedFunction]:
        """Send batches, pipelined, and record each answer; returns the upsert rows to match again.

        ``by_controlid`` holds every function whose intent is recorded and whose answer is not (batches
        may add to it as they are taken); answered functions leave it. A request refused for its size is
        split in halves, sent when the rest has been answered. Raises the IntacctError that stopped
        sending; the functions left without an answer keep their open intents, which the next run
        resolves.
        """
        follow_ups: list[PlannedFunction] = []
        try:
            with self.result.phase("send"):
                split = self._pipeline(batches, by_controlid, follow_ups)
                while split:
                    split = self._pipeline(split, by_controlid, follow_ups)
        except (IntacctError, WarehouseError, Interrupted):
            # Unanswered, and the upsert creates refused as duplicates whose update is not sent yet.
            unsettled = sum(1 for p in follow_ups if p.action == CREATE)
            self.result.counts["pending"] += len(by_controlid) + unsettled
            raise
        return follow_ups

    def _pipeline(
        self,
        batches: Iterable[list[Function]],
        by_controlid: dict[str, PlannedFunction],
        follow_ups: list[PlannedFunction],
    ) -> list[list[Function]]:
        """One pipeline: record the answers as they land; return the halves of the batches too large."""
        split: list[list[Function]] = []
        unwritten = _Unwritten()
        # Batches are taken up to a page ahead of the requests in flight: the next page is prepared
        # while Intacct still has the current one's to answer.
        ahead = max(2 * self.concurrency, -(-PAGE_SIZE // self.batch_size))
        try:
            for batch, answer in self._client().execute_batches(
                batches,
                uniqueid=True,
                concurrency=self.concurrency,
                ahead=ahead,
                entity_of=self._entity_of,
            ):
                if isinstance(answer, RequestTooLarge):
                    if len(batch) > 1:
                        half = len(batch) // 2
                        split += [list(batch[:half]), list(batch[half:])]
                        continue
                    self.progress.rows_sent(self.result, 1)
                    answered = [by_controlid.pop(batch[0].controlid)]
                    self._settled(
                        answered, [settle_too_large(answered[0], str(answer))], unwritten, follow_ups
                    )
                elif isinstance(answer, IntacctError):
                    raise answer
                else:
                    self.progress.rows_sent(self.result, len(batch))
                    answered = [by_controlid.pop(function.controlid) for function in batch]
                    settlements = [
                        settle(p, answer.get(p.controlid, ()), self.spec.object, self.spec.mode)
                        for p in answered
                    ]
                    self._settled(answered, settlements, unwritten, follow_ups)
                if time.monotonic() - unwritten.since >= OUTCOME_WRITE_SECONDS:
                    self._write(unwritten)
        except BaseException:
            if interrupts.received() is not None:
                # A write the signal cut short (or a statement a driver aborted on it) is discarded first.
                self.ledger.tables.warehouse.rollback()
            self._write(unwritten)  # what did land is kept, whatever stopped the pipeline
            raise
        self._write(unwritten)
        return split

    def _settled(
        self,
        answered: Sequence[PlannedFunction],
        settlements: Sequence[Settlement],
        unwritten: _Unwritten,
        follow_ups: list[PlannedFunction],
    ) -> None:
        """Count one batch's settlements, read back what they ask for, and queue their outcomes."""
        settlements = self._read_back(settlements)
        unwritten.batches += 1
        for settlement in settlements:
            result = self.result
            if settlement.counter is not None:
                result.counts[settlement.counter] += 1
            if settlement.error is not None:
                result.add_error(settlement.error)
            result.api_transactions += settlement.billed
            if settlement.follow_up:
                follow_ups.append(settlement.function)
            if settlement.outcome is None:
                continue  # recorded when its follow-up is sent
            unwritten.outcomes.append(settlement.outcome)
            if settlement.follow_up:
                continue  # an interim outcome (the record forgotten); the follow-up settles the row
            if settlement.outcome.status in WRITTEN:
                unwritten.ok += 1
            else:
                unwritten.failed += 1

    def _read_back(self, settlements: Sequence[Settlement]) -> list[Settlement]:
        """Finish the settlements that need the record read back: one query per natural-ID field and
        entity, in the entity the function was sent in."""
        wanted: dict[tuple[str, str | None], dict[str, list[int]]] = {}  # field, entity -> value -> indexes
        for index, settlement in enumerate(settlements):
            if settlement.read_back is not None:
                query_field, value = settlement.read_back
                where = (query_field, settlement.function.entity)
                wanted.setdefault(where, {}).setdefault(value, []).append(index)
        done = list(settlements)
        for (query_field, entity), values in wanted.items():
            found = self.lookups.find(query_field, sorted(values), entity, newest=True)
            for value, indexes in values.items():
                for index in indexes:
                    done[index] = after_read_back(done[index], found.get(value))
        return done

    def _write(self, unwritten: _Unwritten) -> None:
        if unwritten.outcomes:
            with self.result.phase("outcomes"):
                self.ledger.record_outcomes(self.run_id, self.spec.model_id, unwritten.outcomes)
        if unwritten.ok or unwritten.failed:
            self.progress.rows_done(self.result, unwritten.ok, unwritten.failed)
        if unwritten.batches and self._after_batch is not None:
            self._after_batch()
        unwritten.outcomes = []
        unwritten.ok = unwritten.failed = unwritten.batches = 0
        unwritten.since = time.monotonic()
