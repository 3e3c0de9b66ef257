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
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef
from dbt_intacct.objects.formatting import InvalidValue, check_xml_text
from dbt_intacct.results import ModelResult, RowError
from dbt_intacct.state.ledger import RowOutcome
from dbt_intacct.state.tables import CLEARED, DROPPED, FAILED, OK, REJECTED
from dbt_intacct.sync.lookups import RecordLookups, match_key
from dbt_intacct.sync.mapping import MappedRow, ReferencedRecord, References, map_row, reference_keys
from dbt_intacct.sync.planned import (
    CLEAR,
    CREATE,
    DELETE,
    UPDATE,
    PlannedFunction,
    line_counts_of_values,
    plan_function,
)
from dbt_intacct.sync.spec import SyncSpec

Row = dict[str, Any]
# (model unique_id, row key) pairs -> (RECORDNO, ID, status) of other models' rows, from the state.
ReferenceReader = Callable[
    [set[tuple[str, str]]], Mapping[tuple[str, str], tuple[str | None, str | None, str]]
]


@dataclass
class PagePlan:
    """One page, planned: the functions to send and the outcomes of the rows that send nothing."""

    functions: list[PlannedFunction] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)


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
    ) -> None:
        self.spec = spec
        self.obj = spec.object
        self.result = result
        self.lookups = lookups
        self._read_references = references
        self.dry_run = dry_run

    # -- rows present in the model --------------------------------------------------------------------
    def plan_changes(self, page: Sequence[Row]) -> PagePlan:
        """Map, match, build and check one page of the change set."""
        plan = PagePlan()
        # An intent still open after recovery (Intacct did not answer again) waits for the next run:
        # nothing new is sent for its row until its first function is settled.
        self.result.counts["pending"] += sum(1 for row in page if row["__change"] == "pending")
        rows = [row for row in page if row["__change"] != "pending"]
        references = self._references(rows)
        mapped: list[tuple[Row, MappedRow]] = []
        for row in rows:
            try:
                self._check_match_value(row)
                mapped.append((row, map_row(self.spec, row, references, plan=self.dry_run)))
            except RowRejected as exc:
                plan.outcomes.append(self._rejected(row, exc))
        matches = self._lookup_matches(mapped)
        adopted = self._existing_records(mapped)
        for row, values in mapped:
            existing = adopted.get(str(row["__key"]))
            if existing is not None:
                plan.outcomes.append(self._adopt(row, existing))
                continue
            decision = self._decide(row, matches)
            if isinstance(decision, RowOutcome):
                plan.outcomes.append(decision)
                continue
            action, ref = decision
            try:
                plan.functions.append(self._plan_function(row, values, action, ref))
            except RowRejected as exc:
                plan.outcomes.append(self._rejected(row, exc))
        return plan

    def _decide(
        self, row: Row, matches: Mapping[str, RecordRef]
    ) -> tuple[str, RecordRef | None] | RowOutcome:
        """Which function a row becomes: create, or update of a known or matched record."""
        recordno, intacct_id = row["__recordno"], row["__intacct_id"]
        if recordno or intacct_id:
            if self.spec.mode == "insert":
                # Insert-only rows are written once; only a row that never reached Intacct is retried.
                self.result.counts["unchanged"] += 1
                return RowOutcome.of_change(row, OK)
            return UPDATE, RecordRef(recordno=recordno, id=intacct_id)
        if self.spec.mode == "insert":
            return CREATE, None
        match_value = self._match_value(row)
        found = matches.get(match_key(match_value)) if match_value is not None else None
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

    def _existing_records(self, mapped: Sequence[tuple[Row, MappedRow]]) -> dict[str, RecordRef]:
        """Records that already exist in Intacct for insert-only rows the state does not know.

        An object that adopts existing records (a journal entry, invoice, adjustment or transaction) is
        created at most once per row: when the state has no record of a row (the model was renamed, the
        state schema changed or was lost) but Intacct holds a record with the row's natural ID (a journal
        entry's REFERENCENO, an invoice or adjustment number, a DOCID, or the tool's own external ID), the
        row adopts that record instead of posting it again. One query per field and page.
        """
        if self.spec.mode != "insert" or not self.obj.adopts_existing or self.dry_run:
            return {}
        wanted: dict[str, dict[str, str]] = {}  # field -> value -> row key
        for row, values in mapped:
            if row["__change"] != "new" or row["__recordno"] or row["__intacct_id"]:
                continue
            found = self.obj.natural_key_of_values(self._with_external_reference(row, values))
            if found is not None:
                wanted.setdefault(found[0], {})[found[1]] = str(row["__key"])
        adopted: dict[str, RecordRef] = {}
        for query_field, keys in wanted.items():
            refs = self.lookups.find(query_field, sorted(keys))
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
            pair: ReferencedRecord(ref=RecordRef(recordno=recordno, id=intacct_id), status=status)
            for pair, (recordno, intacct_id, status) in self._read_references(wanted).items()
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

    def _lookup_matches(self, mapped: Sequence[tuple[Row, MappedRow]]) -> dict[str, RecordRef]:
        """Find the Intacct records of rows to match, in bulk (`query` with `in`, many keys per call)."""
        match = self.spec.match
        if match is None or self.spec.mode == "insert":
            return {}
        values = sorted(
            {
                match_key(v)
                for row, _ in mapped
                if not (row["__recordno"] or row["__intacct_id"])
                and (v := self._match_value(row)) is not None
            }
        )
        if self.dry_run:
            # A plan does not query Intacct; it prices the lookups the sync will make.
            self.lookups.price(len(values))
            return {}
        return self.lookups.find(match.field, values)

    def _plan_function(
        self, row: Row, values: MappedRow, action: str, ref: RecordRef | None
    ) -> PlannedFunction:
        previous = row.get("__line_counts")
        if action == CREATE:
            body = self.obj.build_create(self._with_external_reference(row, values), values.custom_fields)
        else:
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
        """Plan the delete behaviour of one page of rows that left the model."""
        plan = PagePlan()
        clear_fields = [k for k in self.spec.mapping if k not in self.obj.lines]
        nothing_to_clear = not self.obj.clearable_fields(clear_fields) and not self.spec.custom_fields
        for row in page:
            known = bool(row["recordno"] or row["intacct_id"])
            if self.spec.delete == "clear" and nothing_to_clear and known:
                # Every mapped field is identifying or required: clearing would be an empty update.
                plan.outcomes.append(
                    RowOutcome.of_state(
                        row, CLEARED, message="left the model; no mapped field can be cleared"
                    )
                )
                continue
            if not known or self.spec.delete == "nothing":
                self.result.counts["dropped"] += 1
                plan.outcomes.append(
                    RowOutcome.of_state(row, DROPPED, message="left the model before it reached Intacct")
                )
                continue
            ref = RecordRef(recordno=row["recordno"], id=row["intacct_id"])
            try:
                if self.spec.delete == "delete":
                    body, action = self.obj.build_delete(ref), DELETE
                else:
                    body = self.obj.build_clear(ref, clear_fields, list(self.spec.custom_fields))
                    action = CLEAR
            except RowRejected as exc:
                self.result.counts["rejected"] += 1
                self.result.add_error(RowError(row_key=row["row_key"], field=exc.field, message=exc.reason))
                plan.outcomes.append(RowOutcome.of_state(row, REJECTED, message=str(exc)))
                continue
            plan.functions.append(self._planned(row["row_key"], None, action, ref, int(row["version"]), body))
        return plan

    # -- upserts matched again -------------------------------------------------------------------------
    def plan_follow_ups(self, follow_ups: Sequence[PlannedFunction], rows: Mapping[str, Row]) -> PagePlan:
        """Upsert rows to match again now: creates that hit an existing record (BL34000061) become
        updates of it; updates of a record deleted in Intacct update its successor, or create it again.
        `rows` are the rows of the model by key, read again."""
        match = self.spec.match
        assert match is not None
        refs = self.lookups.find(match.field, sorted({match_key(p.match_value) for p in follow_ups}))
        plan = PagePlan()
        for p in follow_ups:
            ref = refs.get(match_key(p.match_value))
            if ref is None and p.action == UPDATE:
                body = self._rebuild(rows[p.row_key], None)
                plan.functions.append(
                    self._planned(
                        p.row_key, p.row_hash, CREATE, None, p.version, body, match_value=p.match_value
                    )
                )
                continue
            if ref is None:
                message = (
                    f"Intacct reports a duplicate but no {self.obj.intacct_object} has "
                    f"{match.field} = {p.match_value!r}"
                )
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
                self._planned(p.row_key, p.row_hash, UPDATE, ref, p.version, body, match_value=p.match_value)
            )
        return plan

    def _rebuild(self, row: Row, ref: RecordRef | None) -> etree._Element:
        """The row's function again, as an update of `ref` or (None) a create."""
        values = map_row(self.spec, row, self._references([row]))
        if ref is None:
            return self.obj.build_create(values.values, values.custom_fields)
        return self.obj.build_update(ref, values.values, values.custom_fields)
