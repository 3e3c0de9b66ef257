"""One HTTP POST to the gateway, with bounded time and size, and failures sorted by what they imply.

The question that matters after a failed exchange is "could Intacct have received the request?":
a refused or timed-out *connect* means no, so resending is always safe; a connection dropped or a
read timed out after the body went out means maybe, which only ``uniqueid=true`` makes safe to resend.

Time: each exchange has a deadline, ``timeout`` seconds from its start to the last byte of the answer.
A socket timeout alone bounds each wait for a byte, not the whole: an answer dripping one byte at a
time would never end. So the sockets an exchange uses are registered with its ``_Deadline``, which shuts
them down when it passes; the read that was waiting fails at once and is reported as a timeout.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from dbt_intacct import __version__
from dbt_intacct.xml.safe import MAX_XML_BYTES

_CHUNK_BYTES = 64 * 1024
_MAX_CONNECT_TIMEOUT = 30.0


class Delivery(StrEnum):
    """Whether a failed exchange could have reached Intacct."""

    NOT_SENT = "not_sent"
    MAYBE_SENT = "maybe_sent"
    UNUSABLE = "unusable"  # a setup problem (TLS, URL) that no retry fixes


class TransportError(Exception):
    """An exchange that produced no usable HTTP response; ``kind`` names the fault for stats."""

    def __init__(self, kind: str, delivery: Delivery, message: str) -> None:
        self.kind = kind
        self.delivery = delivery
        super().__init__(message)


@dataclass(frozen=True)
class HttpReply:
    """A complete HTTP response; ``body`` is decompressed and at most ``max_bytes`` long."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _Deadline:
    """One exchange's deadline: once it passes, every socket registered with it is shut down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._over = False  # the exchange has ended: its pooled sockets belong to the next one
        self.passed = False

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it has)."""
        with self._lock:
            self._sockets.append(sock)
            if self.passed:
                _shut_down(sock)

    def pass_now(self) -> None:
        """The deadline has passed: end every wait on the exchange's sockets."""
        with self._lock:
            if self._over:
                return
            self.passed = True
            for sock in self._sockets:
                _shut_down(sock)

    def end(self) -> None:
        """The exchange is over, in time or not: its sockets are no longer watched."""
        with self._lock:
            self._over = True
            self._sockets.clear()

    @property
    def over(self) -> bool:
        """The exchange has ended."""
        return self._over


def _shut_down(sock: socket.socket) -> None:
    # Already closed, or a plain socket that TLS has taken over: nothing left to end.
    with contextlib.suppress(OSError):
        # The plain socket's shutdown, also for a TLS socket: the read waiting in another thread ends.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread per transport that passes each exchange's deadline when its time comes (a timer
    thread per exchange cost a thread start on every request)."""

    # Deadlines of ended exchanges wait in the heap for their time; past this many they are swept.
    _SWEEP_AT = 1000

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, deadline: _Deadline, seconds: float) -> None:
        """Pass ``deadline`` ``seconds`` from now, unless its exchange has ended by then."""
        with self._wake:
            if len(self._due) >= self._SWEEP_AT:
                self._due = [entry for entry in self._due if not entry[2].over]
                heapq.heapify(self._due)
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), deadline))
            if self._thread is None:  # the first exchange, or the first after close()
                self._closed = False
                self._thread = threading.Thread(target=self._run, name="intacct-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is deadline:
                self._wake.notify()  # due before everything the thread waits for

    def close(self) -> None:
        """Stop the thread; the next ``watch`` starts another."""
        with self._wake:
            self._closed = True
            self._thread = None
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._due:
                    self._wake.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)[2].pass_now()


_exchange = threading.local()  # the _Deadline of the exchange this thread is making, if any


def _watch(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_exchange, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """An HTTP connection whose sockets the current exchange's deadline can shut down."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a connection reused from the pool
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    """An HTTPS connection whose sockets the current exchange's deadline can shut down."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # the TLS socket, or a connection reused from the pool
        super().request(*args, **kwargs)


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPConnectionPool,
    "https": _WatchedHTTPSConnectionPool,
}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections the deadline can shut down, directly or through a proxy."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools have connections of their own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def _caused_by(exc: BaseException, *types: type[BaseException]) -> bool:
    """True if ``exc`` or anything it wraps (args, ``reason``, cause, context) is one of ``types``."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, types):
            return True
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return False


