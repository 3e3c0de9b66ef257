"""What the client tells about its work: each HTTP exchange (``ApiCall``), each retry (``RetryNotice``),
and its counters (``ClientStats``).

Bodies kept for the debugger are redacted (secret elements blanked, known secret values scrubbed)
and cut at ``MAX_LOGGED_BODY_CHARS``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from dbt_intacct.secrets import SecretScrubber, redact

# The debugger shows API calls; a multi-megabyte query page is cut rather than stored whole.
MAX_LOGGED_BODY_CHARS = 1_000_000

_SECRET_MARGIN = 65536

# Told of each retry: (the fault's kind, seconds to wait, the attempt to come, attempts allowed).
RetryNotice = Callable[[str, float, int, int], None]


class CallOutcome(StrEnum):
    """How one HTTP exchange ended, as recorded in ``ApiCall.outcome``."""

    OK = "ok"  # Intacct processed the request (single functions may still have failed)
    TRANSIENT = "transient"  # failed, safe to resend
    AMBIGUOUS = "ambiguous"  # may have been applied
    AUTH_FAILED = "auth_failed"  # authentication refused (login, or an expired session)
    TERMINAL = "terminal"  # no retry can help


@dataclass(frozen=True)
class ApiCall:
    """One HTTP exchange, for the run log and the debugger. Bodies are redacted (and cut at 1M chars)."""

    started_at: datetime
    duration_ms: float
    url: str
    http_status: int | None
    request_xml: str
    response_xml: str | None
    outcome: str
    error: str | None
    function_count: int
    attempt: int
    fault: str | None = None  # the fault's kind when there was one: http_503, rate_limited, ...


def loggable(body: bytes, scrubber: SecretScrubber) -> str:
    """``body`` as text fit to keep: redacted, scrubbed, cut at ``MAX_LOGGED_BODY_CHARS``.

    Only the part kept is decoded and redacted (a large answer is not copied whole), with a margin
    beyond the cut so that a secret lying across it is recognised before the cut is made.
    """
    head = body[: MAX_LOGGED_BODY_CHARS * 4 + _SECRET_MARGIN]  # four bytes at most per character
    text = scrubber.scrub(redact(head))
    if len(text) > MAX_LOGGED_BODY_CHARS:
        return text[:MAX_LOGGED_BODY_CHARS] + f"\n<!-- cut: the body was {len(body)} bytes -->"
    return text


@dataclass(frozen=True)
class ClientStats:
    """Counters for the run summary.

    ``faults`` counts every fault met, by kind; ``faults_survived`` those after which the same request
    went on to succeed. ``functions_sent`` counts every function in every exchange, resends included.
    ``query_pages`` counts the read functions (query, readByQuery, readMore) that returned a page:
    Intacct bills each as one API transaction.
    """

    calls: int
    requests: int
    functions_sent: int
    retries: int
    logins: int
    query_pages: int
    faults: Mapping[str, int]
    faults_survived: Mapping[str, int]


class ClientCounters:
    """The client's counters, shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._requests = 0
        self._functions_sent = 0
        self._retries = 0
        self._query_pages = 0
        self._faults: Counter[str] = Counter()
        self._faults_survived: Counter[str] = Counter()

    def call(self, function_count: int) -> None:
        """An HTTP exchange carrying ``function_count`` functions."""
        with self._lock:
            self._calls += 1
            self._functions_sent += function_count

    def request(self) -> None:
        """A request, however many exchanges it takes."""
        with self._lock:
            self._requests += 1

    def retry(self) -> None:
        """A request sent again after a backoff."""
        with self._lock:
            self._retries += 1

    def page(self) -> None:
        """A read function that returned a page."""
        with self._lock:
            self._query_pages += 1

    def fault(self, kind: str) -> None:
        """A fault met."""
        with self._lock:
            self._faults[kind] += 1

    def survived(self, kinds: list[str]) -> None:
        """Faults after which the same request went on to succeed."""
        with self._lock:
            self._faults_survived.update(kinds)

    def snapshot(self, logins: int) -> ClientStats:
        """The counters now, with the session keeper's ``logins``."""
        with self._lock:
            return ClientStats(
                calls=self._calls,
                requests=self._requests,
                functions_sent=self._functions_sent,
                retries=self._retries,
                logins=logins,
                query_pages=self._query_pages,
                faults=MappingProxyType(dict(self._faults)),
                faults_survived=MappingProxyType(dict(self._faults_survived)),
            )
