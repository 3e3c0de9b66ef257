"""The emulator's committed state in SQLite: records, counters, completed control IDs and sessions.

With a data directory the database is a file in WAL mode, and every request is one SQLite
transaction committed before its response is written, so a SIGKILL at any instant loses nothing
that was answered. Without one it lives in memory. One connection serves every thread, behind a lock.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dbt_intacct.emulator.fields import Record

DATABASE_FILE = "emulator.sqlite3"
FIRST_RECORDNO = 100
_LARGEST_KEY = 2**63 - 1  # SQLite's INTEGER; a larger RECORDNO names no record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    object TEXT NOT NULL,
    recordno INTEGER NOT NULL,
    natural_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (object, recordno)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_natural_id ON records (object, natural_id)
    WHERE natural_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_recordno ON records (recordno);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS completed_functions (controlid TEXT PRIMARY KEY, completed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    userid TEXT NOT NULL,
    companyid TEXT NOT NULL,
    locationid TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Session:
    """An API session as the gateway remembers it (the ID itself is never stored, only its hash)."""

    userid: str
    companyid: str
    locationid: str
    expires_at: float


def _token_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Store:
    """SQLite-backed state. Call its methods inside ``transaction()`` while holding ``lock``."""

    def __init__(self, data_dir: Path | None) -> None:
        self.lock = threading.RLock()
        self.path = data_dir / DATABASE_FILE if data_dir is not None else None
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(self.path) if self.path else ":memory:", check_same_thread=False, isolation_level=None
        )
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode never loses a committed transaction when the process dies (SIGKILL);
            # only an operating-system crash could drop the last commits, which the emulator accepts.
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # Parsed records by (object, recordno), so reads do not decode JSON again; dropped on rollback.
        self._cache: dict[tuple[str, int], Record] = {}
        self._savepoints = 0

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One request's transaction: committed when the block ends, rolled back if it raises."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._cache.clear()
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit (one function, or one transactional operation) that can be undone alone."""
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
            self._cache.clear()
            raise
        finally:
            self._savepoints -= 1
        self._db.execute(f"RELEASE {name}")

    def next_value(self, sequence: str, first: int) -> int:
        """The next number of a named sequence, starting at ``first``."""
        row = self._db.execute(
            "INSERT INTO sequences (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (sequence, first),
        ).fetchone()
        return int(row[0])

    def next_recordno(self) -> int:
        """A new RECORDNO; one sequence for every object, so a key of one object never names another."""
        return self.next_value("recordno", FIRST_RECORDNO)

    def insert(self, object_name: str, recordno: int, natural_id: str | None, record: Record) -> None:
        """Store a new record (the caller has checked the natural ID is free)."""
        self._db.execute(
            "INSERT INTO records (object, recordno, natural_id, body) VALUES (?, ?, ?, ?)",
            (object_name, recordno, natural_id, json.dumps(record, separators=(",", ":"))),
        )
        self._cache[(object_name, recordno)] = record

    def replace(self, object_name: str, recordno: int, natural_id: str | None, record: Record) -> None:
        """Overwrite a stored record."""
        self._db.execute(
            "UPDATE records SET natural_id = ?, body = ? WHERE object = ? AND recordno = ?",
            (natural_id, json.dumps(record, separators=(",", ":")), object_name, recordno),
        )
        self._cache[(object_name, recordno)] = record

    def delete(self, object_name: str, recordno: int) -> bool:
        """Remove a record; False when there was none."""
        if not 0 <= recordno <= _LARGEST_KEY:
            return False
        self._cache.pop((object_name, recordno), None)
        cursor = self._db.execute(
            "DELETE FROM records WHERE object = ? AND recordno = ?", (object_name, recordno)
        )
        return cursor.rowcount > 0

    def _decode(self, object_name: str, recordno: int, body: str) -> Record:
        cached = self._cache.get((object_name, recordno))
        if cached is None:
            cached = json.loads(body)
            self._cache[(object_name, recordno)] = cached
        return cached

    def get(self, object_name: str, recordno: int) -> Record | None:
        """A record by RECORDNO. Treat the result as read-only: it may be shared."""
        if not 0 <= recordno <= _LARGEST_KEY:
            return None
        cached = self._cache.get((object_name, recordno))
        if cached is not None:
            return cached
        row = self._db.execute(
            "SELECT body FROM records WHERE object = ? AND recordno = ?", (object_name, recordno)
        ).fetchone()
        return self._decode(object_name, recordno, row[0]) if row else None

    def get_by_natural_id(self, object_name: str, natural_id: str) -> Record | None:
        """A record by its natural ID (CUSTOMERID, CONTACTNAME, DOCID ...)."""
        row = self._db.execute(
            "SELECT recordno, body FROM records WHERE object = ? AND natural_id = ?",
            (object_name, natural_id),
        ).fetchone()
        return self._decode(object_name, int(row[0]), row[1]) if row else None

    def all(self, object_name: str) -> list[Record]:
        """Every record of an object, by RECORDNO."""
        rows = self._db.execute(
            "SELECT recordno, body FROM records WHERE object = ? ORDER BY recordno", (object_name,)
        ).fetchall()
        return [self._decode(object_name, int(recordno), body) for recordno, body in rows]

    def objects(self) -> list[str]:
        """Names of objects that have records."""
        return [row[0] for row in self._db.execute("SELECT DISTINCT object FROM records ORDER BY object")]

    def add_counters(self, deltas: Mapping[str, int]) -> None:
        """Add to named counters."""
        self._db.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            [(name, delta) for name, delta in deltas.items() if delta],
        )

    def counters(self) -> dict[str, int]:
        """Every counter."""
        return {name: int(value) for name, value in self._db.execute("SELECT name, value FROM counters")}

    def is_completed(self, controlid: str) -> bool:
        """Whether a function with this control ID completed under uniqueid=true."""
        row = self._db.execute(
            "SELECT 1 FROM completed_functions WHERE controlid = ?", (controlid,)
        ).fetchone()
        return row is not None

    def mark_completed(self, controlid: str, when: str) -> None:
        """Remember a completed function's control ID."""
        self._db.execute(
            "INSERT OR IGNORE INTO completed_functions (controlid, completed_at) VALUES (?, ?)",
            (controlid, when),
        )

    def completed_count(self) -> int:
        """How many control IDs are remembered."""
        return int(self._db.execute("SELECT COUNT(*) FROM completed_functions").fetchone()[0])

    def create_session(self, session_id: str, session: Session) -> None:
        """Remember a new session under the hash of its ID."""
        self._db.execute(
            "INSERT INTO sessions (token_hash, userid, companyid, locationid, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                _token_hash(session_id),
                session.userid,
                session.companyid,
                session.locationid,
                session.expires_at,
            ),
        )

    def session(self, session_id: str) -> Session | None:
        """The session with this ID, expired or not, or None."""
        row = self._db.execute(
            "SELECT userid, companyid, locationid, expires_at FROM sessions WHERE token_hash = ?",
            (_token_hash(session_id),),
        ).fetchone()
        return Session(row[0], row[1], row[2], float(row[3])) if row else None

    def extend_session(self, session_id: str, expires_at: float) -> None:
        """Slide a session's timeout."""
        self._db.execute(
            "UPDATE sessions SET expires_at = ? WHERE token_hash = ?", (expires_at, _token_hash(session_id))
        )

    def expire_session(self, session_id: str) -> None:
        """End one session."""
        self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(session_id),))

    def expire_all_sessions(self) -> int:
        """End every session; how many there were."""
        return self._db.execute("DELETE FROM sessions").rowcount

    def reset(self) -> None:
        """Forget records, sequences, counters and completed control IDs (sessions stay valid)."""
        for table in ("records", "sequences", "counters", "completed_functions"):
            self._db.execute(f"DELETE FROM {table}")
        self._cache.clear()

    def record_counts(self) -> dict[str, int]:
        """Records per object."""
        return {
            str(name): int(count)
            for name, count in self._db.execute("SELECT object, COUNT(*) FROM records GROUP BY object")
        }
