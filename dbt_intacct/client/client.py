"""``IntacctClient``: one Intacct company through its XML gateway, composed of small parts.

- ``transport``: one HTTP POST, bounded in time and size;
- ``classify``: what an answer means (a response, or a transient / ambiguous / terminal failure);
- ``retry``: how long to wait before sending again;
- ``session``: login, renewal, the sliding timeout;
- ``pipeline``: batches in flight and the request slots they share with the caller's lookups;
- ``reads``: paged reads;
- ``calls``: the record of each exchange (``ApiCall``) and the counters.

This module sends requests: it runs the retry loop over attempts (an ambiguous outcome is resent only
when that is safe: ``uniqueid=true`` writes and reads; a rejected session is replaced once and the
request resent at once), and hands every exchange, redacted, to ``on_call``.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from lxml import etree

from dbt_intacct.client.calls import ApiCall, CallOutcome, ClientCounters, ClientStats, RetryNotice, loggable
from dbt_intacct.client.classify import Failure, Verdict, classify_reply, classify_transport_failure, refusal
from dbt_intacct.client.credentials import Credentials
from dbt_intacct.client.pipeline import BatchOutcome, RequestSlots, run_pipeline
from dbt_intacct.client.reads import PagedReads
from dbt_intacct.client.retry import RetryPolicy
from dbt_intacct.client.session import SessionKeeper
from dbt_intacct.client.transport import HttpReply, HttpTransport, TransportError
from dbt_intacct.endpoints import endpoint_problem
from dbt_intacct.errors import AmbiguousOutcomeError, ConfigError, IntacctError, TransientIntacctError
from dbt_intacct.secrets import SecretScrubber
from dbt_intacct.xml import functions as xml_functions
from dbt_intacct.xml.request import Function, LoginAuth, SessionAuth, build_request
from dbt_intacct.xml.response import FunctionResult, Response

_T = TypeVar("_T")


class _Retryable(Exception):
    """One exchange failed in a way the retry policy decides about."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(failure.message)


class _SessionRejected(Exception):
    """Authentication failed on a session-authenticated request; a new session is in place."""


