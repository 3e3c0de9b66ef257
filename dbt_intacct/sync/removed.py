"""Models that left the project (or lost their `meta.intacct`) while their state tracks Intacct records.

Such a model is never dropped silently: nothing is deleted in Intacct for it (its rows did not leave a
model, the model itself went), and every `plan` and `sync` names it with its record count until it is
restored or forgotten. `dbt-intacct forget MODEL` drops its state, on the user's word; the ledger keeps
its history.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from dbt_intacct.errors import ConfigError
from dbt_intacct.state.locks import SyncLocks
from dbt_intacct.state.models import TrackedModel, forget_model, tracked_models
from dbt_intacct.state.runs import RunLog
from dbt_intacct.state.tables import StateTables


def removed_models(tables: StateTables, project_models: Collection[str]) -> list[TrackedModel]:
    """Models whose state tracks records in Intacct (or open intents) but that are not among
    `project_models` (the unique_ids of every model of the project with an intacct block)."""
    return [
        model
        for model in tracked_models(tables)
        if model.model_id not in project_models and (model.records or model.pending)
    ]


def removed_warning(model: TrackedModel) -> str:
    """What `plan` and `sync` say about a removed model."""
    pending = f" and {model.pending} function(s) without a recorded answer" if model.pending else ""
    return (
        f"model '{model.name}' ({model.model_id}) is no longer in the project with a meta.intacct block, "
        f"but the state tracks {model.records} record(s) of it in Intacct{pending}. Nothing is deleted "
        f"in Intacct for it. Restore the model, or run `dbt-intacct forget {model.name}` to drop its state."
    )


def model_to_forget(
    tables: StateTables, wanted: str, project_models: Collection[str], *, force: bool
) -> TrackedModel:
    """The tracked model `wanted` names (its name or unique_id), checked: raises ConfigError (nothing
    forgotten) when the state has no such model, the name is ambiguous, the model is still in the
    project, or it has open intents and `force` is not given."""
    tracked = tracked_models(tables)
    found = [m for m in tracked if wanted in (m.model_id, m.name)]
    if not found:
        known = ", ".join(m.name for m in tracked) or "none"
        raise ConfigError(
            f"the state in schema {tables.schema} has no model '{wanted}' (models with state: {known}); "
            "nothing was forgotten"
        )
    if len(found) > 1:
        ids = ", ".join(m.model_id for m in found)
        raise ConfigError(f"'{wanted}' names several models ({ids}): give its unique_id")
    model = found[0]
    if model.model_id in project_models:
        raise ConfigError(
            f"model '{model.name}' is still in the project with a meta.intacct block; forgetting its state "
            "would have the next sync treat every row as new. Remove the model (or its meta.intacct) and "
            "run `dbt build` or `dbt parse` first; nothing was forgotten"
        )
    if model.pending and not force:
        raise ConfigError(
            f"model '{model.name}' has {model.pending} function(s) sent without a recorded answer: Intacct "
            "may have applied them, and only the state can settle them. Run `dbt-intacct sync` with the "
            "model restored to settle them, or pass --force to forget them unsettled; nothing was forgotten"
        )
    return model


def forget(tables: StateTables, model: TrackedModel, *, target: str, connections: Sequence[str]) -> str:
    """Drop a model's state under the sync locks of `connections`, as a `forget` run; returns the run id."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    locks = SyncLocks(tables)
    taken: list[str] = []
    try:
        for connection in sorted(set(connections)):
            name = f"dbt-intacct/{tables.schema}/{connection}"
            holder = locks.try_lock(name, run_id)
            if holder is not None:
                raise ConfigError(
                    f"a dbt-intacct sync is running against state schema {tables.schema} ({holder}); "
                    "nothing was forgotten. Try again when it has finished"
                )
            taken.append(name)
        runs = RunLog(tables)
        runs.start_run(run_id, "forget", target)
        rows = forget_model(tables, model.model_id, run_id)
        runs.finish_run(run_id, "success", f"forgot model {model.model_id}: {rows} state row(s)")
    finally:
        for name in taken:
            locks.unlock(name, run_id)
    return run_id
