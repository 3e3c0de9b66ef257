"""What each alert last announced, per target (`intacct_alert_state`): the memory that makes alerts fire
once per change of state, not once per run."""

from __future__ import annotations

from collections.abc import Mapping

from dbt_intacct.state.tables import ALERT_STATE_TABLE, StateTables, columns_of, now


def load_states(tables: StateTables, target: str) -> dict[str, str]:
    """The state each alert of `target` last announced, by alert name."""
    w = tables.warehouse
    rows = w.fetch_small(f"select alert, state from {tables.alert_state} where target = {w.literal(target)}")
    return {str(alert): str(state) for alert, state in rows}


def save_states(tables: StateTables, target: str, run_id: str, states: Mapping[str, str]) -> None:
    """Replace the announced states of the given alerts of `target`, and commit."""
    if not states:
        return
    w = tables.warehouse
    names = ", ".join(w.literal(name) for name in states)
    if tables.log is not None:  # append mode: the latest row per (target, alert) is its state
        rows = [(target, name, state, run_id, now()) for name, state in states.items()]
        tables.log.append(ALERT_STATE_TABLE, list(columns_of(ALERT_STATE_TABLE)), rows)
        w.commit()
        return
    w.execute(f"delete from {tables.alert_state} where target = {w.literal(target)} and alert in ({names})")
    written_at = now()
    w.insert_rows(
        tables.alert_state,
        list(columns_of(ALERT_STATE_TABLE)),
        [(target, name, state, run_id, written_at) for name, state in states.items()],
    )
    w.commit()
