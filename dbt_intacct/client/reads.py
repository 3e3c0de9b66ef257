"""Paged reads: every record of a ``query`` (offset paging), of ``query`` with ``in`` filters (record
matching, ten filters a request), and of a ``readByQuery`` followed by its ``readMore`` pages.

Each page is one read function; Intacct bills each as one API transaction, counted by ``on_page``.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from lxml import etree

from dbt_intacct.client.calls import RetryNotice
from dbt_intacct.client.classify import refusal
from dbt_intacct.errors import AmbiguousOutcomeError, TerminalIntacctError
from dbt_intacct.secrets import SecretScrubber
from dbt_intacct.xml import functions as xml_functions
from dbt_intacct.xml.request import Function
from dbt_intacct.xml.response import FunctionResult, Response

QUERY_FUNCTIONS_PER_REQUEST = 10

# Sends read functions in one request (``resend_safe``: may an ambiguous outcome be resent?).
SendReads = Callable[[Sequence[Function], bool], Response]


class PagedReads:
    """The client's reads, page by page, through ``send``."""

    def __init__(
        self,
        send: SendReads,
        scrubber: SecretScrubber,
        on_page: Callable[[], None],
        on_restart: RetryNotice,
        max_restarts: int,
    ) -> None:
        """``on_restart`` is told, like a retry, when a read starts over after a lost ``readMore``."""
        self._send = send
        self._scrubber = scrubber
        self._on_page = on_page
        self._on_restart = on_restart
        self._max_restarts = max_restarts

    def query(
        self,
        object_name: str,
        select: Sequence[str],
        filter: etree._Element | None = None,
        *,
        page_size: int = xml_functions.QUERY_MAX_PAGE_SIZE,
        order_by: str | None = None,
        show_private: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a generic ``<query>``, page by page (see ``IntacctClient.query``)."""
        offset = 0
        what = f"query of {object_name}"
        while True:
            body = xml_functions.query(
                object_name,
                select,
                filter=filter,
                order_by=order_by,
                page_size=page_size,
                offset=offset,
                show_private=show_private,
            )
            result = self._read(body, what)
            count = yield from _counted(result)
            if not _more_pages(result, count, what):
                return
            offset += count

    def query_in(
        self,
        object_name: str,
        field: str,
        values: Sequence[str],
        select: Sequence[str],
        *,
        show_private: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Records whose ``field`` is one of ``values`` (see ``IntacctClient.query_in``)."""
        unique_values = list(dict.fromkeys(values))
        fields = list(select) if field in select else [*select, field]
        size = xml_functions.QUERY_MAX_IN_VALUES
        work: deque[tuple[list[str], int]] = deque(
            (unique_values[start : start + size], 0) for start in range(0, len(unique_values), size)
        )
        what = f"query of {object_name} by {field}"
        while work:
            group = [work.popleft() for _ in range(min(QUERY_FUNCTIONS_PER_REQUEST, len(work)))]
            batch = [
                Function(
                    f"query-in-{index}-{uuid.uuid4().hex}",
                    xml_functions.query(
                        object_name,
                        fields,
                        filter=xml_functions.in_filter(field, chunk),
                        offset=offset,
                        show_private=show_private,
                    ),
                )
                for index, (chunk, offset) in enumerate(group)
            ]
            response = self._send(batch, True)
            for function, (chunk, offset) in zip(batch, group, strict=True):
                result = self._checked(response, function.controlid, what)
                count = yield from _counted(result)
                if _more_pages(result, count, what):
                    work.append((chunk, offset + count))

    def read_by_query(
        self,
        object_name: str,
        fields: Sequence[str],
        query: str,
        page_size: int = xml_functions.READ_BY_QUERY_MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a ``readByQuery``, following ``readMore`` (see ``IntacctClient.read_by_query``)."""
        what = f"readByQuery of {object_name}"
        yielded = 0
        restarts = 0
        while True:
            skip = yielded
            result = self._read(
                xml_functions.read_by_query(object_name, fields, query, page_size=page_size), what
            )
            while True:
                count = 0
                for record in result.iter_records():
                    count += 1
                    if skip:
                        skip -= 1
                        continue
                    yielded += 1
                    yield record
                if not _more_pages(result, count, what):
                    return
                if not result.result_id:
                    raise TerminalIntacctError(f"{what}: Intacct reported more records but gave no resultId")
                try:
                    result = self._read(xml_functions.read_more(result.result_id), what, resend_safe=False)
                except AmbiguousOutcomeError:
                    restarts += 1
                    if restarts >= self._max_restarts:
                        raise
                    self._on_restart("read_more_lost", 0.0, restarts + 1, self._max_restarts)
                    break

    def _read(self, body: etree._Element, what: str, *, resend_safe: bool = True) -> FunctionResult:
        function = Function(f"read-{uuid.uuid4().hex}", body)
        return self._checked(self._send([function], resend_safe), function.controlid, what)

    def _checked(self, response: Response, controlid: str, what: str) -> FunctionResult:
        """The read's result when it succeeded (one page, counted); a terminal error otherwise."""
        try:
            result = response.result_for(controlid)
        except KeyError:
            raise TerminalIntacctError(f"{what}: Intacct's response has no result for it") from None
        if not result.ok:
            raise refusal(f"{what} failed: {result.message or result.status}", result.errors, self._scrubber)
        self._on_page()
        return result


def _counted(result: FunctionResult) -> Generator[dict[str, Any], None, int]:
    """Yield the page's records one at a time (a large page is never whole in memory); return how many."""
    count = 0
    for record in result.iter_records():
        count += 1
        yield record
    return count


def _more_pages(result: FunctionResult, count: int, what: str) -> bool:
    remaining = result.numremaining or 0
    if remaining > 0 and not count:
        raise TerminalIntacctError(f"{what}: Intacct reported {remaining} more records but sent none")
    return remaining > 0
