"""What a function works with, and what it gives back."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from dbt_intacct.emulator.catalogue import Catalogue, ObjectSpec
from dbt_intacct.emulator.fields import FieldSelection, Record
from dbt_intacct.emulator.store import Store


@dataclass(frozen=True)
class FunctionAnswer:
    """The gateway's answer to one function that ran: the API transactions it spends, and the ``<key>``
    and ``<data>`` its ``<result>`` carries (`FunctionResult` adds the control ID and the status)."""

    billable: int
    data: etree._Element | None = None
    key: str | None = None


@dataclass(frozen=True)
class PendingPage:
    """What is left of a readByQuery result for readMore."""

    spec: ObjectSpec
    selection: FieldSelection
    records: tuple[Record, ...]
    pagesize: int
    totalcount: int
    expires_at: float


class ResultSets:
    """Open readByQuery results by resultId; kept in memory (a restart forgets them, as a timeout would)."""

    LIFETIME_SECONDS = 30 * 60
    MAX_OPEN = 1000

    def __init__(self) -> None:
        self._open: OrderedDict[str, PendingPage] = OrderedDict()

    def open(self, page: PendingPage) -> str:
        """Keep the rest of a result; returns its resultId."""
        result_id = secrets.token_hex(16)
        self._open[result_id] = page
        while len(self._open) > self.MAX_OPEN:
            self._open.popitem(last=False)
        return result_id

    def take(self, result_id: str) -> PendingPage | None:
        """The rest of a result, removed from the open set; None when unknown or expired."""
        page = self._open.pop(result_id, None)
        if page is None or page.expires_at < time.monotonic():
            return None
        return page

    def clear(self) -> None:
        """Forget every open result."""
        self._open.clear()


@dataclass(frozen=True)
class FunctionContext:
    """The company state one function runs against, and the entity its session is logged in to."""

    store: Store
    catalogue: Catalogue
    now: datetime  # UTC
    result_sets: ResultSets
    entity: str = ""  # the session's <locationid>; "" is the top level

    def spec(self, object_name: str) -> ObjectSpec | None:
        """An object by name."""
        return self.catalogue.spec(object_name)

    def visible(self, record: Record | None, show_private: bool = False) -> bool:
        """Whether this session sees a record: an entity session sees its entity's records and the
        shared top-level ones; the top level sees its own, and every entity's with ``showprivate``."""
        if record is None:
            return False
        owner = str(record.get("MEGAENTITYID") or "")
        if self.entity:
            return owner in ("", self.entity)
        return not owner or show_private

    def seen(self, record: Record | None) -> Record | None:
        """The record when this session sees it, else None (as if it did not exist)."""
        return record if self.visible(record) else None

    def owned(self, record: Record) -> Record:
        """A new record stamped with the entity that creates it (none at the top level)."""
        if not self.entity:
            return record
        return {
            **record,
            "MEGAENTITYID": self.entity,
            "MEGAENTITYNAME": self.catalogue.reference.entity_name(self.entity),
        }
