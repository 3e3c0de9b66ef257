"""What Intacct holds for each row (`intacct_state`) and the append-only record of how it got there
(`intacct_ledger`): intents written before a request leaves, outcomes written after Intacct answers.

A row's state moves to `pending` with its intent, in one committed write, before the function is sent;
its outcome replaces it when the answer is settled. The ledger keeps both, with the function XML sent
(passwords are never part of a function).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbt_intacct.state.tables import (
    LEDGER_TABLE,
    PENDING,
    REVERSED,
    STATE_TABLE,
    WRITTEN,
    StateTables,
    chunks,
    columns_of,
    now,
)

_STATE_COLUMNS = columns_of(STATE_TABLE)
_LEDGER_COLUMNS = columns_of(LEDGER_TABLE)
_WRITE_CHUNK = 500


@dataclass(frozen=True)
class Intent:
    """A function about to leave for Intacct, recorded before the request is sent."""

    row_key: str
    row_hash: str | None
    action: str
    controlid: str
    payload: str
    version: int
    recordno: str | None
    intacct_id: str | None
    line_counts: str | None = None
    entity: str | None = None  # the entity the function is sent in ("" top level; None: no `entity:`)


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row in this run."""

    row_key: str
    row_hash: str | None
    action: str
    status: str
    version: int
    recordno: str | None = None
    intacct_id: str | None = None
    controlid: str | None = None
    errorno: str | None = None
    message: str | None = None
    line_counts: str | None = None  # JSON {line array: lines in Intacct}, for positional line updates
    entity: str | None = None  # the entity the row's record belongs to (None: the model has no `entity:`)

    @classmethod
    def of_change(
        cls, row: Mapping[str, Any], status: str, *, action: str = "none", message: str | None = None
    ) -> RowOutcome:
        """The outcome of a change-set row (diff columns `__key`, `__hash` ...) that sent nothing this time:
        what the state knew of its record is kept."""
        return cls(
            row_key=str(row["__key"]),
            row_hash=row["__hash"],
            action=action,
            status=status,
            version=int(row["__version"]),
            recordno=row["__recordno"],
            intacct_id=row["__intacct_id"],
            message=message,
            line_counts=row["__line_counts"],
            entity=row.get("__entity"),
        )

    @classmethod
    def of_state(cls, row: Mapping[str, Any], status: str, *, message: str | None = None) -> RowOutcome:
        """The outcome of a row known by its state columns (a removal, a shared key, a lost intent)."""
        return cls(
            row_key=str(row["row_key"]),
            row_hash=None,
            action="none",
            status=status,
            version=int(row["version"] or 0),
            recordno=row["recordno"],
            intacct_id=row["intacct_id"],
            message=message,
            line_counts=row.get("line_counts"),
            entity=row.get("entity"),
        )


