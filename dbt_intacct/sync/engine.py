"""One sync (or plan) of one model: diff in the warehouse -> payloads -> Intacct -> state.

The life cycle of a model is: `prepare` (relation and columns checked; nothing written), then `run`:
key problems reported, the change set and the removals materialised in the warehouse and read page by
page; each page's rows are mapped, matched in bulk, built into functions and checked; their intents are
written; the functions are sent in batches, pipelined across pages (the next page is prepared while
Intacct answers the current one's); every answer is written to the state as it arrives.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from lxml import etree

from dbt_intacct.client import IntacctClient
from dbt_intacct.dbt.warehouse import Warehouse
from dbt_intacct.errors import IntacctError, RequestTooLarge, RowRejected, WarehouseError
from dbt_intacct.objects import RecordRef
from dbt_intacct.objects.formatting import InvalidValue, check_xml_text
from dbt_intacct.sync import state as st
from dbt_intacct.sync.mapping import MappedRow, ReferencedRecord, References, map_row, reference_keys
from dbt_intacct.sync.results import MAX_ROW_ERRORS, ModelResult, RowError
from dbt_intacct.sync.spec import SyncSpec, check_columns
from dbt_intacct.sync.state import Intent, Outcome, StateStore
from dbt_intacct.xml.request import Function
from dbt_intacct.xml.response import FunctionResult

PAGE_SIZE = 1000
GONE = "the record was deleted in Intacct; created again"
ALREADY_APPLIED = "applied by an earlier attempt (same controlid)"
LOOKUP_CHUNK = 1000  # keys per `in` filter; the client splits larger lookups the same way
SAMPLES_PER_ACTION = 3
# Answers are written to the state at most this long after they land (in one write with the others).
OUTCOME_WRITE_SECONDS = 0.25
CREATE, UPDATE, CLEAR, DELETE = "create", "update", "clear", "delete"
_WRITTEN_STATUS = {DELETE: "deleted", CLEAR: "cleared"}
_ACTION_COUNTER = {CREATE: "created", UPDATE: "updated", CLEAR: "cleared", DELETE: "deleted"}


class Progress(Protocol):
    """Told what happens, so that a terminal display or a log can show it."""

    def run_started(self, models: int) -> None: ...

    def model_started(self, spec: SyncSpec, planned_rows: int) -> None: ...

    def rows_sent(self, spec: SyncSpec, count: int) -> None: ...

    def rows_done(self, spec: SyncSpec, ok: int, failed: int) -> None: ...

    def model_finished(self, result: ModelResult) -> None: ...


@dataclass(frozen=True)
class PreparedModel:
    """A spec whose relation exists and whose columns were checked against it."""

    spec: SyncSpec
    relation: Any
    data_columns: tuple[str, ...]
    hash_columns: tuple[str, ...]


@dataclass(frozen=True)
class PlannedFunction:
    row_key: str
    row_hash: str | None
    action: str
    ref: RecordRef | None
    version: int
    function: Function
    payload: str
    match_value: Any = None
    line_counts: str | None = None  # what the record has after this function succeeds
    previous_line_counts: str | None = None  # what it has if it fails


def prepare(warehouse: Warehouse, specs: Sequence[SyncSpec]) -> tuple[list[PreparedModel], list[str]]:
    """Check each spec against its built relation; return the prepared models and every problem found."""
    prepared: list[PreparedModel] = []
    problems: list[str] = []
    for spec in specs:
        model = spec.model
        relation = warehouse.relation(model.database, model.schema, model.identifier)
        if not warehouse.relation_exists(relation):
            problems.append(f"model '{spec.name}': relation {relation} does not exist; run `dbt build` first")
            continue
        columns = [c.name for c in warehouse.columns(relation)]
        fixed, column_problems = check_columns(spec, columns)
        problems.extend(column_problems)
        if column_problems:
            continue
        referenced = fixed.referenced_columns()
        used = sorted(referenced) if referenced is not None else sorted(columns)
        prepared.append(
            PreparedModel(spec=fixed, relation=relation, data_columns=tuple(used), hash_columns=tuple(used))
        )
    return prepared, problems


def controlid_for(model_id: str, row_key: str, action: str, version: int, payload: str) -> str:
    """The function controlid: the same row, action, version and payload always give the same id.

    A retry of an unanswered function therefore carries the id Intacct already saw, and with
    uniqueid=true Intacct refuses to apply it twice; the version moves on after each successful write,
    so a later legitimate change to the same values gets a new id.
    """
    digest = hashlib.sha256(
        "\x1f".join((model_id, row_key, action, str(version), payload)).encode("utf-8")
    ).hexdigest()
    return f"dbti-{digest[:40]}"


class ModelSync:
    """Syncs (or plans) one prepared model within a run."""

    def __init__(
        self,
        *,
        prepared: PreparedModel,
        store: StateStore,
        run_id: str,
        client: Callable[[], IntacctClient] | None,
        batch_size: int,
        concurrency: int,
        dry_run: bool,
        full_refresh: bool,
        progress: Progress,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self.prepared = prepared
        self.spec = prepared.spec
        self.obj = prepared.spec.object
        self.store = store
        self.run_id = run_id
        self._client_factory = client
        self.batch_size = prepared.spec.batch_size or batch_size
        self.concurrency = concurrency
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.progress = progress
        self._after_batch = after_batch
        self.result = ModelResult(
            unique_id=self.spec.model_id, name=self.spec.name, object=self.obj.name, mode=self.spec.mode
        )
        self._timings_lock = threading.Lock()  # pages may be planned on a sending thread

    @property
    def client(self) -> IntacctClient:
        if self._client_factory is None:
            raise RuntimeError("a plan never talks to Intacct")
        return self._client_factory()

    # -- the life cycle --------------------------------------------------------------------------------
    def run(self) -> ModelResult:
        started = time.monotonic()
        try:
            self._run()
        except IntacctError as exc:
            # Intacct itself failed (not one row): the run stops; open intents wait for the next run.
            self.result.status = "error"
            self.result.message = str(exc)
            raise
        except WarehouseError as exc:
            self.result.status = "error"
            self.result.message = str(exc)
        finally:
            self.result.elapsed_seconds = time.monotonic() - started
        return self.result

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        """Add the time spent inside to the model's timings (results.PHASES)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with self._timings_lock:
                timings = self.result.timings
                timings[name] = timings.get(name, 0.0) + elapsed

    def _timed_pages(self, pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """The pages of a change table, the time spent reading each added to `read`."""
        while True:
            with self._phase("read"):
                page = next(pages, None)
            if page is None:
                return
            yield page

    def _run(self) -> None:
        spec, store = self.spec, self.store
        with self._phase("resolve"):
            self._resolve_pending()
        # Rows that reached Intacct get the delete behaviour (even if their last update failed); rows
        # that never did are simply dropped from the state.
        removal_statuses = [st.OK, st.FAILED, st.REJECTED] if spec.delete in {"clear", "delete"} else []
        send_changes = spec.mode != "insert"
        with self._phase("diff"):
            changes, removals, total = self._diff(removal_statuses, send_changes)
        self.result.counts["unchanged"] = max(total - changes.size - self.result.counts["rejected"], 0)
        self.progress.model_started(spec, changes.size + removals.size)
        try:
            self._process(
                self._timed_pages(store.pages(changes, PAGE_SIZE)),
                self._timed_pages(store.pages(removals, PAGE_SIZE)),
            )
        finally:
            store.drop(changes)
            store.drop(removals)

    def _diff(
        self, removal_statuses: Sequence[str], send_changes: bool
    ) -> tuple[st.ChangeTable, st.ChangeTable, int]:
        """The change set and the removals, materialised; and the model's row count."""
        spec, store = self.spec, self.store
        diff = store.diff(
            relation=self.prepared.relation,
            model_id=spec.model_id,
            key_columns=spec.primary_key,
            hash_columns=self.prepared.hash_columns,
            fingerprint=spec.fingerprint,
            send_changes=send_changes,
            removal_statuses=removal_statuses,
            # --full-refresh sends every row again, except to insert-only models (that would duplicate).
            send_all=self.full_refresh and send_changes,
            carry_over=not self.dry_run,
        )
        self.result.diff = {
            "method": diff.method,
            "row_hash": diff.scheme,
            "hashes_carried_over": diff.rehashed,
        }
        try:
            self._report_key_problems(diff)
            changes = store.change_table(
                diff,
                key_columns=spec.primary_key,
                hash_columns=self.prepared.hash_columns,
                data_columns=self.prepared.data_columns,
                fingerprint=spec.fingerprint,
                send_changes=send_changes,
            )
            removals = store.removal_table(diff, statuses=removal_statuses)
        finally:
            store.drop(diff)
        return changes, removals, diff.rows if diff.rows is not None else self._row_count()

    def _row_count(self) -> int:
        rows = self.store.warehouse.fetch_small(f"select count(*) from {self.prepared.relation}")
        return int(rows[0][0]) if rows else 0

    def _report_key_problems(self, diff: st.Diff) -> None:
        """Reject the rows whose key is NULL or shared; a sync records each shared key as rejected.

        Every shared key is recorded, page by page (the errors listed are capped, the counts are not);
        for keys synced before, what the state knew (RECORDNO, version) is kept, so that the record is
        updated, not created again, once the key is unique."""
        spec, problems = self.spec, diff.key_problems
        key_name = ", ".join(spec.primary_key)
        if problems.null_rows:
            self.result.counts["rejected"] += problems.null_rows
            self.result.add_error(
                RowError(
                    row_key=None,
                    field=key_name,
                    message=f"{problems.null_rows} row(s) have a NULL primary key ({key_name}); "
                    "they cannot be tracked and are not sent",
                )
            )
        if not problems.duplicate_keys:
            return
        self.result.counts["rejected"] += problems.duplicate_rows
        table = self.store.shared_key_table(diff)
        try:
            for page in self.store.pages(table, PAGE_SIZE):
                outcomes = []
                for row in page:
                    row_key = str(row["row_key"])
                    message = (
                        f"primary key ({key_name}) = {row_key!r} is shared by {int(row['copies'])} rows; "
                        "none of them is sent"
                    )
                    self.result.add_error(RowError(row_key=row_key, field=key_name, message=message))
                    outcomes.append(
                        Outcome(
                            row_key=row_key,
                            row_hash=None,
                            action="none",
                            status=st.REJECTED,
                            version=int(row["version"] or 0),
                            recordno=row["recordno"],
                            intacct_id=row["intacct_id"],
                            message=message,
                        )
                    )
                if self.dry_run:
                    if len(self.result.errors) >= MAX_ROW_ERRORS:
                        break  # a plan records nothing: the rest would only be errors not listed
                else:
                    self.store.record_outcomes(self.run_id, spec.model_id, outcomes)
        finally:
            self.store.drop(table)

    def _process(
        self, changes: Iterable[list[dict[str, Any]]], removals: Iterable[list[dict[str, Any]]]
    ) -> None:
        """Plan the change set's pages, then the removals'; a sync sends them through one pipeline.

        A page is read and planned, and its intents recorded, when the pipeline asks for more batches
        (a page ahead of the requests in flight), so that Intacct is kept busy across page boundaries.
        The upsert creates Intacct refuses as duplicates are matched and sent as updates at the end.
        """
        pages = itertools.chain(
            ((self._process_changes, page) for page in changes),
            ((self._process_removals, page) for page in removals),
        )
        if self.dry_run:
            for plan, page in pages:
                with self._phase("build"):
                    planned = plan(page)
                self._count_plan(planned)
            return
        by_controlid: dict[str, PlannedFunction] = {}
        duplicates = self._deliver(self._batches_of_pages(pages, by_controlid), by_controlid)
        if duplicates:
            self._send(self._updates_after_duplicates(duplicates))

    def _batches_of_pages(
        self,
        pages: Iterable[tuple[Callable[[list[dict[str, Any]]], list[PlannedFunction]], list[dict[str, Any]]]],
        by_controlid: dict[str, PlannedFunction],
    ) -> Iterator[list[Function]]:
        """Each page's batches; a page's intents are recorded (and committed) before its first batch."""
        for plan, page in pages:
            with self._phase("build"):
                planned = plan(page)
            if not planned:
                continue
            self._record_intents(planned)
            by_controlid.update((p.function.controlid, p) for p in planned)
            for p in planned:
                p.function.xml  # noqa: B018 - serialised here, by the thread that plans, not the one that sends
            for chunk in _chunks(planned, self.batch_size):
                yield [p.function for p in chunk]

    # -- rows present in the model --------------------------------------------------------------------
    def _process_changes(self, page: list[dict[str, Any]]) -> list[PlannedFunction]:
        """Map, match, build and check one page of the change set; record the rows not sent (a sync)."""
        spec = self.spec
        outcomes: list[Outcome] = []
        planned: list[PlannedFunction] = []
        # An intent still open after the resolution phase (Intacct did not answer again) waits for the
        # next run: nothing new is sent for its row until its first function is settled.
        self.result.counts["pending"] += sum(1 for row in page if row["__change"] == "pending")
        mapped: list[tuple[dict[str, Any], MappedRow]] = []
        references = self._references([row for row in page if row["__change"] != "pending"])
        for row in page:
            if row["__change"] == "pending":
                continue
            try:
                self._check_match_value(row)
                mapped.append((row, map_row(spec, row, references, plan=self.dry_run)))
            except RowRejected as exc:
                outcomes.append(self._rejected(row, exc))
        matches = self._lookup_matches(mapped)
        adopted = self._existing_records(mapped)
        for row, values in mapped:
            existing = adopted.get(str(row["__key"]))
            if existing is not None:
                outcomes.append(self._adopt(row, existing))
                continue
            decision = self._decide(row, values, matches)
            if isinstance(decision, Outcome):
                outcomes.append(decision)
                continue
            action, ref = decision
            try:
                planned.append(self._plan_function(row, values, action, ref))
            except RowRejected as exc:
                outcomes.append(self._rejected(row, exc))
        if not self.dry_run:
            self.store.record_outcomes(self.run_id, spec.model_id, outcomes)
        return planned

    def _decide(
        self, row: Mapping[str, Any], values: MappedRow, matches: Mapping[str, RecordRef]
    ) -> tuple[str, RecordRef | None] | Outcome:
        """Which function a row becomes: create, or update of a known or matched record."""
        recordno, intacct_id = row["__recordno"], row["__intacct_id"]
        if recordno or intacct_id:
            if self.spec.mode == "insert":
                # Insert-only rows are written once; only a row that never reached Intacct is retried.
                return self._unchanged(row)
            return UPDATE, RecordRef(recordno=recordno, id=intacct_id)
        if self.spec.mode == "insert":
            return CREATE, None
        match_value = self._match_value(row)
        found = matches.get(_match_key(match_value)) if match_value is not None else None
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
        return Outcome(
            row_key=row["__key"],
            row_hash=row["__hash"],
            action=UPDATE,
            status=st.FAILED,
            version=int(row["__version"]),
            message=message,
        )

    def _existing_records(self, mapped: Sequence[tuple[dict[str, Any], MappedRow]]) -> dict[str, RecordRef]:
        """Money records that already exist in Intacct for rows the state does not know (insert mode).

        A journal entry, invoice, adjustment or transaction is created at most once per row: when the
        state has no record of a row (the model was renamed, the state schema changed or was lost) but
        Intacct holds a record with the row's natural ID (a journal entry's REFERENCENO, an invoice or
        adjustment number, a DOCID, or the tool's own external ID), the row adopts that record instead
        of posting it again. One query per field and page.
        """
        if self.spec.mode != "insert" or self.obj.name not in _ADOPTING_OBJECTS or self.dry_run:
            return {}
        wanted: dict[str, dict[str, str]] = {}  # field -> value -> row key
        for row, values in mapped:
            if row["__change"] != "new" or row["__recordno"] or row["__intacct_id"]:
                continue
            found = natural_key_of_values(self.obj.name, self._with_external_reference(row, values))
            if found is not None:
                wanted.setdefault(found[0], {})[found[1]] = str(row["__key"])
        adopted: dict[str, RecordRef] = {}
        for field, keys in wanted.items():
            refs = self._query_refs(field, sorted(keys))
            adopted.update({keys[value]: ref for value, ref in refs.items() if value in keys})
        return adopted

    def _adopt(self, row: Mapping[str, Any], ref: RecordRef) -> Outcome:
        self.result.counts["adopted"] += 1
        return Outcome(
            row_key=str(row["__key"]),
            row_hash=row["__hash"],
            action="none",
            status=st.OK,
            version=int(row["__version"]),
            recordno=ref.recordno,
            intacct_id=ref.id,
            message="already in Intacct (found by its natural ID): not created again",
            line_counts=row["__line_counts"],
        )

    def _unchanged(self, row: Mapping[str, Any]) -> Outcome:
        self.result.counts["unchanged"] += 1
        return Outcome(
            row_key=row["__key"],
            row_hash=row["__hash"],
            action="none",
            status=st.OK,
            version=int(row["__version"]),
            recordno=row["__recordno"],
            intacct_id=row["__intacct_id"],
            line_counts=row["__line_counts"],
        )

    def _references(self, rows: Sequence[Mapping[str, Any]]) -> References:
        """What the rows' `record_of` mappings point at, read from the state in one query per model."""
        wanted: set[tuple[str, str]] = set()
        for row in rows:
            wanted |= reference_keys(self.spec, row)
        if not wanted:
            return {}
        return {
            pair: ReferencedRecord(ref=RecordRef(recordno=recordno, id=intacct_id), status=status)
            for pair, (recordno, intacct_id, status) in self.store.referenced_records(wanted).items()
        }

    def _check_match_value(self, row: Mapping[str, Any]) -> None:
        """A match value goes into a lookup query with every other row's: one XML cannot carry must
        reject its own row, not break the query of the page."""
        value = self._match_value(row)
        if value is None or self.spec.match is None:
            return
        try:
            check_xml_text(_match_key(value))
        except InvalidValue as exc:
            match = self.spec.match
            raise RowRejected(
                match.field, f"the value matched on (column {match.column}) {exc.reason}"
            ) from None

    def _match_value(self, row: Mapping[str, Any]) -> Any:
        match = self.spec.match
        return row.get(match.column) if match is not None else None

    def _lookup_matches(self, mapped: Sequence[tuple[dict[str, Any], MappedRow]]) -> dict[str, RecordRef]:
        """Find the Intacct records of rows to match, in bulk (`query` with `in`, many keys per call)."""
        match = self.spec.match
        if match is None or self.spec.mode == "insert":
            return {}
        values = sorted(
            {
                _match_key(v)
                for row, _ in mapped
                if not (row["__recordno"] or row["__intacct_id"])
                and (v := self._match_value(row)) is not None
            }
        )
        if self.dry_run:
            # A plan does not query Intacct; it prices the lookups the sync will make (one query page
            # per chunk of keys, as the client sends them).
            self.result.api_transactions += -(-len(values) // LOOKUP_CHUNK)
            return {}
        return self._query_refs(match.field, values)

    def _query_refs(self, field: str, values: Sequence[str]) -> dict[str, RecordRef]:
        if not values:
            return {}
        id_field = self.obj.id_field
        select = ["RECORDNO", field] + ([id_field] if id_field and id_field != field else [])
        found: dict[str, RecordRef] = {}
        before = self._query_pages()
        for record in self.client.query_in(self.obj.intacct_object, field, list(values), select):
            value = _flat_get(record, field)
            if value is None:
                continue
            found.setdefault(
                _match_key(value),
                RecordRef(
                    recordno=_text(_flat_get(record, "RECORDNO")),
                    id=_text(_flat_get(record, id_field)) if id_field else None,
                ),
            )
        self.result.api_transactions += self._query_pages() - before
        return found

    def _query_pages(self) -> int:
        return int(getattr(self.client.stats, "query_pages", 0))

    def _plan_function(
        self, row: Mapping[str, Any], values: MappedRow, action: str, ref: RecordRef | None
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
        counts = {k: len(v) for k, v in values.values.items() if k in self.obj.lines and isinstance(v, list)}
        return self._planned(
            row["__key"],
            row["__hash"],
            action,
            ref,
            int(row["__version"]),
            body,
            match_value=self._match_value(row),
            line_counts=json.dumps(counts, sort_keys=True) if counts else previous,
            previous_line_counts=previous,
        )

    def _with_external_reference(self, row: Mapping[str, Any], values: MappedRow) -> Mapping[str, Any]:
        """A create of an invoice, adjustment or transaction carries an external ID the tool can find it
        by if its answer is lost (`dbti-` and a digest of the model and row key), unless the model maps
        `externalid` itself."""
        if self.obj.name not in _EXTERNAL_REFERENCE_OBJECTS or values.values.get("externalid") is not None:
            return values.values
        return {**values.values, "externalid": external_reference(self.spec.model_id, str(row["__key"]))}

    def _planned(
        self,
        row_key: str,
        row_hash: str | None,
        action: str,
        ref: RecordRef | None,
        version: int,
        body: etree._Element,
        match_value: Any = None,
        line_counts: str | None = None,
        previous_line_counts: str | None = None,
    ) -> PlannedFunction:
        payload = etree.tostring(body, encoding="unicode")
        controlid = controlid_for(self.spec.model_id, row_key, action, version, payload)
        return PlannedFunction(
            row_key=row_key,
            row_hash=row_hash,
            action=action,
            ref=ref,
            version=version,
            function=Function(controlid=controlid, body=body),
            payload=payload,
            match_value=match_value,
            line_counts=line_counts,
            previous_line_counts=previous_line_counts,
        )

    def _resolve_pending(self) -> None:
        """First, settle the intents a previous run left open (it stopped before their answer was kept).

        Each is re-sent unchanged, same controlid and payload, whether or not its row is still in the
        model: Intacct either applies it now or refuses it as already executed, never twice. A create
        that had already run is read back by the natural ID in its payload, to learn the RECORDNO.
        """
        if self.dry_run:
            rows = self.store.pending_rows(self.spec.model_id, PAGE_SIZE)
            if rows:
                self.result.planned["resend"] += len(rows)
                self.result.api_transactions += len(rows)
            return
        seen: set[str] = set()
        while True:
            rows = [
                r for r in self.store.pending_rows(self.spec.model_id, PAGE_SIZE) if r["row_key"] not in seen
            ]
            if not rows:
                return
            seen.update(str(r["row_key"]) for r in rows)
            payloads = self.store.pending_payloads(self.spec.model_id, [str(r["controlid"]) for r in rows])
            planned: list[PlannedFunction] = []
            lost: list[Outcome] = []
            for row in rows:
                payload = payloads.get(str(row["controlid"]))
                if payload is None:
                    lost.append(self._intent_lost(row))
                    continue
                planned.append(self._resent(row, payload))
            self.store.record_outcomes(self.run_id, self.spec.model_id, lost)
            self.result.counts["resent"] += len(planned)
            self._send(planned, intents_recorded=True)

    def _intent_lost(self, row: Mapping[str, Any]) -> Outcome:
        # The state says pending but the ledger has no intent: nothing can have been sent with it, so
        # the row is simply retried (a new function) on this run's diff.
        return Outcome(
            row_key=str(row["row_key"]),
            row_hash=None,
            action="none",
            status=st.FAILED,
            version=int(row["version"]),
            recordno=row["recordno"],
            intacct_id=row["intacct_id"],
            message="the intent of the last attempt was not recorded; the row is sent again",
            line_counts=row["line_counts"],
        )

    def _resent(self, row: Mapping[str, Any], payload: str) -> PlannedFunction:
        body = etree.fromstring(payload.encode("utf-8"), parser=_PAYLOAD_PARSER)
        recordno, intacct_id = row["recordno"], row["intacct_id"]
        return PlannedFunction(
            row_key=str(row["row_key"]),
            row_hash=row["row_hash"],
            action=_action_of(body),
            ref=RecordRef(recordno=recordno, id=intacct_id) if (recordno or intacct_id) else None,
            version=int(row["version"]),
            function=Function(controlid=str(row["controlid"]), body=body),
            payload=payload,
            previous_line_counts=row["line_counts"],
            # What a successful (re)send leaves in Intacct: the lines of the payload.
            line_counts=_line_counts_of(self.obj, body) or row["line_counts"],
        )

    # -- rows that left the model ----------------------------------------------------------------------
    def _process_removals(self, page: list[dict[str, Any]]) -> list[PlannedFunction]:
        """Plan the delete behaviour of one page of removed rows; record the rows not sent (a sync)."""
        outcomes: list[Outcome] = []
        planned: list[PlannedFunction] = []
        clear_fields = [k for k in self.spec.mapping if k not in self.obj.lines]
        nothing_to_clear = not self.obj.clearable_fields(clear_fields) and not self.spec.custom_fields
        for row in page:
            version = int(row["version"])
            recordno, intacct_id = row["recordno"], row["intacct_id"]
            if self.spec.delete == "clear" and nothing_to_clear and (recordno or intacct_id):
                # Every mapped field is identifying or required: clearing would be an empty update.
                outcomes.append(
                    Outcome(
                        row_key=row["row_key"],
                        row_hash=None,
                        action="none",
                        status=st.CLEARED,
                        version=version,
                        recordno=recordno,
                        intacct_id=intacct_id,
                        message="left the model; no mapped field can be cleared",
                    )
                )
                continue
            if not (recordno or intacct_id) or self.spec.delete == "nothing":
                self.result.counts["dropped"] += 1
                outcomes.append(
                    Outcome(
                        row_key=row["row_key"],
                        row_hash=None,
                        action="none",
                        status=st.DROPPED,
                        version=version,
                        recordno=recordno,
                        intacct_id=intacct_id,
                        message="left the model before it reached Intacct",
                    )
                )
                continue
            ref = RecordRef(recordno=recordno, id=intacct_id)
            try:
                if self.spec.delete == "delete":
                    body = self.obj.build_delete(ref)
                    action = DELETE
                else:
                    body = self.obj.build_clear(ref, clear_fields, list(self.spec.custom_fields))
                    action = CLEAR
            except RowRejected as exc:
                outcomes.append(
                    Outcome(
                        row_key=row["row_key"],
                        row_hash=None,
                        action="none",
                        status=st.REJECTED,
                        version=version,
                        recordno=recordno,
                        intacct_id=intacct_id,
                        message=str(exc),
                    )
                )
                self.result.counts["rejected"] += 1
                self.result.add_error(RowError(row_key=row["row_key"], field=exc.field, message=exc.reason))
                continue
            planned.append(self._planned(row["row_key"], None, action, ref, version, body))
        if not self.dry_run:
            self.store.record_outcomes(self.run_id, self.spec.model_id, outcomes)
        return planned

    # -- sending ----------------------------------------------------------------------------------------
    def _send(
        self, planned: Sequence[PlannedFunction], *, intents_recorded: bool = False
    ) -> list[PlannedFunction]:
        """Send functions in batches; record intents first and each answer as it comes.

        Returns the upsert creates that Intacct refused as duplicates, to be matched and updated.
        """
        if not planned:
            return []
        if not intents_recorded:
            self._record_intents(planned)
        by_controlid = {p.function.controlid: p for p in planned}
        return self._deliver(
            [[p.function for p in chunk] for chunk in _chunks(planned, self.batch_size)], by_controlid
        )

    def _record_intents(self, planned: Sequence[PlannedFunction]) -> None:
        with self._phase("intents"):
            self._write_intents(planned)

    def _write_intents(self, planned: Sequence[PlannedFunction]) -> None:
        spec = self.spec
        self.store.record_intents(
            self.run_id,
            spec.model_id,
            [
                Intent(
                    row_key=p.row_key,
                    row_hash=p.row_hash,
                    action=p.action,
                    controlid=p.function.controlid,
                    payload=p.payload,
                    version=p.version,
                    recordno=p.ref.recordno if p.ref else None,
                    intacct_id=p.ref.id if p.ref else None,
                    line_counts=p.previous_line_counts,
                )
                for p in planned
            ],
        )

    def _deliver(
        self, batches: Iterable[list[Function]], by_controlid: dict[str, PlannedFunction]
    ) -> list[PlannedFunction]:
        """Send batches, pipelined, and record each answer; returns the upsert creates refused as duplicates.

        ``by_controlid`` holds every function whose intent is recorded and whose answer is not (batches
        may add to it as they are taken); answered functions leave it. A request refused for its size is
        split in halves, sent when the rest has been answered. Raises the IntacctError that stopped
        sending; the functions left without an answer keep their open intents, which the next run
        resolves.
        """
        duplicates: list[PlannedFunction] = []
        try:
            with self._phase("send"):
                split = self._send_batches(batches, by_controlid, duplicates)
                while split:
                    split = self._send_batches(split, by_controlid, duplicates)
        except IntacctError:
            # Unanswered, and the upsert creates refused as duplicates whose update is not sent yet.
            unsettled = sum(1 for p in duplicates if p.action == CREATE)
            self.result.counts["pending"] += len(by_controlid) + unsettled
            raise
        return duplicates

    def _send_batches(
        self,
        batches: Iterable[list[Function]],
        by_controlid: dict[str, PlannedFunction],
        duplicates: list[PlannedFunction],
    ) -> list[list[Function]]:
        """One pipeline: record the answers as they land; return the halves of the batches too large.

        Answers are written in groups, at most OUTCOME_WRITE_SECONDS apart (and when sending stops):
        one write and commit per answer took CPU time the requests in flight needed. An answer not yet
        written when the process dies leaves its intents open, and the next run resolves them.
        """
        split: list[list[Function]] = []
        unwritten = _Unwritten()
        # Batches are taken up to a page ahead of the requests in flight: the next page is prepared
        # while Intacct still has the current one's to answer.
        ahead = max(2 * self.concurrency, -(-PAGE_SIZE // self.batch_size))
        try:
            for batch, answer in self.client.execute_batches(
                batches, uniqueid=True, concurrency=self.concurrency, ahead=ahead
            ):
                if isinstance(answer, RequestTooLarge):
                    if len(batch) > 1:
                        half = len(batch) // 2
                        split += [list(batch[:half]), list(batch[half:])]
                        continue
                    self.progress.rows_sent(self.spec, 1)
                    duplicates += self._answered(batch, {}, by_controlid, unwritten, too_large=str(answer))
                elif isinstance(answer, IntacctError):
                    raise answer
                else:
                    self.progress.rows_sent(self.spec, len(batch))
                    duplicates += self._answered(batch, answer, by_controlid, unwritten)
                if time.monotonic() - unwritten.since >= OUTCOME_WRITE_SECONDS:
                    self._write_outcomes(unwritten)
        except IntacctError:
            self._write_outcomes(unwritten)  # what did land is kept
            raise
        self._write_outcomes(unwritten)
        return split

    def _write_outcomes(self, unwritten: _Unwritten) -> None:
        if unwritten.outcomes:
            with self._phase("outcomes"):
                self.store.record_outcomes(self.run_id, self.spec.model_id, unwritten.outcomes)
        if unwritten.ok or unwritten.failed:
            self.progress.rows_done(self.spec, unwritten.ok, unwritten.failed)
        if unwritten.batches and self._after_batch is not None:
            self._after_batch()
        unwritten.clear()

    def _answered(
        self,
        batch: Sequence[Function],
        answer: Mapping[str, FunctionResult],
        by_controlid: dict[str, PlannedFunction],
        unwritten: _Unwritten,
        *,
        too_large: str | None = None,
    ) -> list[PlannedFunction]:
        """The outcomes of one answered batch, added to ``unwritten`` (its functions leave
        ``by_controlid``); returns the upsert creates refused as duplicates."""
        duplicates: list[PlannedFunction] = []
        outcomes = []
        ok = failed = 0
        answered = {function.controlid: by_controlid.pop(function.controlid) for function in batch}
        for function in batch:
            p = answered[function.controlid]
            if too_large is not None:
                outcome = self._too_large(p, too_large)
            else:
                outcome, duplicate = self._outcome(p, answer.get(function.controlid))
                if duplicate:
                    duplicates.append(p)
                    if outcome.message == GONE:
                        outcomes.append(outcome)  # forget the RECORDNO now; the row is created below
                    continue
            outcomes.append(outcome)
            if outcome.status in st.WRITTEN:
                ok += 1
            else:
                failed += 1
        unwritten.add(self._read_back(outcomes, answered), ok, failed)
        return duplicates

    def _too_large(self, p: PlannedFunction, detail: str) -> Outcome:
        message = f"this row's function alone is larger than Intacct accepts in one request ({detail})"
        self.result.counts["failed"] += 1
        self.result.add_error(RowError(row_key=p.row_key, field=None, message=message, stage="failed"))
        return Outcome(
            row_key=p.row_key,
            row_hash=p.row_hash,
            action=p.action,
            status=st.FAILED,
            version=p.version,
            controlid=p.function.controlid,
            recordno=p.ref.recordno if p.ref else None,
            intacct_id=p.ref.id if p.ref else None,
            message=message,
            line_counts=p.previous_line_counts,
        )

    def _outcome(self, p: PlannedFunction, result: FunctionResult | None) -> tuple[Outcome, bool]:
        """The outcome of one sent function; the flag says an upsert create hit a duplicate."""
        base = Outcome(
            row_key=p.row_key,
            row_hash=p.row_hash,
            action=p.action,
            status=st.PENDING,
            version=p.version,
            controlid=p.function.controlid,
            recordno=p.ref.recordno if p.ref else None,
            intacct_id=p.ref.id if p.ref else None,
            line_counts=p.previous_line_counts,
        )
        if result is None:
            self.result.counts["pending"] += 1
            return replace(base, message="Intacct returned no result for this function"), False
        if result.ok:
            self.result.api_transactions += 1
            self.result.counts[_ACTION_COUNTER[p.action]] += 1
            if p.action == CREATE:
                ref = self.obj.ref_from_result(result.data, result.key)
                base = replace(base, recordno=ref.recordno, intacct_id=ref.id)
            written = p.line_counts if p.action in {CREATE, UPDATE} else p.previous_line_counts
            return replace(base, status=_WRITTEN_STATUS.get(p.action, st.OK), line_counts=written), False
        if (
            p.action == CREATE
            and self.spec.mode == "upsert"
            and result.is_duplicate
            and p.match_value is not None
        ):
            return replace(base, status=st.FAILED), True
        if p.action != CREATE and p.ref is not None and _record_is_gone(result.message, p.ref):
            return self._gone(p, base, result.message)
        if result.is_repeated_controlid:
            return self._already_applied(p, base), False
        error = result.errors[0] if result.errors else None
        errorno = error.errorno if error else None
        message = result.message or "Intacct refused the function without a message"
        self.result.counts["failed"] += 1
        self.result.add_error(
            RowError(row_key=p.row_key, field=None, message=message, errorno=errorno, stage="failed")
        )
        return replace(base, status=st.FAILED, errorno=errorno, message=message), False

    def _gone(self, p: PlannedFunction, base: Outcome, message: str) -> tuple[Outcome, bool]:
        """The record was deleted in Intacct by someone else.

        A delete or clear of it is done (nothing is left). An update forgets the RECORDNO: an upsert
        row is then matched again and created, in this run; an update row waits to be matched again.
        """
        if p.action in {DELETE, CLEAR}:
            self.result.counts["deleted"] += 1
            return replace(base, status=st.DELETED, message=f"already gone in Intacct: {message}"), False
        forgotten = replace(base, status=st.FAILED, recordno=None, intacct_id=None, line_counts=None)
        if self.spec.mode == "upsert":
            return replace(forgotten, message=GONE), True
        text = f"the record no longer exists in Intacct ({message}); the row is matched again on the next run"
        self.result.counts["failed"] += 1
        self.result.add_error(RowError(row_key=p.row_key, field=None, message=text, stage="failed"))
        return replace(forgotten, message=text), False

    def _already_applied(self, p: PlannedFunction, base: Outcome) -> Outcome:
        """Intacct says this controlid already ran: the write happened in an earlier, unanswered attempt.

        A create's RECORDNO is then read back by the natural ID its payload carries (CUSTOMERID,
        CONTACTNAME, the invoice or adjustment number, the transaction's DOCID, a journal entry's
        REFERENCENO); without one, the row is recorded as applied with its RECORDNO unknown.
        """
        self.result.counts[_ACTION_COUNTER[p.action]] += 1
        return replace(
            base,
            status=_WRITTEN_STATUS.get(p.action, st.OK),
            message=ALREADY_APPLIED,
            line_counts=p.line_counts if p.action in {CREATE, UPDATE} else p.previous_line_counts,
        )

    def _read_back(
        self, outcomes: list[Outcome], by_controlid: Mapping[str, PlannedFunction]
    ) -> list[Outcome]:
        """Learn the RECORDNO of creates applied by an earlier attempt, with one query per ID field."""
        wanted: dict[str, dict[str, int]] = {}  # field -> value -> index in outcomes
        for index, outcome in enumerate(outcomes):
            if outcome.message != ALREADY_APPLIED or outcome.action != CREATE or outcome.recordno:
                continue
            found = natural_key(self.obj.name, by_controlid[str(outcome.controlid)].function.body)
            if found is not None:
                wanted.setdefault(found[0], {})[found[1]] = index
        for field, values in wanted.items():
            refs = self._query_refs(field, sorted(values))
            for value, index in values.items():
                ref = refs.get(value)
                if ref is not None:
                    outcome = outcomes[index]
                    outcomes[index] = replace(
                        outcome, recordno=ref.recordno, intacct_id=ref.id or outcome.intacct_id
                    )
        return outcomes

    def _updates_after_duplicates(self, followups: Sequence[PlannedFunction]) -> list[PlannedFunction]:
        """Upsert rows to match again now: creates that hit an existing record (BL34000061) become
        updates of it; updates of a record deleted in Intacct update its successor, or create it again."""
        match = self.spec.match
        assert match is not None
        refs = self._query_refs(match.field, sorted({_match_key(p.match_value) for p in followups}))
        planned: list[PlannedFunction] = []
        outcomes: list[Outcome] = []
        for p in followups:
            ref = refs.get(_match_key(p.match_value))
            if ref is None and p.action == UPDATE:
                body = self._rebuild(p, None)
                planned.append(
                    self._planned(p.row_key, p.row_hash, CREATE, None, p.version, body, p.match_value)
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
                outcomes.append(
                    Outcome(
                        row_key=p.row_key,
                        row_hash=p.row_hash,
                        action=CREATE,
                        status=st.FAILED,
                        version=p.version,
                        controlid=p.function.controlid,
                        message=message,
                    )
                )
                continue
            body = self._rebuild(p, ref)
            planned.append(self._planned(p.row_key, p.row_hash, UPDATE, ref, p.version, body, p.match_value))
        self.store.record_outcomes(self.run_id, self.spec.model_id, outcomes)
        return planned

    def _rebuild(self, p: PlannedFunction, ref: RecordRef | None) -> etree._Element:
        """The row's function again, as an update of `ref` or (None) a create."""
        rows = self._rows_for_keys([p.row_key])
        row = rows[p.row_key]
        values = map_row(self.spec, row, self._references([row]))
        if ref is None:
            return self.obj.build_create(values.values, values.custom_fields)
        return self.obj.build_update(ref, values.values, values.custom_fields)

    def _rows_for_keys(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        # Rare path (duplicates on upsert): read the rows back from the relation by key.
        w = self.store.warehouse
        key_sql = w.render("dbt_intacct__row_key", columns=list(self.spec.primary_key))
        wanted = ", ".join(w.literal(k) for k in keys)
        columns = ", ".join(w.quote(c) for c in self.prepared.data_columns)
        rows = w.read_page(
            f"select {key_sql} as {w.quote('__key')}, {columns} from {self.prepared.relation} "
            f"where {key_sql} in ({wanted})",
            PAGE_SIZE,
        )
        return {str(r["__key"]): r for r in rows}

    # -- plan -----------------------------------------------------------------------------------------
    def _count_plan(self, planned: Sequence[PlannedFunction]) -> None:
        for p in planned:
            self.result.planned[p.action] += 1
            self.result.api_transactions += 1
            samples = self.result.samples.setdefault(p.action, [])
            if len(samples) < SAMPLES_PER_ACTION:
                samples.append(etree.tostring(p.function.body, encoding="unicode", pretty_print=True))

    def _rejected(self, row: Mapping[str, Any], exc: RowRejected) -> Outcome:
        self.result.counts["rejected"] += 1
        self.result.add_error(RowError(row_key=row["__key"], field=exc.field, message=exc.reason))
        return Outcome(
            row_key=row["__key"],
            row_hash=row["__hash"],
            action="none",
            status=st.REJECTED,
            version=int(row["__version"]),
            recordno=row["__recordno"],
            intacct_id=row["__intacct_id"],
            message=str(exc),
            line_counts=row["__line_counts"],
        )


class _Unwritten:
    """Outcomes of answered batches not yet written to the state."""

    def __init__(self) -> None:
        self.clear()

    def add(self, outcomes: Sequence[Outcome], ok: int, failed: int) -> None:
        self.outcomes.extend(outcomes)
        self.ok += ok
        self.failed += failed
        self.batches += 1

    def clear(self) -> None:
        self.outcomes: list[Outcome] = []
        self.ok = self.failed = self.batches = 0
        self.since = time.monotonic()


_PAYLOAD_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


# Objects whose creates get the tool's external reference when the model maps no `externalid`.
_EXTERNAL_REFERENCE_OBJECTS = frozenset({"invoice", "ar_adjustment", "transaction"})
# Insert-only money objects whose rows adopt an existing record with their natural ID.
_ADOPTING_OBJECTS = frozenset({"journal_entry", "invoice", "ar_adjustment", "transaction"})
# Wording Intacct uses when the record a function names does not exist (API.md section 4).
_GONE_WORDING = ("cannot find", "non-existing", "non existing", "does not exist", "not found")


def external_reference(model_id: str, row_key: str) -> str:
    """The external ID the tool writes on a create, stable for a model row (20 characters)."""
    return "dbti-" + hashlib.sha256(f"{model_id}\x1f{row_key}".encode()).hexdigest()[:15]


def _record_is_gone(message: str, ref: RecordRef) -> bool:
    """Whether Intacct refused a function because the very record it names no longer exists: the
    wording says so and the message names the record's RECORDNO or ID (not, say, a missing customer)."""
    text = message.lower()
    names_record = any(key and str(key).lower() in text for key in (ref.recordno, ref.id))
    return names_record and any(words in text for words in _GONE_WORDING)


# Where a create's payload names the record (query field, path in the function body), to read it back.
_NATURAL_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "customer": (("CUSTOMERID", "CUSTOMER/CUSTOMERID"),),
    "contact": (("CONTACTNAME", "CONTACT/CONTACTNAME"),),
    "invoice": (("RECORDID", "invoiceno"), ("EXTERNALID", "externalid")),
    "ar_adjustment": (("RECORDID", "adjustmentno"), ("EXTERNALID", "externalid")),
    "journal_entry": (("REFERENCENO", "GLBATCH/REFERENCENO"),),
    "transaction": (("EXTERNALID", "externalid"),),
    "ar_payment": (),
}


def natural_key(object_name: str, body: etree._Element) -> tuple[str, str] | None:
    """(query field, value) naming the record a create function writes, when its payload has one."""
    if object_name == "transaction":
        definition, number = body.findtext("transactiontype"), body.findtext("documentno")
        if definition and number:
            return "DOCID", f"{definition}-{number}"
    for field, path in _NATURAL_KEYS.get(object_name, ()):
        value = body.findtext(path)
        if value:
            return field, value
    return None


def natural_key_of_values(object_name: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """The same, from a row's mapped values (before the function is built)."""
    if object_name == "transaction" and values.get("transactiontype") and values.get("documentno"):
        return "DOCID", f"{values['transactiontype']}-{values['documentno']}"
    for field, path in _NATURAL_KEYS.get(object_name, ()):
        value = values.get(path.split("/")[-1] if "/" in path else path)
        if value not in (None, ""):
            return field, str(value)
    return None


def _line_counts_of(obj: Any, body: etree._Element) -> str | None:
    """How many lines each line array of a create/update payload carries (JSON), for later updates."""
    counts: dict[str, int] = {}
    for key in obj.lines:
        element = body.find(f".//{key}")
        if element is not None:
            counts[key] = sum(1 for child in element if isinstance(child.tag, str))
    return json.dumps(counts, sort_keys=True) if counts else None


def _action_of(body: etree._Element) -> str:
    tag = str(body.tag)
    if tag.startswith("create"):
        return CREATE
    if tag.startswith("delete"):
        return DELETE
    return UPDATE


def _chunks(items: Sequence[PlannedFunction], size: int) -> Iterator[Sequence[PlannedFunction]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _match_key(value: Any) -> str:
    return str(value)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _flat_get(record: Mapping[str, Any], path: str | None) -> Any:
    if path is None:
        return None
    if path in record:
        return record[path]
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current
