"""One sync at a time per state schema and connection.

Postgres uses a session advisory lock (the server releases it if the process dies); DuckDB's file is
locked by whoever has it open; elsewhere (Spark, the documented dialects) a lock row with a heartbeat
is used. A lock row is dead when its process is gone (a holder on this host, checked as the run history
checks it) or when its heartbeat is older than LOCK_STALE_AFTER (a holder on another host). The holder
refreshes its heartbeat as it writes outcomes, at most every LOCK_REFRESH_EVERY.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from dbt_intacct.state.runs import process_is_gone, this_process
from dbt_intacct.state.tables import LOCKS_TABLE, StateTables, columns_of, now

LOCK_STALE_AFTER = timedelta(minutes=10)
LOCK_REFRESH_EVERY = 60.0  # seconds between two heartbeats of a held lock row


class SyncLocks:
    """Takes and releases the sync locks of one state schema."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables
        self._rows: set[str] = set()  # the locks this process holds by a lock row (not by the warehouse)
        self._refreshed = time.monotonic()

    def try_lock(self, lock_name: str, run_id: str) -> str | None:
        """Take the sync lock; None when taken, else a description of who holds it.

        Postgres uses a session advisory lock; DuckDB's file is locked by whoever has it open; elsewhere
        a lock row with a heartbeat is used (see the module's docstring).
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
        if self.tables.log is not None:
            held_by = self._claim(lock_name, run_id, this_process())
        else:
            held_by = self._take_row(lock_name, run_id)
        if held_by is None:
            self._rows.add(lock_name)
            self._refreshed = time.monotonic()
        return held_by

    def _take_row(self, lock_name: str, run_id: str) -> str | None:
        w = self.tables.warehouse
        stale = now() - LOCK_STALE_AFTER
        where = f"lock_name = {w.literal(lock_name)}"
        found = w.fetch_small(f"select run_id, holder from {self.tables.locks} where {where}")
        dead = [w.literal(str(r[0])) for r in found if process_is_gone(str(r[1]))]
        w.execute(
            f"delete from {self.tables.locks} where {where} and (heartbeat_at < {w.literal(stale)}"
            + (f" or run_id in ({', '.join(dead)}))" if dead else ")")
        )
        rows = w.fetch_small(f"select run_id, holder, heartbeat_at from {self.tables.locks} where {where}")
        if rows:
            other_run, other_holder, heartbeat = rows[0]
            w.commit()
            return f"run {other_run} on {other_holder} (last heartbeat {heartbeat})"
        columns = list(columns_of(LOCKS_TABLE))
        w.insert_rows(self.tables.locks, columns, [(lock_name, run_id, this_process(), now())])
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

    def _claim(self, lock_name: str, run_id: str, holder: str) -> str | None:
        """Append mode: claim rows, never deleted. A run that sees no live claim of another inserts its
        claim and commits, waits CLAIM_SETTLE, then reads back the live claims: the earliest (claimed at,
        then run id) holds the lock, and a loser releases its claim (a tombstone). Two racing runs both
        see both claims once both are committed, and agree on the earliest; the wait covers a claim
        stamped earlier but committed later than another run's read-back (milliseconds apart; the wait
        is seconds). A claim older than LOCK_STALE_AFTER, or whose process is gone, is ignored (its run
        died)."""
        other = self.live_claim(lock_name, run_id)
        if other is not None:
            return other
        self.insert_claim(lock_name, run_id, holder)
        time.sleep(self.CLAIM_SETTLE)
        winner = self.earliest_claim(lock_name)
        if winner is not None and winner != run_id:
            self.unlock(lock_name, run_id)
            return f"run {winner}"
        return None

    CLAIM_SETTLE = 2.0  # seconds between inserting a claim and reading back which claim won

    def _claims_sql(self, lock_name: str) -> str:
        w = self.tables.warehouse
        return (
            f"select run_id, holder, heartbeat_at from {self.tables.locks} "
            f"where lock_name = {w.literal(lock_name)} "
            f"and heartbeat_at >= {w.literal(now() - LOCK_STALE_AFTER)} order by heartbeat_at, run_id"
        )

    def _live_claims(self, lock_name: str) -> list[tuple[Any, ...]]:
        """The claims of the lock younger than LOCK_STALE_AFTER whose process is not known to be gone,
        earliest first."""
        w = self.tables.warehouse
        rows = [r for r in w.fetch_small(self._claims_sql(lock_name)) if not process_is_gone(str(r[1]))]
        w.commit()
        return rows

    def live_claim(self, lock_name: str, run_id: str) -> str | None:
        """Who holds the lock by a live claim other than `run_id`'s; None: nobody."""
        rows = [r for r in self._live_claims(lock_name) if str(r[0]) != run_id]
        if not rows:
            return None
        other_run, other_holder, heartbeat = rows[0]
        return f"run {other_run} on {other_holder} (last heartbeat {heartbeat})"

    def insert_claim(self, lock_name: str, run_id: str, holder: str) -> None:
        assert self.tables.log is not None
        self.tables.log.append(
            LOCKS_TABLE, list(columns_of(LOCKS_TABLE)), [(lock_name, run_id, holder, now())]
        )
        self.tables.warehouse.commit()

    def earliest_claim(self, lock_name: str) -> str | None:
        """The run of the earliest live claim of the lock: the one that holds it."""
        rows = self._live_claims(lock_name)
        return str(rows[0][0]) if rows else None

    def refresh(self, lock_names: Sequence[str], run_id: str) -> None:
        """Renew the heartbeat of the lock rows this run holds, at most every LOCK_REFRESH_EVERY: a
        run longer than LOCK_STALE_AFTER keeps its lock against syncs on other hosts."""
        held = [name for name in lock_names if name in self._rows]
        if not held or time.monotonic() - self._refreshed < LOCK_REFRESH_EVERY:
            return
        w = self.tables.warehouse
        names = ", ".join(w.literal(name) for name in held)
        where = f"lock_name in ({names}) and run_id = {w.literal(run_id)}"
        if self.tables.log is not None:
            self.tables.log.change(LOCKS_TABLE, where, {"heartbeat_at": now()})
        else:
            w.execute(f"update {self.tables.locks} set heartbeat_at = {w.literal(now())} where {where}")
        w.commit()
        self._refreshed = time.monotonic()

    def unlock(self, lock_name: str, run_id: str) -> None:
        self._rows.discard(lock_name)
        w = self.tables.warehouse
        w.fetch_small(w.render("dbt_intacct__unlock_sql", lock_literal=w.literal(lock_name)))
        if self.tables.log is not None:  # append mode: a tombstone of the claim
            where = f"lock_name = {w.literal(lock_name)} and run_id = {w.literal(run_id)}"
            self.tables.log.change(LOCKS_TABLE, where, {}, tombstone=True)
        elif w.relation_exists(self.tables.locks):
            w.execute(
                f"delete from {self.tables.locks} where lock_name = {w.literal(lock_name)} "
                f"and run_id = {w.literal(run_id)}"
            )
        w.commit()