class Ledger:
    """Reads and writes the row state and the ledger of one state schema."""

    def __init__(self, tables: StateTables) -> None:
        self.tables = tables

    def pending_rows(self, model_id: str, limit: int) -> list[dict[str, Any]]:
        """State rows whose last intent has no recorded outcome (the run that sent it stopped)."""
        w = self.tables.warehouse
        return w.read_page(
            "select row_key, row_hash, recordno, intacct_id, version, controlid, line_counts, entity, action "
            f"from {self.tables.state} where model_id = {w.literal(model_id)} and status = 'pending' "
            f"order by row_key limit {int(limit)}",
            limit,
        )

    def pending_by_entity(self, model_id: str) -> dict[str | None, int]:
        """How many open intents of a model wait in each entity ('' top level; None: no `entity:`)."""
        w = self.tables.warehouse
        rows = w.fetch_small(
            f"select entity, count(*) from {self.tables.state} where model_id = {w.literal(model_id)} "
            "and status = 'pending' group by entity"
        )
        return {None if entity is None else str(entity): int(count) for entity, count in rows}

    def pending_payloads(self, model_id: str, controlids: Sequence[str]) -> dict[str, str]:
        """The function XML recorded with each still-open intent, by controlid."""
        if not controlids:
            return {}
        w = self.tables.warehouse
        found: dict[str, str] = {}
        for chunk in chunks(list(controlids), _WRITE_CHUNK):
            sql = (
                f"select controlid, payload from {self.tables.ledger} where model_id = {w.literal(model_id)} "
                f"and event = 'intent' and controlid in ({', '.join(w.literal(c) for c in chunk)})"
            )
            for controlid, payload in w.fetch_small(sql, len(chunk) * 2):
                found[str(controlid)] = str(payload)
        return found

    def record_intents(self, run_id: str, model_id: str, intents: Sequence[Intent]) -> None:
        """Write intents (state -> pending, ledger -> intent) and commit, before the request leaves."""
        if not intents:
            return
        written_at = now()
        state_rows = [
            (
                model_id,
                i.row_key,
                i.row_hash,
                PENDING,
                i.recordno,
                i.intacct_id,
                i.version,
                i.controlid,
                i.action,
                None,
                None,
                i.line_counts,
                run_id,
                written_at,
                i.entity,
            )
            for i in intents
        ]
        ledger_rows = [
            (
                run_id,
                model_id,
                i.row_key,
                i.row_hash,
                "intent",
                i.action,
                PENDING,
                i.controlid,
                i.recordno,
                i.intacct_id,
                None,
                None,
                i.payload,
                written_at,
            )
            for i in intents
        ]
        self._write(model_id, state_rows, ledger_rows)

    def record_outcomes(self, run_id: str, model_id: str, outcomes: Sequence[RowOutcome]) -> None:
        """Write what Intacct answered (or why a row was not sent) and commit."""
        if not outcomes:
            return
        written_at = now()
        state_rows = [
            (
                model_id,
                o.row_key,
                o.row_hash,
                o.status,
                # A reversed row has no live record: the ledger's outcome names the reversal's.
                None if o.status == REVERSED else o.recordno,
                None if o.status == REVERSED else o.intacct_id,
                o.version + 1 if o.status in WRITTEN and o.action != "none" else o.version,
                o.controlid,
                o.action,
                o.errorno,
                o.message,
                o.line_counts,
                run_id,
                written_at,
                o.entity,
            )
            for o in outcomes
        ]
        ledger_rows = [
            (
                run_id,
                model_id,
                o.row_key,
                o.row_hash,
                "outcome",
                o.action,
                o.status,
                o.controlid,
                o.recordno,
                o.intacct_id,
                o.errorno,
                o.message,
                None,
                written_at,
            )
            for o in outcomes
        ]
        self._write(model_id, state_rows, ledger_rows)

    def _write(
        self, model_id: str, state_rows: Sequence[tuple[Any, ...]], ledger_rows: Sequence[tuple[Any, ...]]
    ) -> None:
        w = self.tables.warehouse
        log = self.tables.log
        for chunk in chunks(list(state_rows), _WRITE_CHUNK):
            if log is not None:  # append mode: the latest row of a key is its state
                log.append(STATE_TABLE, _STATE_COLUMNS, chunk)
                continue
            keys = ", ".join(w.literal(row[1]) for row in chunk)
            w.execute(
                f"delete from {self.tables.state} where model_id = {w.literal(model_id)} "
                f"and row_key in ({keys})"
            )
            w.insert_rows(self.tables.state, _STATE_COLUMNS, chunk)
        for chunk in chunks(list(ledger_rows), _WRITE_CHUNK):
            w.insert_rows(self.tables.ledger, _LEDGER_COLUMNS, chunk)
        w.commit()

    def referenced_records(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str | None, str | None, str, str | None]]:
        """RECORDNO, ID, status and entity of other models' rows, by (model unique_id, row key): for
        `record_of`."""
        w = self.tables.warehouse
        by_model: dict[str, list[str]] = {}
        for model_id, row_key in pairs:
            by_model.setdefault(model_id, []).append(row_key)
        found: dict[tuple[str, str], tuple[str | None, str | None, str, str | None]] = {}
        for model_id, keys in sorted(by_model.items()):
            for chunk in chunks(sorted(set(keys)), _WRITE_CHUNK):
                sql = (
                    f"select row_key, recordno, intacct_id, status, entity from {self.tables.state} "
                    f"where model_id = {w.literal(model_id)} "
                    f"and row_key in ({', '.join(w.literal(k) for k in chunk)})"
                )
                for row_key, recordno, intacct_id, status, entity in w.fetch_small(sql, len(chunk) + 1):
                    found[(model_id, str(row_key))] = (
                        recordno,
                        intacct_id,
                        str(status),
                        None if entity is None else str(entity),
                    )
        return found

    def posted_payloads(self, model_id: str, row_keys: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """What each row's entries were posted with, for reversals: the payload of every create of the
        row that Intacct applied, with the RECORDNO it got, oldest first, by row key."""
        found: dict[str, list[tuple[str, str]]] = {}
        if not row_keys:
            return found
        w = self.tables.warehouse
        ledger = self.tables.ledger
        for chunk in chunks(sorted(set(row_keys)), _WRITE_CHUNK):
            sql = (
                f"select i.row_key, o.recordno, i.payload, max(o.recorded_at) as applied_at "
                f"from {ledger} i join {ledger} o on o.model_id = i.model_id and o.controlid = i.controlid "
                f"where i.model_id = {w.literal(model_id)} and i.event = 'intent' and i.action = 'create' "
                "and o.event = 'outcome' and o.status = 'ok' and o.recordno is not null "
                f"and i.row_key in ({', '.join(w.literal(k) for k in chunk)}) "
                "group by i.row_key, o.recordno, i.payload order by applied_at"
            )
            for row_key, recordno, payload, _ in w.fetch_small(sql, len(chunk) * 20 + 100):
                found.setdefault(str(row_key), []).append((str(recordno), str(payload)))
        return found

    def state_rows(self, model_id: str, limit: int = 100_000) -> list[dict[str, Any]]:
        """The model's current state rows (for tests, `show` and small inspections)."""
        w = self.tables.warehouse
        return w.read_page(
            f"select * from {self.tables.state} where model_id = {w.literal(model_id)} order by row_key",
            limit,
        )
