"""The state the tool keeps in the user's warehouse: one module per part of it.

- `tables`: the tables' names, columns and statuses; `StateTables` creates them.
- `diff`: a model compared with its state (change set, removals, shared keys), in the warehouse.
- `ledger`: each row's state and the append-only ledger of intents and outcomes.
- `runs`: the history of runs, model results and API calls.
- `locks`: one sync at a time per state schema and connection.
"""

from dbt_intacct.state.diff import ChangeTable, Diff, Differ, KeyProblems
from dbt_intacct.state.ledger import Intent, Ledger, RowOutcome
from dbt_intacct.state.locks import SyncLocks
from dbt_intacct.state.runs import RunLog
from dbt_intacct.state.tables import StateTables, default_state_schema

__all__ = [
    "ChangeTable",
    "Diff",
    "Differ",
    "Intent",
    "KeyProblems",
    "Ledger",
    "RowOutcome",
    "RunLog",
    "StateTables",
    "SyncLocks",
    "default_state_schema",
]
