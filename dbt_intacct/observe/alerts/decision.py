"""Which alerts a finished run sets off: a pure function of the rules, the run and each rule's last state.

Each rule is in one of three states, kept by the caller between runs (a warehouse table):

- ``ok``: nothing to report;
- ``failing``: the run failed as a whole, or a model the rule watches ended in error;
- ``rejecting``: rows rejected or failed in the watched models reached the rule's threshold.

A notice goes out only when a rule's state changes, so a failure that lasts ten runs is announced once,
and its end once (``recovery``). A rule only enters a state whose event it subscribes to: a rule without
``failure`` in ``on`` treats a failed run as no news (a failed run is no evidence of recovery either),
and a rule without ``rejected_rows`` treats rejected rows as ``ok``. Moving back to ``ok`` always updates
the state; it is announced when the rule subscribes to ``recovery``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dbt_intacct.observe.alerts.rules import AlertRule, Event
from dbt_intacct.observe.history import ModelRecord, RunDetail

State = Literal["ok", "failing", "rejecting"]
STATES: tuple[State, ...] = ("ok", "failing", "rejecting")
MAX_FIRST_ERRORS = 5
COUNTS = ("created", "updated", "cleared", "deleted", "unchanged", "rejected", "failed", "pending")
PROBLEM_ROW_STATUSES = frozenset({"rejected", "failed"})
_EVENT_OF_STATE: dict[State, Event] = {"failing": "failure", "rejecting": "rejected_rows", "ok": "recovery"}


@dataclass(frozen=True)
class ModelSummary:
    """One watched model's result, as the notice reports it."""

    name: str
    unique_id: str
    object: str
    mode: str
    status: str
    message: str | None
    counts: tuple[tuple[str, int], ...]  # (name, count) in COUNTS order

    @property
    def problem_rows(self) -> int:
        """Rows rejected before sending plus rows Intacct refused."""
        counts = dict(self.counts)
        return counts["rejected"] + counts["failed"]


@dataclass(frozen=True)
class FirstError:
    """One of the first errors of the run: run-wide (no model), a model's, or a row's."""

    model: str | None
    row_key: str | None
    errorno: str | None
    message: str


@dataclass(frozen=True)
class Notification:
    """One notice to send through one rule's channel, with everything its message needs."""

    rule: AlertRule
    event: Event
    state: State
    previous_state: State
    run_id: str
    command: str
    target: str
    run_status: str
    started_at: datetime
    finished_at: datetime | None
    run_message: str | None
    models: tuple[ModelSummary, ...]
    problem_rows: int
    first_errors: tuple[FirstError, ...]

    @property
    def show_command(self) -> str:
        """The command that shows this run in full."""
        return f"dbt-intacct show {self.run_id}"


@dataclass(frozen=True)
class AlertDecision:
    """The notices to send and every rule's state after the run (persist them all, sent or not)."""

    notifications: tuple[Notification, ...]
    states: Mapping[str, State]


def decide(rules: Sequence[AlertRule], run: RunDetail, previous_states: Mapping[str, str]) -> AlertDecision:
    """Work out the notices a finished run sets off and each rule's new state.

    ``previous_states`` maps rule names to the states this function returned last time; a rule missing
    from it (new, or never run) starts from ``ok``. A run still ``running`` changes nothing.
    """
    before = {rule.name: _known_state(previous_states.get(rule.name)) for rule in rules}
    if run.run.status == "running":
        return AlertDecision(notifications=(), states=before)
    notifications: list[Notification] = []
    states: dict[str, State] = {}
    for rule in rules:
        previous = before[rule.name]
        state = _next_state(rule, run, previous)
        states[rule.name] = state
        if state == previous:
            continue
        event = _EVENT_OF_STATE[state]
        if event in rule.on:
            notifications.append(_notification(rule, run, event, state, previous))
    return AlertDecision(notifications=tuple(notifications), states=states)


def _known_state(value: str | None) -> State:
    for state in STATES:
        if value == state:
            return state
    return "ok"


def _run_wide_failure(run: RunDetail) -> bool:
    return run.run.status == "error" and run.run.message is not None


def _watched(rule: AlertRule, run: RunDetail) -> list[ModelRecord]:
    return [model for model in run.run.models if rule.watches(model.name)]


def _next_state(rule: AlertRule, run: RunDetail, previous: State) -> State:
    watched = _watched(rule, run)
    run_wide = _run_wide_failure(run)
    if rule.models is not None and not watched and not run_wide:
        return previous  # this run did not touch the rule's models
    failing = run_wide or any(model.status == "error" for model in watched)
    over_threshold = sum(model.rejected + model.failed for model in watched) >= rule.rejected_rows_threshold
    if failing:
        if "failure" in rule.on:
            return "failing"
        if over_threshold and "rejected_rows" in rule.on:
            return "rejecting"
        return previous
    if over_threshold and "rejected_rows" in rule.on:
        return "rejecting"
    return "ok"


def _notification(
    rule: AlertRule, run: RunDetail, event: Event, state: State, previous: State
) -> Notification:
    watched = _watched(rule, run)
    record = run.run
    return Notification(
        rule=rule,
        event=event,
        state=state,
        previous_state=previous,
        run_id=record.run_id,
        command=record.command,
        target=record.target,
        run_status=record.status,
        started_at=record.started_at,
        finished_at=record.finished_at,
        run_message=record.message,
        models=tuple(_summary(model) for model in watched),
        problem_rows=sum(model.rejected + model.failed for model in watched),
        first_errors=_first_errors(run, watched),
    )


def _summary(model: ModelRecord) -> ModelSummary:
    values = (
        model.created,
        model.updated,
        model.cleared,
        model.deleted,
        model.unchanged,
        model.rejected,
        model.failed,
        model.pending,
    )
    return ModelSummary(
        name=model.name,
        unique_id=model.unique_id,
        object=model.object,
        mode=model.mode,
        status=model.status,
        message=model.message,
        counts=tuple(zip(COUNTS, values, strict=True)),
    )


def _first_errors(run: RunDetail, watched: Sequence[ModelRecord]) -> tuple[FirstError, ...]:
    """Run-wide error first, then models' errors, then rows', at most MAX_FIRST_ERRORS."""
    errors: list[FirstError] = []
    if _run_wide_failure(run) and run.run.message:
        errors.append(FirstError(model=None, row_key=None, errorno=None, message=run.run.message))
    errors += [
        FirstError(model=model.name, row_key=None, errorno=None, message=model.message)
        for model in watched
        if model.status == "error" and model.message
    ]
    names = {model.unique_id: model.name for model in watched}
    for row in run.rows:
        if len(errors) >= MAX_FIRST_ERRORS:
            break
        if row.status in PROBLEM_ROW_STATUSES and row.model_id in names:
            errors.append(
                FirstError(
                    model=names[row.model_id],
                    row_key=row.row_key,
                    errorno=row.errorno,
                    message=row.message or row.status,
                )
            )
    return tuple(errors[:MAX_FIRST_ERRORS])
