"""What this process sets in dbt before it calls dbt: thread locks (`locks`) and behaviour flags named
without a stack walk (`behavior`). Called before dbt's modules are imported: they take a lock factory at
import."""

from __future__ import annotations

from dbt_intacct.dbt.behavior import quick_flag_sources
from dbt_intacct.dbt.locks import use_thread_locks


def prepare_dbt() -> None:
    """Idempotent; for every later dbt call in this process."""
    use_thread_locks()
    quick_flag_sources()