class HttpTransport:
    """POSTs XML bodies through one ``requests.Session`` whose connection pool serves every thread."""

    # More than any sensible concurrency for one company; extra threads get a fresh connection.
    POOL_SIZE = 8

    def __init__(self, *, timeout: float, verify_tls: bool, max_bytes: int = MAX_XML_BYTES) -> None:
        self._timeout = timeout
        self._connect_timeout = min(timeout, _MAX_CONNECT_TIMEOUT)
        self._verify_tls = verify_tls
        self._max_bytes = max_bytes
        self._watchdog = _Watchdog()
        self._http = requests.Session()
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE ...) is read once per endpoint
        # (`_environment`), not by requests on every request: that lookup, ~/.netrc included, took a
        # sending thread's time between two requests. ~/.netrc is never read: its credentials are no
        # business of Intacct's.
        self._http.trust_env = False
        self._environments: dict[str, tuple[dict[str, str], bool | str]] = {}
        # Retries are ours to decide: urllib3 must never resend a POST on its own.
        adapter = _WatchedAdapter(pool_connections=2, pool_maxsize=self.POOL_SIZE, max_retries=0)
        self._http.mount("https://", adapter)
        self._http.mount("http://", adapter)
        self._http.headers.update(
            {
                "Content-Type": "application/xml",
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": f"dbt-intacct/{__version__}",
            }
        )

    def post(self, url: str, body: bytes) -> HttpReply:
        """Send ``body``; return the reply or raise ``TransportError`` (never a requests exception).

        The whole exchange, connect to last byte, takes at most ``timeout`` seconds.
        """
        deadline = _Deadline()
        _exchange.deadline = deadline
        self._watchdog.watch(deadline, self._timeout)
        try:
            reply = self._post(url, body)
        except TransportError as failure:
            if deadline.passed and failure.delivery is Delivery.MAYBE_SENT:
                raise self._timed_out(url) from None
            raise
        except Exception:
            # A shut-down socket fails in ways requests does not always wrap (OSError, ValueError).
            if deadline.passed:
                raise self._timed_out(url) from None
            raise
        finally:
            deadline.end()
            _exchange.deadline = None
        # Headers cut short by the shutdown read as complete to http.client: the reply cannot be trusted.
        if deadline.passed:
            raise self._timed_out(url)
        return reply

    def _timed_out(self, url: str) -> TransportError:
        return TransportError(
            "read_timeout",
            Delivery.MAYBE_SENT,
            f"no complete answer from {url} within {self._timeout:g}s of sending the request",
        )

    def _post(self, url: str, body: bytes) -> HttpReply:
        proxies, verify = self._environment(url)
        try:
            response = self._http.post(
                url,
                data=body,
                timeout=(self._connect_timeout, self._timeout),
                proxies=proxies,
                verify=verify,
                stream=True,
                # A redirect would carry credentials to another URL: refuse rather than follow.
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            raise TransportError(
                "tls_error",
                Delivery.UNUSABLE,
                f"TLS verification of {url} failed; check the endpoint (the certificate must be valid)",
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise TransportError(
                "connect_timeout", Delivery.NOT_SENT, f"connecting to {url} timed out"
            ) from None
        except requests.exceptions.ReadTimeout:
            raise self._timed_out(url) from None
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, urllib3.exceptions.NewConnectionError, ConnectionRefusedError):
                raise TransportError(
                    "connect_failed", Delivery.NOT_SENT, f"could not connect to {url}"
                ) from None
            raise TransportError(
                "connection_dropped",
                Delivery.MAYBE_SENT,
                f"the connection to {url} was closed before a response arrived",
            ) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise TransportError(
                "invalid_url", Delivery.UNUSABLE, f"invalid endpoint URL {url}: {exc}"
            ) from None
        with response:
            return HttpReply(response.status_code, response.headers, self._read_body(response, url))

    def _environment(self, url: str) -> tuple[dict[str, str], bool | str]:
        """The proxies and TLS verification requests would take from the environment for ``url``."""
        found = self._environments.get(url)
        if found is None:
            with requests.Session() as reader:  # trust_env, as requests has it by default
                settings = reader.merge_environment_settings(url, {}, None, self._verify_tls, None)
            verify = settings["verify"]
            found = (dict(settings["proxies"]), self._verify_tls if verify is None else verify)
            self._environments[url] = found
        return found

    def _read_body(self, response: requests.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            raise TransportError(
                "response_too_large",
                Delivery.UNUSABLE,
                f"the response from {url} is {declared} bytes, over the {self._max_bytes}-byte limit",
            )
        # One growing buffer whose bytes are handed over without a copy: the answer is held once.
        body = io.BytesIO()
        try:
            for chunk in response.iter_content(_CHUNK_BYTES):
                if body.tell() + len(chunk) > self._max_bytes:
                    raise TransportError(
                        "response_too_large",
                        Delivery.UNUSABLE,
                        f"the response from {url} is over the {self._max_bytes}-byte limit",
                    )
                body.write(chunk)
        except requests.exceptions.RequestException:
            raise TransportError(
                "connection_dropped",
                Delivery.MAYBE_SENT,
                f"the connection to {url} broke while the response was arriving",
            ) from None
        return body.getvalue()

    def close(self) -> None:
        """Close the pooled connections and stop watching deadlines."""
        self._http.close()
        self._watchdog.close()
