"""Making a saved plan (`plan --out`) and checking one before it is applied (`sync --plan`).

A plan is applied only to the inputs it was computed from: the same target and state schema, the same
meta.intacct blocks, the same rows (each model's row count and checksum of its rows' keys and hashes)
and the same state. Anything else sends nothing and exits 2, saying which model changed and how many of
its rows. A plan a run has applied already is not applied again (exit 0, nothing sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from dbt_intacct.dbt.manifest import ManifestModel
from dbt_intacct.errors import ConfigError, DbtIntacctError
from dbt_intacct.results import ModelResult
from dbt_intacct.state import Differ, RunLog, StateTables
from dbt_intacct.state.fingerprint import Fingerprint, fingerprint
from dbt_intacct.state.tables import FAILED, OK, REJECTED
from dbt_intacct.sync.model import PreparedModel
from dbt_intacct.sync.plan_file import PlanCapture, PlannedModel, SavedPlan, encode_function
from dbt_intacct.sync.sending import PAGE_SIZE

_ABSENT = object()


class PlanRefused(ConfigError):
    """The saved plan does not fit the project, the rows or the state any more: nothing is sent."""


class PlanAppliedAlready(DbtIntacctError):
    """A run has applied this saved plan already: nothing is sent (exit 0)."""


def model_fingerprint(tables: StateTables, model: PreparedModel) -> Fingerprint:
    spec = model.spec
    return fingerprint(
        tables,
        relation=model.relation,
        model_id=spec.model_id,
        key_columns=spec.primary_key,
        hash_columns=model.hash_columns,
        spec_fingerprint=spec.fingerprint,
    )


def planned_model(
    model: PreparedModel, result: ModelResult, taken: Fingerprint, capture: PlanCapture
) -> PlannedModel:
    """One model of a plan being written, from its plan's result and what was captured."""
    counts = {action: n for action, n in result.planned.items() if n}
    counts.update(
        {k: result.counts[k] for k in ("unchanged", "rejected", "failed", "adopted") if result.counts[k]}
    )
    return PlannedModel(
        unique_id=model.spec.model_id,
        name=model.spec.name,
        object=model.spec.object.name,
        mode=model.spec.mode,
        connection=model.spec.connection,
        spec_fingerprint=model.spec.fingerprint,
        fingerprint=taken,
        status=result.status,
        message=result.message,
        counts=counts,
        api_transactions=result.api_transactions,
        errors=[e.__dict__ for e in result.errors],
        changes=capture.changes,
        removals=capture.removals,
    )


def new_plan(
    *,
    target: str,
    state_schema: str,
    allow_large_changes: bool,
    full_refresh: bool,
    models: list[PlannedModel],
    captures: dict[str, PlanCapture],
) -> SavedPlan:
    functions = []
    for m in models:
        capture = captures[m.unique_id]
        for p in capture.functions:
            functions.append(encode_function(m.unique_id, m.object, p))
            if p.reposts and p.row_key in capture.reposts:
                repost = capture.reposts[p.row_key]
                functions.append(encode_function(m.unique_id, m.object, repost, after=p.controlid))
    return SavedPlan(
        target=target,
        state_schema=state_schema,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        allow_large_changes=allow_large_changes,
        full_refresh=full_refresh,
        models=models,
        functions=functions,
    )


def refuse_open_intents(tables: StateTables, prepared: Sequence[PreparedModel]) -> None:
    """A plan to save cannot say what functions still without an answer became: settle them first."""
    from dbt_intacct.state import Ledger

    ledger = Ledger(tables)
    for model in prepared:
        pending = sum(ledger.pending_by_entity(model.spec.model_id).values())
        if pending:
            raise PlanRefused(
                f"model '{model.spec.name}' has {pending} function(s) sent without a recorded answer; a "
                "saved plan cannot say what they became. Run `dbt-intacct sync` (it settles them first), "
                "then make the plan. No plan was written"
            )