class IntacctClient:
    """Talks to one Intacct company through its XML gateway. Thread-safe; use ``close()`` when done."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 300.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - a frozen value, safe to share
        on_call: Callable[[ApiCall], None] | None = None,
        on_retry: RetryNotice | None = None,
        verify_tls: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        """``verify_tls=False`` only when the user set an explicit insecure flag.

        ``on_call`` receives every HTTP exchange; ``on_retry(kind, delay, attempt, max_attempts)``
        is told before each wait to send a request again (``kind`` names the fault, ``attempt`` the
        send to come; a read started over after a lost ``readMore`` is told with kind
        ``read_more_lost`` and no delay). Both are serialised, so they need not be thread-safe; the
        client itself prints and logs nothing. ``rng`` makes the retry jitter repeatable in tests.
        """
        problem = endpoint_problem(credentials.endpoint)
        if problem:
            raise ConfigError(problem)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._credentials = credentials
        self._retry = retry
        self._on_call = on_call
        self._on_retry = on_retry
        self._rng = rng or random.Random()
        self._transport = HttpTransport(timeout=timeout, verify_tls=verify_tls)
        self._scrubber = SecretScrubber([credentials.sender_password, credentials.user_password])
        self._counters = ClientCounters()
        self._sessions = SessionKeeper(credentials, self._scrubber, self._send_login)
        self._slots = RequestSlots()
        self._reads = PagedReads(
            self._send_reads, self._scrubber, self._counters.page, self._notify_retry, retry.max_attempts
        )
        self._on_call_lock = threading.Lock()
        self._on_retry_lock = threading.Lock()
        self._rng_lock = threading.Lock()
        # Clients of the same company logged in to other entities, by entity ID ("" = top level):
        # shared by every client of the family, each with its own session.
        self._entities: dict[str, IntacctClient] = {}
        self._entities_lock = threading.Lock()
        self._family: list[SessionKeeper] = [self._sessions]

    def for_entity(self, entity_id: str | None) -> IntacctClient:
        """This company's client whose session is logged in to ``entity_id`` (its login's
        ``<locationid>``; ``""`` is the top level); ``None`` is this client, as configured.

        The clients share the HTTP connections, the request slots, the counters and ``on_call``; each
        keeps its own session, opened on its first request and reused after that.
        """
        if entity_id is None or entity_id == (self._credentials.entity_id or ""):
            return self
        with self._entities_lock:
            client = self._entities.get(entity_id)
            if client is None:
                client = copy.copy(self)
                client._credentials = replace(self._credentials, entity_id=entity_id or None)
                client._sessions = SessionKeeper(
                    client._credentials, self._scrubber, client._send_login, entity=entity_id
                )
                client._reads = PagedReads(
                    client._send_reads,
                    self._scrubber,
                    self._counters.page,
                    self._notify_retry,
                    self._retry.max_attempts,
                )
                self._family.append(client._sessions)
                self._entities[entity_id] = client
            return client

    # --- public API ----------------------------------------------------------------------------

    def open_session(self) -> None:
        """Log in with ``getAPISession`` (alone in its request) and use its session from now on.

        Later calls go to the endpoint the session names. Raises ``TerminalIntacctError`` when the
        credentials are refused.
        """
        self._sessions.open()

    def ensure_session(self) -> None:
        """Have a session ready (log in unless one is open): a write's intent is recorded only once the
        login it needs has succeeded, so a refused login or an unreachable endpoint leaves nothing open."""
        self._sessions.ensure()

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
        answers = self.execute_answers(functions, uniqueid=uniqueid, transaction=transaction)
        unsure = [controlid for controlid, results in answers.items() if len(results) != 1]
        if unsure:
            raise AmbiguousOutcomeError(
                f"Intacct's response has no single result for {len(unsure)} of {len(functions)} functions "
                f"(controlids {', '.join(unsure[:5])}{'...' if len(unsure) > 5 else ''}); "
                "their outcome is unknown"
            )
        return {controlid: results[0] for controlid, results in answers.items()}

    def execute_answers(
        self, functions: Sequence[Function], *, uniqueid: bool, transaction: bool = False
    ) -> dict[str, tuple[FunctionResult, ...]]:
        """Send ``functions`` in one request; return every result Intacct gave for each controlid.

        As ``execute``, but a function without a result (or with several) is not an error here: its
        caller settles it (`sync.settlement`), by reading Intacct back rather than writing again.
        """
        controlids = [function.controlid for function in functions]
        duplicates = sorted(controlid for controlid, n in Counter(controlids).items() if n > 1)
        if duplicates:
            raise ValueError(f"function controlids must be unique within a request: {duplicates}")
        if not functions:
            return {}
        response = self._send(functions, uniqueid=uniqueid, transaction=transaction, resend_safe=uniqueid)
        return response.answers(controlids)

    def execute_batches(
        self,
        batches: Iterable[Sequence[Function]],
        *,
        uniqueid: bool,
        concurrency: int = 1,
        transaction: bool = False,
        ahead: int = 0,
        entity_of: Callable[[Sequence[Function]], str | None] | None = None,
    ) -> Iterator[tuple[Sequence[Function], BatchOutcome]]:
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

        ``entity_of(batch)`` routes each batch to the entity whose session sends it (`for_entity`);
        a batch must hold one entity's functions only.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if ahead < 0:
            raise ValueError(f"ahead must not be negative, got {ahead}")

        def send(batch: Sequence[Function]) -> BatchOutcome:
            client = self if entity_of is None else self.for_entity(entity_of(batch))
            try:
                return client.execute_answers(batch, uniqueid=uniqueid, transaction=transaction)
            except IntacctError as error:
                return error

        return run_pipeline(batches, send, self._slots, concurrency=concurrency, ahead=ahead)

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
        return self._reads.query(
            object_name,
            select,
            filter,
            page_size=page_size,
            order_by=order_by,
            show_private=show_private,
        )

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
        return self._reads.query_in(object_name, field, values, select, show_private=show_private)

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
        return self._reads.read_by_query(object_name, fields, query, page_size)

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters for the run summary."""
        return self._counters.snapshot(sum(keeper.logins for keeper in self._family))

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

    # --- sending -------------------------------------------------------------------------------

    def _send(
        self, functions: Sequence[Function], *, uniqueid: bool, transaction: bool, resend_safe: bool
    ) -> Response:
        """One request with session authentication, retried; re-login once on a rejected session."""
        counted = self._slots.take()
        try:
            return self._send_unslotted(
                functions, uniqueid=uniqueid, transaction=transaction, resend_safe=resend_safe
            )
        finally:
            if counted:
                self._slots.give()

    def _send_unslotted(
        self, functions: Sequence[Function], *, uniqueid: bool, transaction: bool, resend_safe: bool
    ) -> Response:
        controlid = f"dbt-intacct-{uuid.uuid4().hex}"
        relogged = False
        self._counters.request()

        def attempt(number: int) -> Response:
            nonlocal relogged
            session = self._sessions.current()
            body = self._build(controlid, uniqueid, SessionAuth(session.session_id), functions, transaction)
            sent_at = time.monotonic()
            response = self._exchange(session.endpoint, body, len(functions), number)
            if response.auth_failed:
                if relogged:
                    # Met (and reported) like the first refusal, though not survived.
                    self._count_fault("session_expired", [])
                    raise refusal(
                        f"Intacct refused a fresh session: {response.message or 'authentication failed'}",
                        response.auth_errors,
                        self._scrubber,
                    )
                relogged = True
                self._sessions.renew_after_rejection(session)
                raise _SessionRejected
            self._sessions.slide(session, response, sent_at)
            return response

        return self._with_retries(attempt, resend_safe=resend_safe)

    def _send_reads(self, functions: Sequence[Function], resend_safe: bool) -> Response:
        return self._send(functions, uniqueid=False, transaction=False, resend_safe=resend_safe)

    def _send_login(self, auth: LoginAuth, function: Function) -> tuple[Response, float]:
        """The login request, retried; the response and when the last attempt was sent."""
        controlid = f"dbt-intacct-login-{uuid.uuid4().hex}"

        def attempt(number: int) -> tuple[Response, float]:
            body = self._build(controlid, False, auth, [function], transaction=False)
            sent_at = time.monotonic()
            return self._exchange(self._credentials.endpoint, body, 1, number), sent_at

        return self._with_retries(attempt, resend_safe=True)

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
            except _Retryable as retryable:
                failure = retryable.failure
                self._count_fault(failure.kind, faults)
                if failure.verdict is Verdict.AMBIGUOUS and not resend_safe:
                    raise failure.error() from None
                failed = number - rejected
                if failed >= policy.max_attempts:
                    raise self._spent(failure, failed) from None
                delay = self._delay(policy, failed, failure.retry_after)
                if time.monotonic() - started + delay > policy.max_total:
                    raise self._spent(failure, failed) from None
                self._notify_retry(failure.kind, delay, failed + 1, policy.max_attempts)
                self._counters.retry()
                time.sleep(delay)
                continue
            if faults:
                self._counters.survived(faults)
            return outcome

    def _notify_retry(self, kind: str, delay: float, attempt: int, max_attempts: int) -> None:
        if self._on_retry is not None:
            with self._on_retry_lock:
                self._on_retry(kind, delay, attempt, max_attempts)

    def _count_fault(self, kind: str, faults: list[str]) -> None:
        faults.append(kind)
        self._counters.fault(kind)

    def _delay(self, policy: RetryPolicy, failed_attempts: int, retry_after: float | None) -> float:
        with self._rng_lock:
            return policy.delay(failed_attempts, retry_after, self._rng)

    @staticmethod
    def _spent(failure: Failure, attempts: int) -> TransientIntacctError:
        message = f"{failure.message} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"
        error = replace(failure, message=message).error()
        assert isinstance(error, TransientIntacctError)
        return error

    # --- one HTTP exchange ----------------------------------------------------------------------

    def _exchange(self, url: str, body: bytes, function_count: int, attempt: int) -> Response:
        """POST ``body`` once and classify the outcome; record it as an ``ApiCall``.

        Returns the parsed response when Intacct processed the request or refused its
        authentication; raises ``_Retryable`` or the failure's terminal error otherwise.
        """
        started_at = datetime.now(UTC)
        started = time.monotonic()
        reply: HttpReply | None = None
        outcome = CallOutcome.OK
        fault: str | None = None
        error_text: str | None = None
        self._counters.call(function_count)
        try:
            try:
                reply = self._transport.post(url, body)
            except TransportError as failed:
                classified: Response | Failure = classify_transport_failure(failed, self._scrubber)
            else:
                classified = classify_reply(reply.status, reply.headers, reply.body, self._scrubber)
            if isinstance(classified, Failure):
                error_text = classified.message
                if classified.retryable:
                    ambiguous = classified.verdict is Verdict.AMBIGUOUS
                    outcome = CallOutcome.AMBIGUOUS if ambiguous else CallOutcome.TRANSIENT
                    fault = classified.kind
                    raise _Retryable(classified)
                outcome = CallOutcome.TERMINAL
                raise classified.error()
            if classified.auth_failed:
                outcome = CallOutcome.AUTH_FAILED
                fault = "auth_failed"
                error_text = self._scrubber.scrub(classified.message)
            return classified
        finally:
            if self._on_call is not None:
                call = ApiCall(
                    started_at=started_at,
                    duration_ms=(time.monotonic() - started) * 1000.0,
                    url=url,
                    http_status=reply.status if reply is not None else None,
                    request_xml=loggable(body, self._scrubber),
                    response_xml=loggable(reply.body, self._scrubber) if reply is not None else None,
                    outcome=str(outcome),
                    error=error_text,
                    function_count=function_count,
                    attempt=attempt,
                    fault=fault,
                )
                with self._on_call_lock:
                    self._on_call(call)
