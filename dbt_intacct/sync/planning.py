"""Where a row becomes a function: one page of the change set or the removals, planned.

Each row is mapped (`mapping`), matched to its Intacct record (known from the state, or looked up in
bulk), built into its create, update, clear or delete function by its object, and checked. A row that
cannot become a valid function is rejected with its reason; a row that needs no function is settled
here (unchanged, adopted, dropped, unmatched). Nothing is sent and nothing is written: the caller
records the outcomes and sends the functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef
from dbt_intacct.objects.formatting import InvalidValue, check_xml_text
from dbt_intacct.results import ModelResult, RowError
from dbt_intacct.state.ledger import RowOutcome
from dbt_intacct.state.tables import FAILED, OK, REJECTED
from dbt_intacct.sync.entities import entity_of
from dbt_intacct.sync.entity_checks import check_row_entity, owned_elsewhere, unseen_owners
from dbt_intacct.sync.lookups import RecordLookups, match_key
from dbt_intacct.sync.mapping import MappedRow, ReferencedRecord, References, map_row, reference_keys
from dbt_intacct.sync.nulls import apply_nulls, kept_note
from dbt_intacct.sync.planned import (
    CREATE,
    REVERSE,
    UPDATE,
    PagePlan,
    PlannedFunction,
    line_counts_of_values,
    plan_function,
)
from dbt_intacct.sync.reversals import CHANGED, PostedReader, Reversals
from dbt_intacct.sync.spec import SyncSpec

Row = dict[str, Any]
# Matched records by (entity, match value): a session sees its own entity's records and the top level's.
Matches = Mapping[tuple[str | None, str], RecordRef]
# (model unique_id, row key) pairs -> (RECORDNO, ID, status, entity) of other models' rows, from the state.
ReferenceReader = Callable[
    [set[tuple[str, str]]], Mapping[tuple[str, str], tuple[str | None, str | None, str, str | None]]
]


class Planner:
    """Plans one model's pages: rows present in the model, rows that left it, upserts matched again."""

    def __init__(
        self,
        spec: SyncSpec,
        result: ModelResult,
        lookups: RecordLookups,
        references: ReferenceReader,
        *,
        dry_run: bool,
        posted: PostedReader | None = None,
    ) -> None:
        self.spec = spec
        self.obj = spec.object
        self.result = result
        self.lookups = lookups
        self._read_references = references
        self.dry_run = dry_run
        self.resent: set[str] = set()  # keys of the rows whose open intents this run resent first
        self.reversals = Reversals(spec, posted)
        # Changed rows whose reversal is planned: posted again once it is applied (`plan_reposts`).
        self._reposts: dict[str, tuple[Row, MappedRow]] = {}

    # -- rows present in the model --------------------------------------------------------------------
    def plan_changes(self, page: Sequence[Row]) -> PagePlan:
        """Map, match, build and check one page of the change set."""
        plan = PagePlan()
        # An intent still open after recovery (Intacct did not answer again) waits for the next run:
        # nothing new is sent for its row until its first function is settled.
        # A row whose open intent this run resent and left unanswered again is counted once, by then.
        self.result.counts["pending"] += sum(
            1 for row in page if row["__change"] == "pending" and str(row["__key"]) not in self.resent
        )
        if self.resent:
            # A row resent this run that changed since: its new change is a second outcome of the row.
            twice = sum(1 for r in page if r["__change"] != "pending" and str(r["__key"]) in self.resent)
            self.result.rows["twice"] = self.result.rows.get("twice", 0) + twice
        rows = [row for row in page if row["__change"] != "pending"]
        references = self._references(rows)
        mapped: list[tuple[Row, MappedRow]] = []
        for row in rows:
            try:
                self._check_match_value(row)
                self._check_entity(row)
                mapped.append(
                    (row, map_row(self.spec, row, references, plan=self.dry_run, entity=self._entity(row)))
                )
            except RowRejected as exc:
                plan.outcomes.append(self._rejected(row, exc))
        matches = self._lookup_matches(mapped)
        adopted = self._existing_records(mapped)
        if self.spec.on_change == "reverse":
            self.reversals.load([str(row["__key"]) for row, _ in mapped if self._reverses(row)])
        for row, values in mapped:
            existing = adopted.get(str(row["__key"]))
            if existing is not None:
                plan.outcomes.append(self._adopt(row, existing))
                continue
            decision = self._decide(row, matches)
            if decision is None:
                continue  # nothing sent, nothing recorded
            if isinstance(decision, RowOutcome):
                plan.outcomes.append(decision)
                continue
            action, ref = decision
            try:
                if action == REVERSE:
                    plan.functions.extend(self._plan_reversal(row, values, ref, plan))
                    continue
                plan.functions.append(self._plan_function(row, values, action, ref))
            except RowRejected as exc:
                plan.outcomes.append(self._rejected(row, exc))
        return plan

    def _entity(self, row: Row) -> str | None:
        """The entity the row is written in ("" top level; None: the connection's). A model that lost its
        `entity:` still writes each record it knows in the entity the record belongs to."""
        if self.spec.entity is None:
            return row.get("__entity") if (row.get("__recordno") or row.get("__intacct_id")) else None
        return entity_of(self.spec.entity, row)

    def _check_entity(self, row: Row) -> None:
        """The row's entity must be one a login can name, and the one its record belongs to."""
        if self.spec.entity is not None:
            check_row_entity(self.spec.entity, row, self._entity(row))

    def _decide(self, row: Row, matches: Matches) -> tuple[str, RecordRef | None] | RowOutcome | None:
        """Which function a row becomes: create, or update of a known or matched record."""
        recordno, intacct_id = row["__recordno"], row["__intacct_id"]
        if recordno or intacct_id:
            if self._reverses(row):
                return REVERSE, RecordRef(recordno=recordno, id=intacct_id)
            if self.spec.mode == "insert" and row["__change"] == "changed":
                self._changed_not_sent(row)
                return None
            if self.spec.mode == "insert":
                # Insert-only rows are written once; only a row that never reached Intacct is retried.
                self.result.counts["unchanged"] += 1
                return RowOutcome.of_change(row, OK)
            return UPDATE, RecordRef(recordno=recordno, id=intacct_id)
        if self.spec.mode == "insert":
            return CREATE, None
        match_value = self._match_value(row)
        entity = self._entity(row)
        found = matches.get((entity, match_key(match_value))) if match_value is not None else None
        if found is not None:
            return UPDATE, found
        if self.spec.mode == "upsert":
            return CREATE, None
        if self.dry_run:
            # Matched at sync time; the plan's sample carries a placeholder RECORDNO of 0.
            return UPDATE, RecordRef(recordno="0", id=None if match_value is None else str(match_value))
        match = self.spec.match
        assert match is not None
        message = (
            f"no {self.obj.intacct_object} has {match.field} = {match_value!r}; update mode never creates "
            "records, so this row waits for the record to exist and is retried on the next run"
        )
        self.result.counts["failed"] += 1
        self.result.add_error(
            RowError(row_key=row["__key"], field=match.column, message=message, stage="unmatched")
        )
        return RowOutcome.of_change(row, FAILED, action=UPDATE, message=message)

    def _changed_not_sent(self, row: Row) -> None:
        """An insert-only row changed since its record was created: counted and listed, not sent. Its
        state keeps the hash it was created with, so it is said again until the model agrees again."""
        self.result.counts["changed_not_sent"] += 1
        self.result.add_error(
            RowError(
                row_key=row["__key"],
                field=None,
                message=f"changed since its {self.obj.intacct_object} was created "
                f"(RECORDNO {row['__recordno'] or '?'}); the model is insert-only, so the change is not "
                "sent: correct the record in Intacct (or reverse it and add a new row)",
                stage="changed_not_sent",
            )
        )

    def _reverses(self, row: Row) -> bool:
        """Whether a row in the model is one whose posted entry may need reversing (on_change: reverse)."""
        return (
            self.spec.on_change == "reverse"
            and bool(row["__recordno"] or row["__intacct_id"])
            and row["__change"] in CHANGED
        )

    def _plan_reversal(
        self, row: Row, values: MappedRow, ref: RecordRef | None, plan: PagePlan
    ) -> list[PlannedFunction]:
        """A changed posted row: its new entry is built first (a row that cannot be posted reverses
        nothing), then compared with what was posted; if they differ, the posted entry is reversed and
        the row is posted again once the reversal is applied."""
        key, recordno = str(row["__key"]), ref.recordno if ref else None
        new_body = self.obj.build_create(values.values, values.custom_fields)
        if self.reversals.posted(key, recordno) == Reversals.payload_of(new_body):
            self.result.counts["unchanged"] += 1
            plan.outcomes.append(RowOutcome.of_change(row, OK))
            return []
        body = self.reversals.build(key, recordno, self.reversals.date_of(row))
        if not self.dry_run:
            self._reposts[key] = (row, values)
        reversal = self._planned(
            key,
            row["__hash"],
            REVERSE,
            ref,
            int(row["__version"]),
            body,
            entity=self._entity(row),
            reposts=True,
        )
        return [reversal]

    def plan_reposts(self, reversed_rows: Sequence[PlannedFunction]) -> PagePlan:
        """The new entries of changed rows whose reversal was applied in this run."""
        plan = PagePlan()
        for p in reversed_rows:
            found = self._reposts.pop(p.row_key, None)
            if found is None:
                continue  # posted again by the next run, which sees the row reversed
            row, values = found
            row = {**row, "__version": p.version + 1, "__recordno": None, "__intacct_id": None}
            try:
                plan.functions.append(self._plan_function(row, values, CREATE, None))
            except RowRejected as exc:
                plan.outcomes.append(self._rejected(row, exc))
            # Reversed, then posted again (or rejected): the row's second outcome of the run.
            self.result.rows["twice"] = self.result.rows.get("twice", 0) + 1
        return plan

    def _existing_records(self, mapped: Sequence[tuple[Row, MappedRow]]) -> dict[str, RecordRef]:
        """Records that already exist in Intacct for insert-only rows the state does not know.

        An object that adopts existing records (a journal entry, invoice, adjustment or transaction) is
        created at most once per row: when the state has no record of a row (the model was renamed, the
        state schema changed or was lost) but Intacct holds a record with the row's natural ID (a journal
        entry's REFERENCENO, an invoice or adjustment number, a DOCID, or the tool's own external ID), the
        row adopts that record instead of posting it again. One query per field and page.
        """
        if self.spec.mode != "insert" or not self.obj.adopts_existing:
            return {}
        wanted: dict[tuple[str, str | None], dict[str, str]] = {}  # field, entity -> value -> row key
        for row, values in mapped:
            if row["__change"] != "new" or row["__recordno"] or row["__intacct_id"]:
                continue
            found = self.obj.natural_key_of_values(self._with_external_reference(row, values))
            if found is not None:
                wanted.setdefault((found[0], self._entity(row)), {})[found[1]] = str(row["__key"])
        adopted: dict[str, RecordRef] = {}
        for (query_field, entity), keys in wanted.items():
            if self.dry_run:
                # A plan does not query Intacct; it prices the lookups the sync will make.
                self.lookups.price(len(keys))
                continue
            refs = self.lookups.find(query_field, sorted(keys), entity)
            adopted.update({keys[value]: ref for value, ref in refs.items() if value in keys})
        return adopted

    def _adopt(self, row: Row, ref: RecordRef) -> RowOutcome:
        self.result.counts["adopted"] += 1
        outcome = RowOutcome.of_change(
            row, OK, message="already in Intacct (found by its natural ID): not created again"
        )
        return replace(outcome, recordno=ref.recordno, intacct_id=ref.id)

    def _references(self, rows: Sequence[Row]) -> References:
        """What the rows' `record_of` mappings point at, read from the state in one query per model."""
        wanted: set[tuple[str, str]] = set()
        for row in rows:
            wanted |= reference_keys(self.spec, row)
        if not wanted:
            return {}
        return {
            pair: ReferencedRecord(
                ref=RecordRef(recordno=recordno, id=intacct_id), status=status, entity=entity
            )
            for pair, (recordno, intacct_id, status, entity) in self._read_references(wanted).items()
        }

    def _check_match_value(self, row: Row) -> None:
        """A match value goes into a lookup query with every other row's: one XML cannot carry must
        reject its own row, not break the query of the page."""
        value = self._match_value(row)
        match = self.spec.match
        if value is None or match is None:
            return
        try:
            check_xml_text(match_key(value))
        except InvalidValue as exc:
            raise RowRejected(
                match.field, f"the value matched on (column {match.column}) {exc.reason}"
            ) from None

    def _match_value(self, row: Row) -> Any:
        match = self.spec.match
        return row.get(match.column) if match is not None else None

    def _lookup_matches(self, mapped: Sequence[tuple[Row, MappedRow]]) -> Matches:
        """Find the Intacct records of rows to match, in bulk (`query` with `in`, many keys per call),
        each in the row's entity."""
        match = self.spec.match
        if match is None or self.spec.mode == "insert":
            return {}
        by_entity: dict[str | None, set[str]] = {}
        for row, _ in mapped:
            if not (row["__recordno"] or row["__intacct_id"]) and (v := self._match_value(row)) is not None:
                by_entity.setdefault(self._entity(row), set()).add(match_key(v))
        if self.dry_run:
            # A plan does not query Intacct; it prices the lookups the sync will make.
            for values in by_entity.values():
                self.lookups.price(len(values))
            return {}
        found: dict[tuple[str | None, str], RecordRef] = {}
        for entity, values in by_entity.items():
            refs = self.lookups.find(match.field, sorted(values), entity)
            found.update(((entity, value), ref) for value, ref in refs.items())
        return found

    def _plan_function(
        self, row: Row, values: MappedRow, action: str, ref: RecordRef | None
    ) -> PlannedFunction:
        previous = row.get("__line_counts")
        note = None
        if action == CREATE:
            body = self.obj.build_create(self._with_external_reference(row, values), values.custom_fields)
        else:
            values, kept = apply_nulls(self.spec, values)
            if kept:
                note = kept_note(kept)
                self.result.nulls_kept.update(kept)
            body = self.obj.build_update(
                ref or RecordRef(),
                values.values,
                values.custom_fields,
                existing_lines=json.loads(previous) if previous else None,
            )
        return self._planned(
            row["__key"],
            row["__hash"],
            action,
            ref,
            int(row["__version"]),
            body,
            match_value=self._match_value(row),
            line_counts=line_counts_of_values(self.obj, values.values) or previous,
            previous_line_counts=previous,
            entity=self._entity(row),
            note=note,
        )

    def _with_external_reference(self, row: Row, values: MappedRow) -> Mapping[str, Any]:
        """A create of an object found again by the tool's external reference carries one (`dbti-` and a
        digest of the model and row key) unless the model maps that field itself."""
        key = self.obj.external_reference_key
        if key is None or values.values.get(key) is not None:
            return values.values
        return {**values.values, key: self.obj.external_reference(self.spec.model_id, str(row["__key"]))}

    def _planned(
        self,
        row_key: str,
        row_hash: str | None,
        action: str,
        ref: RecordRef | None,
        version: int,
        body: etree._Element,
        **extra: Any,
    ) -> PlannedFunction:
        return plan_function(self.spec.model_id, row_key, row_hash, action, ref, version, body, **extra)

    def _rejected(self, row: Row, exc: RowRejected) -> RowOutcome:
        self.result.counts["rejected"] += 1
        self.result.add_error(RowError(row_key=row["__key"], field=exc.field, message=exc.reason))
        return RowOutcome.of_change(row, REJECTED, message=str(exc))

    # -- rows that left the model ----------------------------------------------------------------------
    def plan_removals(self, page: Sequence[Row]) -> PagePlan:
        """Plan the delete behaviour of one page of rows that left the model (`removal_planning`)."""
        from dbt_intacct.sync.removal_planning import plan_removals

        return plan_removals(self, page)

    # -- upserts matched again -------------------------------------------------------------------------
    def plan_follow_ups(self, follow_ups: Sequence[PlannedFunction], rows: Mapping[str, Row]) -> PagePlan:
        """Upsert rows to match again now: creates that hit an existing record (BL34000061) become
        updates of it; updates of a record deleted in Intacct update its successor, or create it again.
        `rows` are the rows of the model by key, read again."""
        match = self.spec.match
        assert match is not None
        by_entity: dict[str | None, set[str]] = {}
        for p in follow_ups:
            by_entity.setdefault(p.entity, set()).add(match_key(p.match_value))
        refs: dict[tuple[str | None, str], RecordRef] = {}
        for entity, values in by_entity.items():
            found = self.lookups.find(match.field, sorted(values), entity)
            refs.update(((entity, value), ref) for value, ref in found.items())
        plan = PagePlan()
        owners = unseen_owners(self.lookups, self.spec, follow_ups, refs)
        for p in follow_ups:
            ref = refs.get((p.entity, match_key(p.match_value)))
            if ref is None and p.action == UPDATE:
                body = self._rebuild(rows[p.row_key], None)
                plan.functions.append(
                    self._planned(
                        p.row_key,
                        p.row_hash,
                        CREATE,
                        None,
                        p.version,
                        body,
                        match_value=p.match_value,
                        entity=p.entity,
                    )
                )
                continue
            if ref is None:
                message = (
                    f"Intacct reports a duplicate but no {self.obj.intacct_object} has "
                    f"{match.field} = {p.match_value!r}"
                )
                message += owned_elsewhere(p.entity, owners.get(match_key(p.match_value)))
                self.result.counts["failed"] += 1
                self.result.add_error(
                    RowError(row_key=p.row_key, field=match.column, message=message, stage="failed")
                )
                plan.outcomes.append(
                    p.outcome(FAILED, recordno=None, intacct_id=None, line_counts=None, message=message)
                )
                continue
            body = self._rebuild(rows[p.row_key], ref)
            plan.functions.append(
                self._planned(
                    p.row_key,
                    p.row_hash,
                    UPDATE,
                    ref,
                    p.version,
                    body,
                    match_value=p.match_value,
                    entity=p.entity,
                )
            )
        return plan

    def _rebuild(self, row: Row, ref: RecordRef | None) -> etree._Element:
        """The row's function again, as an update of `ref` or (None) a create."""
        values = map_row(self.spec, row, self._references([row]), entity=self._entity(row))
        if ref is None:
            return self.obj.build_create(values.values, values.custom_fields)
        values, _ = apply_nulls(self.spec, values)
        return self.obj.build_update(ref, values.values, values.custom_fields)