def check_before_apply(
    plan: SavedPlan, tables: StateTables, runs: RunLog, prepared: Sequence[PreparedModel], target: str
) -> None:
    """Raise PlanAppliedAlready or PlanRefused unless the plan applies to exactly what it was made from."""
    if target != plan.target or tables.schema != plan.state_schema:
        raise PlanRefused(
            f"the plan was made for target '{plan.target}' (state schema {plan.state_schema}), not "
            f"'{target}' ({tables.schema}); nothing was sent"
        )
    applied = runs.runs_of_plan(plan.checksum)
    done = [run_id for run_id, status in applied if status == "success"]
    if done:
        raise PlanAppliedAlready(
            f"this plan was applied already by run {done[0]}; nothing was sent. Make a new plan for what "
            "changed since"
        )
    by_id = {p.spec.model_id: p for p in prepared}
    problems: list[str] = []
    for planned in plan.models:
        model = by_id[planned.unique_id]
        if model.spec.fingerprint != planned.spec_fingerprint:
            problems.append(f"model '{planned.name}': its meta.intacct block changed since the plan was made")
            continue
        now = model_fingerprint(tables, model)
        then = planned.fingerprint
        if now.state_rows != then.state_rows or now.state_checksum != then.state_checksum:
            earlier = ", ".join(r for r, _ in applied)
            problems.append(
                f"model '{planned.name}': its state changed since the plan was made ({then.state_rows} state "
                f"row(s) then, {now.state_rows} now)"
                + (f"; run(s) {earlier} applied this plan already" if applied else "")
            )
        elif now.rows != then.rows or now.rows_checksum != then.rows_checksum:
            changed = changed_rows(tables, model, planned, plan.full_refresh)
            problems.append(
                f"model '{planned.name}': {changed} row(s) changed since the plan was made "
                f"({then.rows} row(s) then, {now.rows} now)"
            )
    if problems:
        raise PlanRefused(
            "the plan no longer matches what it was made from; nothing was sent. Make a new plan "
            "(`dbt-intacct plan --out`) and review it again:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def changed_rows(tables: StateTables, model: PreparedModel, planned: PlannedModel, full_refresh: bool) -> int:
    """How many rows would be sent differently now than the plan says: the model's change set and
    removals now, compared with the plan's (a row new, gone, or with another hash)."""
    spec, differ = model.spec, Differ(tables)
    removal_statuses = [OK, FAILED, REJECTED] if spec.delete in {"clear", "delete"} else []
    send_changes = True  # as a sync diffs: insert-only models' changed rows are found (and not sent)
    diff = differ.diff(
        relation=model.relation,
        model_id=spec.model_id,
        key_columns=spec.primary_key,
        hash_columns=model.hash_columns,
        fingerprint=spec.fingerprint,
        send_changes=send_changes,
        removal_statuses=removal_statuses,
        send_all=full_refresh and spec.mode != "insert",
    )
    changes = removals = None
    try:
        changes = differ.change_table(
            diff,
            key_columns=spec.primary_key,
            hash_columns=model.hash_columns,
            data_columns=spec.primary_key,
            fingerprint=spec.fingerprint,
            send_changes=send_changes,
        )
        removals = differ.removal_table(diff, statuses=removal_statuses)
        now: dict[str, object] = {}
        for page in differ.pages(changes, PAGE_SIZE):
            now.update((str(r["__key"]), r["__hash"]) for r in page)
        gone = {str(r["row_key"]) for page in differ.pages(removals, PAGE_SIZE) for r in page}
    finally:
        for table in (changes, removals, diff):
            if table is not None:
                differ.drop(table)
    keys = set(now) | set(planned.changes)
    differ_count = sum(1 for k in keys if now.get(k, _ABSENT) != planned.changes.get(k, _ABSENT))
    return differ_count + len(gone ^ set(planned.removals))


def models_of_plan(plan: SavedPlan, every: Sequence[ManifestModel]) -> list[ManifestModel]:
    """The project's models the plan has, in the plan's order; each must still have its intacct block."""
    by_id = {m.unique_id: m for m in every}
    missing = [m.name for m in plan.models if m.unique_id not in by_id]
    if missing:
        raise PlanRefused(
            f"the plan's model(s) {', '.join(missing)} are no longer in the project with a meta.intacct "
            "block; nothing was sent"
        )
    return [by_id[m.unique_id] for m in plan.models]


def held_in_plan(plan: SavedPlan, model_id: str) -> ModelResult | None:
    """A model the plan holds (nothing of it in the plan): its result, as the plan said it."""
    for m in plan.models:
        if m.unique_id == model_id and m.status == "held":
            return ModelResult(
                unique_id=m.unique_id,
                name=m.name,
                object=m.object,
                mode=m.mode,
                status="held",
                message=m.message,
            )
    return None
