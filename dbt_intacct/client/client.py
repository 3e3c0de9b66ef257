"""The Intacct client: sessions, retries, fault classification, batches in flight, paged reads.

Classification (API.md sections 4 and 10), applied to every HTTP exchange:

- transient, retried with backoff and jitter (Retry-After honoured): HTTP 429, 408 and 5xx but 524,
  GW-0010 and the "API rate limit exceeded" / "Temporarily Off-line" wording at any level (at the
  result level only when every function of the request failed that way, so nothing ran), a connect
  that failed or timed out;
- ambiguous, the request may have been applied: HTTP 524, a connection dropped or a read timed out
  after the body was sent. Resent only when that is safe: ``uniqueid=true`` writes (Intacct refuses
  to repeat a completed function controlid) and reads; otherwise ``AmbiguousOutcomeError``;
- authentication failure while using a session: log in again once per request, then resend;
- terminal: every other control-level failure (XL03000006 bad sender, XMLGW_JPP0002, PL04000055
  company expired, XL03000003 malformed request), a failed login, a body that cannot be used
  outside 5xx (an HTML page on HTTP 200, a DTD), TLS failures, redirects.

A single function's failure is never an exception: it is a ``FunctionResult`` with status failure.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from lxml import etree
from pydantic import SecretStr

from dbt_intacct.client.retry import RetryPolicy, parse_retry_after
from dbt_intacct.client.transport import Delivery, HttpReply, HttpTransport, TransportError
from dbt_intacct.errors import (
    AmbiguousOutcomeError,
    ConfigError,
    IntacctError,
    RequestTooLarge,
    TerminalIntacctError,
    TransientIntacctError,
)
from dbt_intacct.secrets import SecretScrubber, redact
from dbt_intacct.xml import functions as xml_functions
from dbt_intacct.xml.request import Function, LoginAuth, SessionAuth, build_request
from dbt_intacct.xml.response import FunctionResult, Response, parse_response

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"
# The debugger shows API calls; a multi-megabyte query page is cut rather than stored whole.
MAX_LOGGED_BODY_CHARS = 1_000_000
# Used when a response carries no sessiontimeout: short enough that renewing early costs one login.
_UNKNOWN_SESSION_LIFETIME = 900.0
_MAX_RENEW_MARGIN = 300.0
_QUERY_FUNCTIONS_PER_REQUEST = 10

# Hints for the control-level errors a user can fix; the errorno stays in the message.
_CONTROL_HINTS = {
    "XL03000006": "check sender_id and sender_password, and that the sender is authorised for this company "
    "(Company > Setup > Company > Security > Web Services authorizations)",
    "XMLGW_JPP0002": "check sender_id and sender_password",
    "PL04000055": "the company has expired; renew it in Intacct",
    "XL03000003": "Intacct could not read the request; this is a dbt-intacct bug, please report it",
}


@dataclass(frozen=True)
class Credentials:
    """What it takes to log in: Web Services sender credentials and an API user of one company."""

    sender_id: str
    sender_password: SecretStr
    company_id: str
    user_id: str
    user_password: SecretStr
    entity_id: str | None = None
    endpoint: str = DEFAULT_ENDPOINT


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


@dataclass(frozen=True)
class _Session:
    session_id: SecretStr
    endpoint: str
    renew_at: float  # time.monotonic() value
    generation: int


class _Retryable(Exception):
    """One exchange failed in a way that may be retried; ``error`` is raised when retries run out."""

    def __init__(self, kind: str, error: TransientIntacctError, *, ambiguous: bool = False) -> None:
        self.kind = kind
        self.error = error
        self.ambiguous = ambiguous
        super().__init__(str(error))


class _SessionRejected(Exception):
    """Authentication failed on a session-authenticated request; a new session is in place."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise ConfigError(
        f"the Intacct endpoint {endpoint!r} must be an https:// URL "
        "(plain http:// is only allowed to a loopback address, such as the local emulator)"
    )


def _is_intacct_host(host: str) -> bool:
    return host == "intacct.com" or host.endswith(".intacct.com")


