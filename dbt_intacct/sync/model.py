"""One sync (or plan) of one model, stage by stage.

`prepare` checks a spec's relation and columns (nothing written). `ModelSync.run` then: resends the
intents an earlier run left open (`recovery`); compares the model with its state in the warehouse
(`state.diff`) and reports NULL and shared keys; reads the change set and the removals page by page and
plans each page (`planning`); sends the functions, pipelined across pages, and settles each answer as
it lands (`sending`, `settlement`); last, matches again the upsert rows Intacct refused as duplicates.
A plan stops after planning and counts what a sync would send.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from dbt_intacct import interrupts
from dbt_intacct.client import IntacctClient
from dbt_intacct.dbt.warehouse import Warehouse
from dbt_intacct.errors import IntacctError, Interrupted, WarehouseError
from dbt_intacct.results import MAX_ROW_ERRORS, ModelResult, Progress, RowError
from dbt_intacct.state.canonical import HashedColumn, hashed_columns
from dbt_intacct.state.diff import ChangeTable, Diff, Differ
from dbt_intacct.state.ledger import Ledger, RowOutcome
from dbt_intacct.state.models import tracked_records
from dbt_intacct.state.tables import FAILED, OK, REJECTED
from dbt_intacct.sync import recovery
from dbt_intacct.sync.entities import entity_label
from dbt_intacct.sync.guard import HELD, Changes, GuardLimits, held_reason
from dbt_intacct.sync.lookups import RecordLookups
from dbt_intacct.sync.plan_file import PlanCapture
from dbt_intacct.sync.planned import CREATE, PagePlan, PlannedFunction
from dbt_intacct.sync.planning import Planner, Row
from dbt_intacct.sync.sending import PAGE_SIZE, Sender
from dbt_intacct.sync.spec import SyncSpec, check_columns
from dbt_intacct.xml.request import Function

SAMPLES_PER_ACTION = 3


@dataclass(frozen=True)
class PreparedModel:
    """A spec whose relation exists and whose columns were checked against it."""

    spec: SyncSpec
    relation: Any
    data_columns: tuple[str, ...]
    hash_columns: tuple[HashedColumn, ...]


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
        # The reversal date is read with the row but is no part of its hash: it changes no entry.
        read = sorted({*used, fixed.reverse_date}) if fixed.reverse_date else used
        prepared.append(
            PreparedModel(
                spec=fixed,
                relation=relation,
                data_columns=tuple(read),
                hash_columns=hashed_columns(warehouse, relation, used),
            )
        )
    return prepared, problems


PagePlanner = Callable[[Sequence[Row]], PagePlan]


class ModelSync:
    """Syncs (or plans) one prepared model within a run."""

    def __init__(
        self,
        *,
        prepared: PreparedModel,
        differ: Differ,
        ledger: Ledger,
        run_id: str,
        client: Callable[[], IntacctClient] | None,
        batch_size: int,
        concurrency: int,
        dry_run: bool,
        full_refresh: bool,
        progress: Progress,
        after_batch: Callable[[], None] | None = None,
        guard: GuardLimits | None = None,
        capture: PlanCapture | None = None,
        replay: Sequence[PlannedFunction] | None = None,
        replay_reposts: Mapping[str, PlannedFunction] | None = None,
    ) -> None:
        self.prepared = prepared
        self.guard = guard  # the limits the model runs under; None: the guard is lifted
        self.spec = spec = prepared.spec
        self.differ = differ
        self.ledger = ledger
        self.run_id = run_id
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.progress = progress
        self.result = ModelResult(
            unique_id=spec.model_id, name=spec.name, object=spec.object.name, mode=spec.mode
        )
        # `plan --out` (capture): planned as a sync plans (records matched in Intacct), nothing sent.
        # `sync --plan` (replay): the saved plan's functions are sent, and nothing else.
        self.capture = capture
        self.replay = replay
        self.replay_reposts = replay_reposts or {}
        self.lookups = RecordLookups(spec.object, client, self.result)
        self.planner = Planner(
            spec,
            self.result,
            self.lookups,
            ledger.referenced_records,
            dry_run=dry_run and capture is None,
            posted=lambda keys: ledger.posted_payloads(spec.model_id, keys),
        )
        self.sender: Sender | None = None
        if client is not None and not dry_run:
            self.sender = Sender(
                spec=spec,
                result=self.result,
                client=client,
                ledger=ledger,
                lookups=self.lookups,
                run_id=run_id,
                batch_size=spec.batch_size or batch_size,
                concurrency=concurrency,
                progress=progress,
                after_batch=after_batch,
            )

    def run(self) -> ModelResult:
        """Sync (or plan) the model; an IntacctError that stops the run is raised after the result is kept."""
        started = time.monotonic()
        try:
            self._run()
        except Interrupted as stop:
            self._interrupted(stop)
            raise
        except Exception as exc:
            signalled = interrupts.received()
            if signalled is not None:
                # The signal reached a driver first, which failed with an error of its own.
                self._interrupted(signalled)
                raise signalled from exc
            if not isinstance(exc, IntacctError | WarehouseError):
                raise
            self.result.status = "error"
            self.result.message = str(exc)
            if isinstance(exc, IntacctError):
                raise  # Intacct failed as a whole (not one row): the run stops; open intents wait
        finally:
            self.result.elapsed_seconds = time.monotonic() - started
        return self.result

    def _interrupted(self, stop: Interrupted) -> None:
        self.result.status = "interrupted"
        self.result.message = str(stop)

    def _run(self) -> None:
        spec, differ = self.spec, self.differ
        resent: set[str] = set()
        if self.replay is not None:
            assert self.sender is not None
            self._send_replay(self.replay, self.sender)
            return
        with self.result.phase("resolve"):
            if self.sender is None:
                recovery.price_pending(
                    self.ledger, spec.model_id, self.result, by_entity=spec.entity is not None
                )
            else:
                resent = recovery.resend_pending(self.ledger, spec.model_id, spec.object, self.sender)
        self.planner.resent = resent
        # Rows that reached Intacct get the delete behaviour (even if their last update failed); rows
        # that never did are simply dropped from the state.
        removal_statuses = [OK, FAILED, REJECTED] if spec.delete in {"clear", "delete", "reverse"} else []
        # Changed rows are found for insert-only models too: reversed (on_change: reverse), or counted
        # as changed and not sent.
        send_changes = True
        with self.result.phase("diff"):
            changes, removals, total = self._diff(removal_statuses, send_changes)
        self._account(total, changes, removals, resent)
        held = self._held(changes, removals, total)
        self.progress.model_started(self.result, 0 if held else changes.size + removals.size)
        try:
            if held is not None:
                self.result.status, self.result.message = HELD, held
                return
            pages = itertools.chain(
                (
                    (self.planner.plan_changes, page)
                    for page in self._timed_pages(differ.pages(changes, PAGE_SIZE))
                ),
                (
                    (self.planner.plan_removals, page)
                    for page in self._timed_pages(differ.pages(removals, PAGE_SIZE))
                ),
            )
            if self.sender is None:
                self._count_plan(pages)
            else:
                self._send(pages, self.sender)
        finally:
            differ.drop(changes)
            differ.drop(removals)

    def _account(self, total: int, changes: ChangeTable, removals: ChangeTable, resent: set[str]) -> None:
        """Count the unchanged rows, and record what the counts add up to: every row of the model and
        every row that left it has one outcome, but a row whose open intent was resent and that then
        changed again or left has two (`twice`)."""
        in_model = changes_resent = removed_resent = 0
        if resent:
            in_model = self.differ.count_keys(self.prepared.relation, sorted(resent), self.spec.primary_key)
            changes_resent = self.differ.count_keys(changes, sorted(resent))
            removed_resent = self.differ.count_keys(removals, sorted(resent))
        # Resent rows are counted by their settlement, not again as unchanged.
        unchanged = total - changes.size - self.result.counts["rejected"] - (in_model - changes_resent)
        self.result.counts["unchanged"] = max(unchanged, 0)
        self.result.rows = {
            "in_model": total,
            "left": removals.size + len(resent) - in_model - removed_resent,
            "twice": removed_resent,  # rows resent whose change is sent again are added as they are planned
        }

    def _twice(self, rows: int) -> None:
        """Rows with a second outcome in this run: a reversed entry's new posting."""
        if rows:
            self.result.rows["twice"] = self.result.rows.get("twice", 0) + rows

    def _held(self, changes: ChangeTable, removals: ChangeTable, total: int) -> str | None:
        """Why the guard holds the model (nothing of it is sent), or None."""
        if self.guard is None:
            return None
        tracked = tracked_records(self.differ.tables, self.spec.model_id)
        if not tracked:
            return None
        removing = 0
        if removals.size and self.spec.delete in {"clear", "delete", "reverse"}:
            w = self.differ.tables.warehouse
            rows = w.fetch_small(
                f"select count(*) from {removals.name} where recordno is not null or intacct_id is not null"
            )
            removing = int(rows[0][0] or 0) if rows else 0
        sends_changes = self.spec.mode != "insert" or self.spec.on_change == "reverse"
        updates = changes.counts.get("changed", 0) if sends_changes else 0
        changed = Changes(tracked=tracked, rows=total, removals=removing, updates=updates)
        return held_reason(self.guard, changed)

    def _timed_pages(self, pages: Iterator[list[Row]]) -> Iterator[list[Row]]:
        """The pages of a change table, the time spent reading each added to `read`."""
        while True:
            with self.result.phase("read"):
                page = next(pages, None)
            if page is None:
                return
            yield page

    def _diff(
        self, removal_statuses: Sequence[str], send_changes: bool
    ) -> tuple[ChangeTable, ChangeTable, int]:
        """The change set and the removals, materialised; and the model's row count."""
        spec, differ = self.spec, self.differ
        diff = differ.diff(
            relation=self.prepared.relation,
            model_id=spec.model_id,
            key_columns=spec.primary_key,
            hash_columns=self.prepared.hash_columns,
            fingerprint=spec.fingerprint,
            send_changes=send_changes,
            removal_statuses=removal_statuses,
            # --full-refresh sends every row again, except to insert-only models (that would duplicate).
            send_all=self.full_refresh and spec.mode != "insert",
            carry_over=not self.dry_run,
        )
        self.result.diff = {
            "method": diff.method,
            "row_hash": diff.scheme,
            "hashes_carried_over": diff.rehashed,
        }
        try:
            self._report_key_problems(diff)
            changes = differ.change_table(
                diff,
                key_columns=spec.primary_key,
                hash_columns=self.prepared.hash_columns,
                data_columns=self.prepared.data_columns,
                fingerprint=spec.fingerprint,
                send_changes=send_changes,
            )
            removals = differ.removal_table(diff, statuses=removal_statuses)
        finally:
            differ.drop(diff)
        return (
            changes,
            removals,
            diff.rows if diff.rows is not None else differ.row_count(self.prepared.relation),
        )

    def _report_key_problems(self, diff: Diff) -> None:
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
        table = self.differ.shared_key_table(diff)
        try:
            for page in self.differ.pages(table, PAGE_SIZE):
                outcomes = []
                for row in page:
                    copies = int(row["copies"])
                    message = (
                        f"primary key ({key_name}) = {str(row['row_key'])!r} is shared by {copies} rows; "
                        "none of them is sent"
                    )
                    self.result.add_error(
                        RowError(row_key=str(row["row_key"]), field=key_name, message=message)
                    )
                    outcomes.append(RowOutcome.of_state(row, REJECTED, message=message))
                if self.dry_run:
                    if len(self.result.errors) >= MAX_ROW_ERRORS:
                        break  # a plan records nothing: the rest would only be errors not listed
                else:
                    self.ledger.record_outcomes(self.run_id, spec.model_id, outcomes)
        finally:
            self.differ.drop(table)

    def _count_plan(self, pages: Iterable[tuple[PagePlanner, list[Row]]]) -> None:
        """A plan: each page planned, its functions counted (and a few kept as samples), nothing sent."""
        result = self.result
        for plan_page, page in pages:
            with result.phase("build"):
                planned = plan_page(page)
            if self.capture is not None:
                self._capture(plan_page, page, planned.functions)
            for p in planned.functions:
                result.planned[p.action] += 1
                if p.reposts:  # the changed row's new entry, sent once its reversal is applied
                    result.planned["create"] += 1
                    result.api_transactions += 1
                    if self.capture is None:  # a captured plan's reposts are counted by plan_reposts
                        self._twice(1)
                if self.spec.entity is not None:
                    result.planned_by_entity.setdefault(entity_label(p.entity), Counter())[p.action] += 1
                result.api_transactions += 1
                samples = result.samples.setdefault(p.action, [])
                if len(samples) < SAMPLES_PER_ACTION:
                    samples.append(etree.tostring(p.function.body, encoding="unicode", pretty_print=True))

    def _capture(self, plan_page: PagePlanner, page: list[Row], functions: list[PlannedFunction]) -> None:
        """plan --out: keep the page's functions and its rows' keys (and hashes) for the plan file."""
        assert self.capture is not None
        self.capture.functions.extend(functions)
        reversals = [p for p in functions if p.reposts]
        if reversals:  # a changed entry's new posting, planned now as a sync plans it once reversed
            self.capture.reposts.update(
                (p.row_key, p) for p in self.planner.plan_reposts(reversals).functions
            )
        if plan_page == self.planner.plan_changes:
            self.capture.changes.update((str(r["__key"]), r["__hash"]) for r in page)
        else:
            self.capture.removals.extend(str(r["row_key"]) for r in page)

    def _send_replay(self, functions: Sequence[PlannedFunction], sender: Sender) -> None:
        """sync --plan: send the saved plan's functions, intents first, page by page; a function whose
        answer would need another one (an upsert's create refused as a duplicate, an update of a record
        deleted since) fails its row instead: nothing the plan does not have is sent."""
        self.progress.model_started(self.result, len(functions))
        by_controlid: dict[str, PlannedFunction] = {}

        def batches() -> Iterator[list[Function]]:
            for start in range(0, len(functions), PAGE_SIZE):
                page = list(functions[start : start + PAGE_SIZE])
                sender.record_intents(page)
                by_controlid.update((p.controlid, p) for p in page)
                yield from sender.batches(page)

        follow_ups = sender.deliver(batches(), by_controlid)
        reposts = [
            self.replay_reposts[p.row_key]
            for p in follow_ups
            if p.reposts and p.row_key in self.replay_reposts
        ]
        sender.send(reposts)
        outcomes = []
        for p in follow_ups:
            if p.reposts:
                continue
            message = (
                "Intacct's record changed since the plan was made ("
                + ("a record with this ID exists now" if p.action == CREATE else "the record was deleted")
                + "); the plan's function was not applied and nothing else was sent. A new plan sends what "
                "the row needs now"
            )
            self.result.counts["failed"] += 1
            self.result.add_error(RowError(row_key=p.row_key, field=None, message=message, stage="failed"))
            outcomes.append(
                p.outcome(FAILED, recordno=None, intacct_id=None, line_counts=None, message=message)
            )
        sender.record(outcomes)

    def _send(self, pages: Iterable[tuple[PagePlanner, list[Row]]], sender: Sender) -> None:
        """A sync: every page planned as the sender asks for batches, then the follow-ups sent."""
        by_controlid: dict[str, PlannedFunction] = {}
        follow_ups = sender.deliver(self._batches_of_pages(pages, sender, by_controlid), by_controlid)
        reposts = [p for p in follow_ups if p.reposts]
        if reposts:
            plan = self.planner.plan_reposts(reposts)  # counts each row's second outcome
            sender.record(plan.outcomes)
            sender.send(plan.functions)
        follow_ups = [p for p in follow_ups if not p.reposts]
        # A row matched again may be refused again (its record deleted, then its create a duplicate of a
        # record its entity cannot see): matched once more, it fails with the reason. Three rounds settle
        # every such chain; a row still unsettled after them keeps its open intent for the next run.
        for _ in range(3):
            if not follow_ups:
                break
            rows = self.differ.rows_for_keys(
                self.prepared.relation,
                self.spec.primary_key,
                self.prepared.data_columns,
                sorted({p.row_key for p in follow_ups}),
            )
            plan = self.planner.plan_follow_ups(follow_ups, rows)
            sender.record(plan.outcomes)
            follow_ups = [p for p in sender.send(plan.functions) if not p.reposts]

    def _batches_of_pages(
        self,
        pages: Iterable[tuple[PagePlanner, list[Row]]],
        sender: Sender,
        by_controlid: dict[str, PlannedFunction],
    ) -> Iterator[list[Function]]:
        """Each page's batches; a page's intents are recorded (and committed) before its first batch."""
        for plan_page, page in pages:
            with self.result.phase("build"):
                plan = plan_page(page)
            sender.record(plan.outcomes)
            if not plan.functions:
                continue
            sender.record_intents(plan.functions)
            by_controlid.update((p.controlid, p) for p in plan.functions)
            for p in plan.functions:
                p.function.xml  # noqa: B018 - serialised here, by the thread that plans, not the one that sends
            yield from sender.batches(plan.functions)
