"""Finding a model's records in Intacct by a field's values: record matching, adoption, read-back.

One `query` with an `in` filter per chunk of values (the client splits and pages them); each page
returned is one API transaction, added to the model's count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dbt_intacct.client import IntacctClient
from dbt_intacct.objects import IntacctObject, RecordRef
from dbt_intacct.results import ModelResult

LOOKUP_CHUNK = 1000  # keys per `in` filter; the client splits larger lookups the same way


class RecordLookups:
    """Looks up one object's records for one model, counting the query pages it spends."""

    def __init__(
        self, obj: IntacctObject, client: Callable[[], IntacctClient] | None, result: ModelResult
    ) -> None:
        self.obj = obj
        self._client = client
        self.result = result

    @property
    def client(self) -> IntacctClient:
        if self._client is None:
            raise RuntimeError("a plan never talks to Intacct")
        return self._client()

    def find(
        self, field: str, values: Sequence[str], entity: str | None = None, *, newest: bool = False
    ) -> dict[str, RecordRef]:
        """The record of each value found in `field` (its RECORDNO and natural ID), by value as text,
        among the records a session in `entity` sees (its own and the top level's; None: the
        connection's entity). Of several records with one value, the first returned, or (`newest`) the
        one with the highest RECORDNO: a read-back looks for the record just written (a journal entry
        posted again after its reversal shares its REFERENCENO with the original)."""
        if not values:
            return {}
        id_field = self.obj.id_field
        select = ["RECORDNO", field] + ([id_field] if id_field and id_field != field else [])
        found: dict[str, RecordRef] = {}
        client = self.client.for_entity(entity)
        before = client.stats.query_pages
        for record in client.query_in(self.obj.intacct_object, field, list(values), select):
            value = _flat_get(record, field)
            if value is None:
                continue
            ref = RecordRef(
                recordno=_text(_flat_get(record, "RECORDNO")),
                id=_text(_flat_get(record, id_field)) if id_field else None,
            )
            known = found.get(match_key(value))
            if known is None or (newest and _number(ref.recordno) > _number(known.recordno)):
                found[match_key(value)] = ref
        self.result.api_transactions += client.stats.query_pages - before
        return found

    def owners(self, field: str, values: Sequence[str]) -> dict[str, str]:
        """The entity ("" top level) whose record has each value in `field`, read at the top level with
        private records shown: who owns a record an entity session cannot see."""
        if not values:
            return {}
        client = self.client.for_entity("")
        before = client.stats.query_pages
        found: dict[str, str] = {}
        records = client.query_in(
            self.obj.intacct_object, field, list(values), [field, "MEGAENTITYID"], show_private=True
        )
        for record in records:
            value = _flat_get(record, field)
            if value is not None:
                found.setdefault(match_key(value), _text(record.get("MEGAENTITYID")) or "")
        self.result.api_transactions += client.stats.query_pages - before
        return found

    def price(self, values: int) -> None:
        """Count what looking up `values` keys would spend (a plan queries nothing)."""
        self.result.api_transactions += -(-values // LOOKUP_CHUNK)


def match_key(value: Any) -> str:
    """A looked-up value as text, the form values are compared in."""
    return str(value)


def _number(recordno: str | None) -> int:
    return int(recordno) if recordno is not None and recordno.isdigit() else -1


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _flat_get(record: Mapping[str, Any], path: str | None) -> Any:
    if path is None:
        return None
    if path in record:
        return record[path]
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current
