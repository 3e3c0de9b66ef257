"""One sync at a time per state schema and connection.

Postgres uses a session advisory lock (the server releases it if the process dies); DuckDB's file is
locked by whoever has it open; elsewhere a lock row with a heartbeat is used, taken over when it is
older than LOCK_STALE_AFTER.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from dbt_intacct.state.tables import LOCKS_TABLE, StateTables, columns_of, now

LOCK_STALE_AFTER = timedelta(minutes=10)


class SyncLocks:
    """Takes and releases the sync locks of one state schema."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables

    def try_lock(self, lock_name: str, run_id: str) -> str | None:
        """Take the sync lock; None when taken, else a description of who holds it.

        Postgres uses a session advisory lock (the server releases it if this process dies); DuckDB's file
        is locked by whoever has it open; elsewhere a lock row with a heartbeat is used, taken over when it
        is older than LOCK_STALE_AFTER.
        """
        w = self.tables.warehouse
        rows = w.fetch_small(w.render("dbt_intacct__try_lock_sql", lock_literal=w.literal(lock_name)))
        taken = rows[0][0] if rows else None
        w.commit()
        if taken is True:
            return None
        if taken is False:
            return "another dbt-intacct sync holds the lock (a Postgres advisory lock)"
        return self._try_lock_row(lock_name, run_id)

    def _try_lock_row(self, lock_name: str, run_id: str) -> str | None:
        w = self.tables.warehouse
        holder = f"{socket.gethostname()}:{os.getpid()}"
        stale = now() - LOCK_STALE_AFTER
        w.execute(
            f"delete from {self.tables.locks} where lock_name = {w.literal(lock_name)} "
            f"and heartbeat_at < {w.literal(stale)}"
        )
        rows = w.fetch_small(
            f"select run_id, holder, heartbeat_at from {self.tables.locks} "
            f"where lock_name = {w.literal(lock_name)}"
        )
        if rows:
            other_run, other_holder, heartbeat = rows[0]
            w.commit()
            return f"run {other_run} on {other_holder} (last heartbeat {heartbeat})"
        columns = list(columns_of(LOCKS_TABLE))
        w.insert_rows(self.tables.locks, columns, [(lock_name, run_id, holder, now())])
        w.commit()
        # Two runs may have inserted at once: the earliest row wins.
        rows = w.fetch_small(
            f"select run_id from {self.tables.locks} where lock_name = {w.literal(lock_name)} "
            "order by heartbeat_at, run_id"
        )
        if rows and str(rows[0][0]) != run_id:
            self.unlock(lock_name, run_id)
            return f"run {rows[0][0]}"
        return None

    def unlock(self, lock_name: str, run_id: str) -> None:
        w = self.tables.warehouse
        w.fetch_small(w.render("dbt_intacct__unlock_sql", lock_literal=w.literal(lock_name)))
        if w.relation_exists(self.tables.locks):
            w.execute(
                f"delete from {self.tables.locks} where lock_name = {w.literal(lock_name)} "
                f"and run_id = {w.literal(run_id)}"
            )
        w.commit()