def _trusted_session_endpoint(returned: str, configured: str) -> str:
    """The endpoint to use for the session; refuse one that would carry the session elsewhere."""
    if not returned.strip():
        return configured
    new, old = urlsplit(returned.strip()), urlsplit(configured)
    same_origin = (new.scheme, new.hostname, new.port) == (old.scheme, old.hostname, old.port)
    both_intacct = (
        new.scheme == "https"
        and _is_intacct_host(new.hostname or "")
        and _is_intacct_host(old.hostname or "")
    )
    if same_origin or both_intacct:
        return returned.strip()
    raise TerminalIntacctError(
        f"Intacct's login named the session endpoint host {new.hostname!r}, which is neither the configured "
        f"host {old.hostname!r} nor an https *.intacct.com host; refusing to send the session there"
    )


def _renew_margin(lifetime: float) -> float:
    """Renew this long before expiry: a quarter of the lifetime, at most five minutes."""
    return min(_MAX_RENEW_MARGIN, lifetime / 4)


def _first_errorno(errornos: Iterable[str]) -> str | None:
    return next((errorno for errorno in errornos if errorno), None)


@dataclass
class _Counters:
    calls: int = 0
    requests: int = 0
    functions_sent: int = 0
    retries: int = 0
    logins: int = 0
    query_pages: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    faults_survived: Counter[str] = field(default_factory=Counter)


