"""The models the state knows, and forgetting one.

A model that leaves the project (or loses its `meta.intacct`) keeps its state: its records are still in
Intacct, and nothing is ever deleted there for a model that is simply gone. `tracked_models` lists what
the state holds per model so that `plan` and `sync` can warn about such models; `forget_model` is the
one place a model's state is dropped, on the user's word (`dbt-intacct forget`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dbt_intacct.state.tables import DELETED, DROPPED, PENDING, STATE_TABLE, StateTables, now

FORGOTTEN = "forgotten"  # the ledger event (and status) of a state row dropped by `forget`


@dataclass(frozen=True)
class TrackedModel:
    """What the state holds for one model."""

    model_id: str
    rows: int  # state rows, whatever their status
    records: int  # rows whose record is in Intacct (a RECORDNO or ID, neither deleted nor dropped)
    pending: int  # rows whose last function was sent without a recorded answer

    @property
    def name(self) -> str:
        """The model's name: the last part of its unique_id (`model.<package>.<name>`)."""
        return self.model_id.rsplit(".", 1)[-1]


def tracked_models(tables: StateTables) -> list[TrackedModel]:
    """Every model with state rows, in unique_id order (one grouped query over the state)."""
    w = tables.warehouse
    gone = ", ".join(w.literal(s) for s in (DELETED, DROPPED))
    sql = (
        "select model_id, count(*), "
        f"sum(case when status not in ({gone}) and (recordno is not null or intacct_id is not null) "
        "then 1 else 0 end), "
        f"sum(case when status = {w.literal(PENDING)} then 1 else 0 end) "
        f"from {tables.state} group by model_id order by model_id"
    )
    return [
        TrackedModel(str(model_id), int(rows), int(records or 0), int(pending or 0))
        for model_id, rows, records, pending in w.fetch_small(sql, 100_000)
    ]


def tracked_records(tables: StateTables, model_id: str) -> int:
    """How many records in Intacct the state tracks for one model (as `TrackedModel.records`)."""
    w = tables.warehouse
    gone = ", ".join(w.literal(s) for s in (DELETED, DROPPED))
    rows = w.fetch_small(
        f"select count(*) from {tables.state} where model_id = {w.literal(model_id)} "
        f"and status not in ({gone}) and (recordno is not null or intacct_id is not null)"
    )
    return int(rows[0][0] or 0) if rows else 0


def forget_model(tables: StateTables, model_id: str, run_id: str) -> int:
    """Drop a model's state; returns how many rows it had.

    Each state row is first copied into the append-only ledger as a `forgotten` event (its status,
    RECORDNO, ID and last controlid kept), then the state rows are deleted, in one transaction: the
    ledger keeps the model's whole history. This is the only statement that removes a model's state.
    """
    w = tables.warehouse
    model = w.literal(model_id)
    count = w.fetch_small(f"select count(*) from {tables.state} where model_id = {model}")
    rows = int(count[0][0]) if count else 0
    if not rows:
        return 0
    message = w.literal("forgotten by `dbt-intacct forget`: the record in Intacct was left as it is")
    w.execute(
        f"insert into {tables.ledger} (run_id, model_id, row_key, row_hash, event, action, status, "
        "controlid, recordno, intacct_id, errorno, message, payload, recorded_at) "
        f"select {w.literal(run_id)}, model_id, row_key, row_hash, {w.literal(FORGOTTEN)}, action, status, "
        f"controlid, recordno, intacct_id, errorno, {message}, null, {w.literal(now())} "
        f"from {tables.state} where model_id = {model}"
    )
    if tables.log is not None:  # append mode: a tombstone per row
        tables.log.change(STATE_TABLE, f"model_id = {model}", {}, tombstone=True)
    else:
        w.execute(f"delete from {tables.state} where model_id = {model}")
    w.commit()
    return rows