class IntacctClient:
    """Talks to one Intacct company through its XML gateway. Thread-safe; use ``close()`` when done."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 300.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - a frozen value, safe to share
        on_call: Callable[[ApiCall], None] | None = None,
        verify_tls: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        """``verify_tls=False`` only when the user set an explicit insecure flag.

        ``on_call`` receives every HTTP exchange (calls are serialised, so it need not be
        thread-safe). ``rng`` makes the retry jitter repeatable in tests.
        """
        _check_endpoint(credentials.endpoint)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._credentials = credentials
        self._retry = retry
        self._on_call = on_call
        self._rng = rng or random.Random()
        self._transport = HttpTransport(timeout=timeout, verify_tls=verify_tls)
        self._scrubber = SecretScrubber([credentials.sender_password, credentials.user_password])
        self._session: _Session | None = None
        self._generation = 0
        self._session_lock = threading.RLock()
        self._counters = _Counters()
        self._counters_lock = threading.Lock()
        self._on_call_lock = threading.Lock()
        self._rng_lock = threading.Lock()
        # While execute_batches runs, every request of this client takes one of its `concurrency` slots;
        # the caller's own requests (lookups between batches) go ahead of the queued batches.
        self._slots = threading.Condition()
        self._slot_limit: int | None = None
        self._slots_taken = 0
        self._slots_wanted = 0  # requests other than the pipeline's waiting for a slot
        self._local = threading.local()

    # --- public API ----------------------------------------------------------------------------

    def open_session(self) -> None:
        """Log in with ``getAPISession`` (alone in its request) and use its session from now on.

        Later calls go to the endpoint the session names. Raises ``TerminalIntacctError`` when the
        credentials are refused.
        """
        with self._session_lock:
            self._login()

    def execute(
        self, functions: Sequence[Function], *, uniqueid: bool, transaction: bool = False
    ) -> dict[str, FunctionResult]:
        """Send ``functions`` in one request; return each function's result keyed by its controlid.

        Transient failures are retried here. With ``uniqueid=True`` an ambiguous outcome (HTTP 524,
        connection lost after sending) is resent with the same controlids: a function that did run
        comes back as a failure with ``is_repeated_controlid``, to be resolved by reading the record.
        With ``uniqueid=False`` it raises ``AmbiguousOutcomeError`` instead. Raises
        ``TerminalIntacctError`` when retrying cannot help and ``TransientIntacctError`` when the
        retries are spent.
        """
        controlids = [function.controlid for function in functions]
        duplicates = sorted(controlid for controlid, n in Counter(controlids).items() if n > 1)
        if duplicates:
            raise ValueError(f"function controlids must be unique within a request: {duplicates}")
        if not functions:
            return {}
        response = self._send(functions, uniqueid=uniqueid, transaction=transaction, resend_safe=uniqueid)
        results = {result.controlid: result for result in response.results}
        missing = [controlid for controlid in controlids if controlid not in results]
        if missing:
            raise AmbiguousOutcomeError(
                f"Intacct's response has no result for {len(missing)} of {len(functions)} functions "
                f"(controlids {', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}); "
                "their outcome is unknown"
            )
        return {controlid: results[controlid] for controlid in controlids}

    def execute_batches(
        self,
        batches: Iterable[Sequence[Function]],
        *,
        uniqueid: bool,
        concurrency: int = 1,
        transaction: bool = False,
        ahead: int = 0,
    ) -> Iterator[tuple[Sequence[Function], dict[str, FunctionResult] | IntacctError]]:
        """Send batches with up to ``concurrency`` requests in flight; yield each outcome as it lands.

        ``batches`` is consumed lazily, in the caller's thread: a batch is taken when a request slot is
        free, or up to ``ahead`` batches sooner, into a queue from which the sending threads take their
        next request the moment one lands. Slots are refilled before outcomes are handed over, so the
        caller's work on an outcome, or on the batches it prepares, leaves no slot empty while batches
        are ready. Outcomes come in completion order.

        A ``TerminalIntacctError`` stops further sends: the requests in flight finish and are yielded,
        batches already taken but not sent (at most ``ahead``) are dropped, the rest are never taken from
        ``batches``. An exception raised by ``batches`` stops sends the same way and is raised once the
        requests in flight have been yielded. Closing the iterator early waits for the requests in
        flight. While it runs, the client's other requests (a lookup made by the caller between
        batches) take one of the ``concurrency`` slots, ahead of the queued batches.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if ahead < 0:
            raise ValueError(f"ahead must not be negative, got {ahead}")
        source = iter(batches)
        lock = threading.Condition()
        ready: deque[Sequence[Function]] = deque()
        landed: deque[tuple[Sequence[Function], dict[str, FunctionResult] | IntacctError]] = deque()
        busy = 0
        stopped = False  # nothing more is sent: a terminal error, a failing source, or the caller closed
        exhausted = False  # the source has no more batches
        failure: BaseException | None = None

        def wanted() -> bool:  # holding the lock
            return not stopped and not exhausted and len(ready) + busy < concurrency + ahead

        def over() -> bool:  # holding the lock
            return busy == 0 and not landed and (stopped or (exhausted and not ready))

        def send() -> None:
            nonlocal busy, stopped, failure
            self._local.pipeline = True
            while True:
                with lock:
                    while not ready and not stopped and not exhausted:
                        lock.wait()
                    if stopped or not ready:
                        return
                    batch = ready.popleft()
                    busy += 1
                    lock.notify_all()
                try:
                    outcome = self._execute_outcome(batch, uniqueid, transaction)
                except BaseException as error:  # a bug: stop everything, raise it in the caller's thread
                    with lock:
                        busy -= 1
                        failure = failure or error
                        stopped = True
                        lock.notify_all()
                    return
                with lock:
                    busy -= 1
                    landed.append((batch, outcome))
                    # A request too large is the caller's to split; it does not stop the others.
                    if isinstance(outcome, TerminalIntacctError) and not isinstance(outcome, RequestTooLarge):
                        stopped = True
                    lock.notify_all()

        def take() -> None:
            """Move batches from the source to the queue while there is room (in the caller's thread)."""
            nonlocal stopped, exhausted, failure
            while True:
                with lock:
                    if not wanted():
                        return
                try:
                    batch = next(source)
                except StopIteration:
                    with lock:
                        exhausted = True
                        lock.notify_all()
                    return
                except BaseException as error:
                    with lock:
                        failure = failure or error
                        stopped = True
                        lock.notify_all()
                    return
                with lock:
                    ready.append(batch)
                    lock.notify_all()

        owner = self._open_slots(concurrency)
        senders = [
            threading.Thread(target=send, name=f"intacct-send-{index}", daemon=True)
            for index in range(concurrency)
        ]
        for sender in senders:
            sender.start()
        try:
            while True:
                take()
                with lock:
                    while not landed and not over() and not wanted():
                        lock.wait()
                    outcomes = list(landed)
                    landed.clear()
                    finished = over()
                if outcomes:
                    take()  # refill first: the caller's work on these outcomes overlaps the next requests
                    yield from outcomes
                elif finished:
                    break
            if failure is not None:
                raise failure
        finally:
            with lock:
                stopped = True
                lock.notify_all()
            for sender in senders:
                sender.join()
            self._close_slots(owner)

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
        """Every record of a generic ``<query>``, page by page (offset paging), as flattened dicts.

        Pages are independent queries, so rows can shift between pages unless ``order_by`` names a
        stable field (RECORDNO). Raises ``TerminalIntacctError`` when Intacct refuses the query.
        """
        offset = 0
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
            result = self._read(body, what=f"query of {object_name}")
            records = result.records()
            yield from records
            if not self._more_pages(result, records, f"query of {object_name}"):
                return
            offset += len(records)

    def query_in(
        self,
        object_name: str,
        field: str,
        values: Sequence[str],
        select: Sequence[str],
        *,
        show_private: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Records whose ``field`` is one of ``values`` (record matching), as flattened dicts.

        Values are de-duplicated and split into ``<in>`` filters of at most 1000; up to ten such
        queries travel in one request. ``field`` is added to ``select`` when missing, so that each
        record can be matched back to its value.
        """
        unique_values = list(dict.fromkeys(values))
        fields = list(select) if field in select else [*select, field]
        size = xml_functions.QUERY_MAX_IN_VALUES
        work: deque[tuple[list[str], int]] = deque(
            (unique_values[start : start + size], 0) for start in range(0, len(unique_values), size)
        )
        what = f"query of {object_name} by {field}"
        while work:
            group = [work.popleft() for _ in range(min(_QUERY_FUNCTIONS_PER_REQUEST, len(work)))]
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
            response = self._send(batch, uniqueid=False, transaction=False, resend_safe=True)
            for function, (chunk, offset) in zip(batch, group, strict=True):
                result = self._checked(response, function.controlid, what)
                records = result.records()
                yield from records
                if self._more_pages(result, records, what):
                    work.append((chunk, offset + len(records)))

    def read_by_query(
        self,
        object_name: str,
        fields: Sequence[str],
        query: str,
        page_size: int = xml_functions.READ_BY_QUERY_MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a ``readByQuery`` (legacy query string), following ``readMore`` pages.

        A ``readMore`` whose outcome is ambiguous is not resent (Intacct may have moved its cursor
        already): the query starts over and skips the records already yielded, which assumes
        Intacct returns them in the same order (it does for unchanged data, by RECORDNO).
        """
        what = f"readByQuery of {object_name}"
        yielded = 0
        restarts = 0
        while True:
            skip = yielded
            result = self._read(
                xml_functions.read_by_query(object_name, fields, query, page_size=page_size), what
            )
            while True:
                records = result.records()
                for record in records:
                    if skip:
                        skip -= 1
                        continue
                    yielded += 1
                    yield record
                if not self._more_pages(result, records, what):
                    return
                if not result.result_id:
                    raise TerminalIntacctError(f"{what}: Intacct reported more records but gave no resultId")
                try:
                    result = self._read(xml_functions.read_more(result.result_id), what, resend_safe=False)
                except AmbiguousOutcomeError:
                    restarts += 1
                    if restarts >= self._retry.max_attempts:
                        raise
                    logger.warning("%s: a readMore was lost in transit; starting the query over", what)
                    break

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters for the run summary."""
        with self._counters_lock:
            counters = self._counters
            return ClientStats(
                calls=counters.calls,
                requests=counters.requests,
                functions_sent=counters.functions_sent,
                retries=counters.retries,
                logins=counters.logins,
                query_pages=counters.query_pages,
                faults=MappingProxyType(dict(counters.faults)),
                faults_survived=MappingProxyType(dict(counters.faults_survived)),
            )

    def close(self) -> None:
        """Close the HTTP connections. The Intacct session is left to expire on its own."""
        self._transport.close()

    def __enter__(self) -> IntacctClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        credentials = self._credentials
        return f"IntacctClient(company_id={credentials.company_id!r}, endpoint={credentials.endpoint!r})"

    # --- sessions ------------------------------------------------------------------------------

    def _login(self) -> None:
        """getAPISession with login authentication; caller holds ``_session_lock``."""
        credentials = self._credentials
        auth = LoginAuth(
            company_id=credentials.company_id,
            user_id=credentials.user_id,
            user_password=credentials.user_password,
            entity_id=credentials.entity_id or None,
        )
        function = Function(f"getAPISession-{uuid.uuid4().hex}", xml_functions.get_api_session())
        controlid = f"dbt-intacct-login-{uuid.uuid4().hex}"

        def attempt(number: int) -> tuple[Response, float]:
            body = self._build(controlid, False, auth, [function], transaction=False)
            sent_at = time.monotonic()
            response = self._exchange(credentials.endpoint, body, 1, number)
            if response.auth_failed:
                raise TerminalIntacctError(
                    self._scrubber.scrub(
                        f"Intacct refused the login of user {credentials.user_id!r} at company "
                        f"{credentials.company_id!r}: {response.message or 'authentication failed'} "
                        "(check company_id, user_id, user_password and entity_id)"
                    ),
                    _first_errorno(error.errorno for error in response.auth_errors),
                )
            return response, sent_at

        response, sent_at = self._with_retries(attempt, resend_safe=True)
        result = response.results[0] if response.results else None
        if result is None or not result.ok:
            raise TerminalIntacctError(
                self._scrubber.scrub(
                    "getAPISession failed: " + (result.message if result else "the response has no result")
                ),
                _first_errorno(result.errornos) if result else None,
            )
        records = result.records()
        api = records[0] if records else {}
        session_id = str(api.get("sessionid") or "")
        if not session_id:
            raise TerminalIntacctError("getAPISession succeeded but returned no session id")
        secret = SecretStr(session_id)
        self._scrubber.add(secret)
        self._generation += 1
        self._session = _Session(
            session_id=secret,
            endpoint=_trusted_session_endpoint(str(api.get("endpoint") or ""), credentials.endpoint),
            renew_at=self._renew_at(response, sent_at),
            generation=self._generation,
        )
        with self._counters_lock:
            self._counters.logins += 1

    @staticmethod
    def _renew_at(response: Response, sent_at: float) -> float:
        """When to renew, on the monotonic clock: the session's lifetime by Intacct's own clock."""
        if response.session_timeout is None:
            lifetime = _UNKNOWN_SESSION_LIFETIME
        else:
            issued = response.session_timestamp or datetime.now(UTC)
            lifetime = max(0.0, (response.session_timeout - issued).total_seconds())
        return sent_at + lifetime - _renew_margin(lifetime)

    def _current_session(self) -> _Session:
        with self._session_lock:
            if self._session is None or time.monotonic() >= self._session.renew_at:
                self._login()
            assert self._session is not None
            return self._session

    def _renew_after_rejection(self, rejected: _Session) -> None:
        with self._session_lock:
            # Another thread may have renewed already; one new session serves everyone.
            if self._session is not None and self._session.generation == rejected.generation:
                self._login()

    def _slide_session(self, session: _Session, response: Response, sent_at: float) -> None:
        """Each call pushes Intacct's timeout forward (a sliding window); follow it."""
        if response.session_timeout is None:
            return
        with self._session_lock:
            if self._session is not None and self._session.generation == session.generation:
                renew_at = self._renew_at(response, sent_at)
                if renew_at > self._session.renew_at:
                    self._session = _Session(
                        session.session_id, session.endpoint, renew_at, session.generation
                    )

    # --- request slots while a pipeline runs ----------------------------------------------------

    def _open_slots(self, concurrency: int) -> bool:
        """Start counting requests against ``concurrency``; False when an outer pipeline already does."""
        with self._slots:
            if self._slot_limit is not None:
                return False
            self._slot_limit = concurrency
            return True

    def _close_slots(self, owner: bool) -> None:
        if owner:
            with self._slots:
                self._slot_limit = None
                self._slots.notify_all()

    def _take_slot(self) -> bool:
        """Wait for a free slot when a pipeline runs; True when one was taken (give it back)."""
        pipeline = bool(getattr(self._local, "pipeline", False))
        with self._slots:
            if self._slot_limit is None:
                return False
            if not pipeline:
                self._slots_wanted += 1
            try:
                while self._slot_limit is not None and self._slots_taken >= self._slot_limit - (
                    self._slots_wanted if pipeline else 0
                ):
                    self._slots.wait()
            finally:
                if not pipeline:
                    self._slots_wanted -= 1
            if self._slot_limit is None:
                return False
            self._slots_taken += 1
            return True

    def _give_slot(self) -> None:
        with self._slots:
            self._slots_taken -= 1
            self._slots.notify_all()

    # --- sending -------------------------------------------------------------------------------

    def _execute_outcome(
        self, batch: Sequence[Function], uniqueid: bool, transaction: bool
    ) -> dict[str, FunctionResult] | IntacctError:
        try:
            return self.execute(batch, uniqueid=uniqueid, transaction=transaction)
        except IntacctError as error:
            return error

    def _read(self, body: etree._Element, what: str, *, resend_safe: bool = True) -> FunctionResult:
        function = Function(f"read-{uuid.uuid4().hex}", body)
        response = self._send([function], uniqueid=False, transaction=False, resend_safe=resend_safe)
        return self._checked(response, function.controlid, what)

    def _checked(self, response: Response, controlid: str, what: str) -> FunctionResult:
        try:
            result = response.result_for(controlid)
        except KeyError:
            raise TerminalIntacctError(f"{what}: Intacct's response has no result for it") from None
        if not result.ok:
            raise TerminalIntacctError(
                self._scrubber.scrub(f"{what} failed: {result.message or result.status}"),
                _first_errorno(result.errornos),
            )
        with self._counters_lock:
            self._counters.query_pages += 1
        return result

    @staticmethod
    def _more_pages(result: FunctionResult, records: list[dict[str, Any]], what: str) -> bool:
        remaining = result.numremaining or 0
        if remaining > 0 and not records:
            raise TerminalIntacctError(f"{what}: Intacct reported {remaining} more records but sent none")
        return remaining > 0

    def _send(
        self, functions: Sequence[Function], *, uniqueid: bool, transaction: bool, resend_safe: bool
    ) -> Response:
        """One request with session authentication, retried; re-login once on a rejected session."""
        counted = self._take_slot()
        try:
            return self._send_unslotted(
                functions, uniqueid=uniqueid, transaction=transaction, resend_safe=resend_safe
            )
        finally:
            if counted:
                self._give_slot()

    def _send_unslotted(
        self, functions: Sequence[Function], *, uniqueid: bool, transaction: bool, resend_safe: bool
    ) -> Response:
        controlid = f"dbt-intacct-{uuid.uuid4().hex}"
        relogged = False
        with self._counters_lock:
            self._counters.requests += 1

        def attempt(number: int) -> Response:
            nonlocal relogged
            session = self._current_session()
            body = self._build(controlid, uniqueid, SessionAuth(session.session_id), functions, transaction)
            sent_at = time.monotonic()
            response = self._exchange(session.endpoint, body, len(functions), number)
            if response.auth_failed:
                message = response.message or "authentication failed"
                if relogged:
                    # Met (and reported) like the first refusal, though not survived.
                    self._count_fault("session_expired", [])
                    raise TerminalIntacctError(
                        self._scrubber.scrub(f"Intacct refused a fresh session: {message}"),
                        _first_errorno(error.errorno for error in response.auth_errors),
                    )
                relogged = True
                self._renew_after_rejection(session)
                raise _SessionRejected
            self._slide_session(session, response, sent_at)
            return response

        return self._with_retries(attempt, resend_safe=resend_safe)

    def _build(
        self,
        controlid: str,
        uniqueid: bool,
        auth: LoginAuth | SessionAuth,
        functions: Sequence[Function],
        transaction: bool,
    ) -> bytes:
        return build_request(
            sender_id=self._credentials.sender_id,
            sender_password=self._credentials.sender_password,
            controlid=controlid,
            uniqueid=uniqueid,
            auth=auth,
            functions=functions,
            transaction=transaction,
        )

    def _with_retries(self, attempt: Callable[[int], _T], *, resend_safe: bool) -> _T:
        """Run ``attempt(n)`` until it returns, a terminal error, or the retry policy's bounds."""
        policy = self._retry
        started = time.monotonic()
        faults: list[str] = []
        number = 0  # every send, as ApiCall.attempt shows it
        rejected = 0  # sends refused for an expired session: resent at once, not held against the policy
        while True:
            number += 1
            try:
                outcome = attempt(number)
            except _SessionRejected:
                self._count_fault("session_expired", faults)
                rejected += 1
                continue
            except _Retryable as failure:
                self._count_fault(failure.kind, faults)
                if failure.ambiguous and not resend_safe:
                    raise failure.error from None
                failed = number - rejected
                if failed >= policy.max_attempts:
                    raise self._spent(failure, failed) from None
                delay = self._delay(policy, failed, failure.error.retry_after)
                if time.monotonic() - started + delay > policy.max_total:
                    raise self._spent(failure, failed) from None
                logger.warning(
                    "Intacct request failed (%s); retrying in %.1fs (attempt %d of %d)",
                    failure.kind,
                    delay,
                    failed + 1,
                    policy.max_attempts,
                )
                with self._counters_lock:
                    self._counters.retries += 1
                time.sleep(delay)
                continue
            if faults:
                with self._counters_lock:
                    self._counters.faults_survived.update(faults)
            return outcome

    def _count_fault(self, kind: str, faults: list[str]) -> None:
        faults.append(kind)
        with self._counters_lock:
            self._counters.faults[kind] += 1

    def _delay(self, policy: RetryPolicy, failed_attempts: int, retry_after: float | None) -> float:
        with self._rng_lock:
            return policy.delay(failed_attempts, retry_after, self._rng)

    @staticmethod
    def _spent(failure: _Retryable, attempts: int) -> TransientIntacctError:
        error = failure.error
        message = f"{error} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"
        if isinstance(error, AmbiguousOutcomeError):
            return AmbiguousOutcomeError(message, error.errorno, error.retry_after)
        return TransientIntacctError(message, error.errorno, error.retry_after)

    # --- one HTTP exchange ----------------------------------------------------------------------

    def _exchange(self, url: str, body: bytes, function_count: int, attempt: int) -> Response:
        """POST ``body`` once and classify the outcome; record it as an ``ApiCall``.

        Returns the parsed response when Intacct processed the request or refused its
        authentication; raises ``_Retryable`` or ``TerminalIntacctError`` otherwise.
        """
        started_at = datetime.now(UTC)
        started = time.monotonic()
        reply: HttpReply | None = None
        outcome = CallOutcome.OK
        fault: str | None = None
        error_text: str | None = None
        with self._counters_lock:
            self._counters.calls += 1
            self._counters.functions_sent += function_count
        try:
            try:
                reply = self._transport.post(url, body)
            except TransportError as failure:
                raise self._transport_failure(failure) from None
            response = self._classify(reply)
            if response.auth_failed:
                outcome = CallOutcome.AUTH_FAILED
                fault = "auth_failed"
                error_text = self._scrubber.scrub(response.message)
            return response
        except _Retryable as failure:
            outcome = CallOutcome.AMBIGUOUS if failure.ambiguous else CallOutcome.TRANSIENT
            fault, error_text = failure.kind, str(failure.error)
            raise
        except TerminalIntacctError as error:
            outcome, error_text = CallOutcome.TERMINAL, str(error)
            raise
        finally:
            if self._on_call is not None:
                self._record(
                    started_at=started_at,
                    duration_ms=(time.monotonic() - started) * 1000.0,
                    url=url,
                    reply=reply,
                    request=body,
                    outcome=outcome,
                    error=error_text,
                    function_count=function_count,
                    attempt=attempt,
                    fault=fault,
                )

    def _transport_failure(self, failure: TransportError) -> Exception:
        message = self._scrubber.scrub(str(failure))
        if failure.delivery is Delivery.NOT_SENT:
            return _Retryable(failure.kind, TransientIntacctError(message))
        if failure.delivery is Delivery.MAYBE_SENT:
            return _Retryable(
                failure.kind,
                AmbiguousOutcomeError(f"{message}; the request may have been applied"),
                ambiguous=True,
            )
        return TerminalIntacctError(message)

    def _classify(self, reply: HttpReply) -> Response:
        status = reply.status
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        if status == 524:
            raise _Retryable(
                "http_524",
                AmbiguousOutcomeError(
                    "Intacct's CDN timed out (HTTP 524) while Intacct may still be applying the request",
                    retry_after=retry_after,
                ),
                ambiguous=True,
            )
        if status == 413:
            raise RequestTooLarge(
                f"Intacct refused the request for its size (HTTP 413, {len(reply.body)} bytes answered)",
                "HTTP 413",
            )
        if 300 <= status < 400:
            raise TerminalIntacctError(
                f"the endpoint answered HTTP {status} (redirect to {reply.headers.get('Location')!r}); "
                "set the endpoint to the final URL"
            )
        try:
            response = parse_response(reply.body, http_status=status)
        except TransientIntacctError as error:
            kind = f"http_{status}" if status >= 500 or status in (408, 429) else "rate_limited"
            raise _Retryable(
                kind, TransientIntacctError(self._scrubber.scrub(str(error)), retry_after=retry_after)
            ) from None
        except TerminalIntacctError as error:
            raise TerminalIntacctError(self._scrubber.scrub(str(error)), error.errorno) from None
        request_errors = (*response.control_errors, *response.auth_errors)
        throttled = any(error.is_transient for error in request_errors) or (
            bool(response.results) and all(result.is_transient for result in response.results)
        )
        if status == 429 or throttled:
            reason = response.message or next((r.message for r in response.results if r.message), "")
            raise _Retryable(
                "rate_limited",
                TransientIntacctError(
                    self._scrubber.scrub(
                        f"Intacct is throttling or off-line (HTTP {status}): {reason}".rstrip(": ")
                    ),
                    _first_errorno(error.errorno for error in request_errors),
                    retry_after,
                ),
            )
        if status >= 500 or status == 408:
            raise _Retryable(
                f"http_{status}",
                TransientIntacctError(
                    self._scrubber.scrub(f"Intacct answered HTTP {status}: {response.message}".rstrip(": ")),
                    retry_after=retry_after,
                ),
            )
        if response.control_failed:
            errorno = _first_errorno(error.errorno for error in response.control_errors)
            hint = _CONTROL_HINTS.get(errorno or "", "")
            raise TerminalIntacctError(
                self._scrubber.scrub(
                    f"Intacct refused the request: {response.message or 'control failure without details'}"
                    + (f" ({hint})" if hint else "")
                ),
                errorno,
            )
        return response

    def _record(
        self,
        *,
        started_at: datetime,
        duration_ms: float,
        url: str,
        reply: HttpReply | None,
        request: bytes,
        outcome: CallOutcome,
        error: str | None,
        function_count: int,
        attempt: int,
        fault: str | None,
    ) -> None:
        call = ApiCall(
            started_at=started_at,
            duration_ms=duration_ms,
            url=url,
            http_status=reply.status if reply is not None else None,
            request_xml=self._loggable(request),
            response_xml=self._loggable(reply.body) if reply is not None else None,
            outcome=str(outcome),
            error=error,
            function_count=function_count,
            attempt=attempt,
            fault=fault,
        )
        assert self._on_call is not None
        with self._on_call_lock:
            self._on_call(call)

    def _loggable(self, body: bytes) -> str:
        text = self._scrubber.scrub(redact(body))
        if len(text) > MAX_LOGGED_BODY_CHARS:
            return (
                text[:MAX_LOGGED_BODY_CHARS]
                + f"\n<!-- cut: {len(text) - MAX_LOGGED_BODY_CHARS} more characters -->"
            )
        return text
