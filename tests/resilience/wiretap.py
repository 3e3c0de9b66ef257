"""A loopback HTTP proxy in front of the emulator's gateway: it sees every exchange, and can spoil some.

The sync under test is pointed at the tap instead of the emulator. The tap forwards each request whole,
waits for the emulator's whole answer, then hands it back, noting the moment of each step, so a crash
test knows whether a request was in flight when it killed the sync, or its answer had just been handed
over. The emulator goes on with a request whose client died, as Intacct would.

A `Tamper` decides, per request, to hand back something other than the emulator's answer (a hostile
response) or to cut the connection before or after forwarding: faults the emulator itself cannot make.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_SESSION_ID = re.compile(rb"<sessionid>([^<]+)</sessionid>")
# A getAPISession answer: the session and the entity it is logged in to (empty: the top level).
_API_SESSION = re.compile(
    rb"<api>\s*<sessionid>([^<]+)</sessionid>.*?<locationid(?:\s*/>|>([^<]*)</locationid>)", re.DOTALL
)
_CONTROL_ID = re.compile(rb"<control>.*?<controlid>([^<]*)</controlid>", re.DOTALL)


@dataclass(frozen=True)
class Exchange:
    """One request through the tap: when it arrived, and when (if ever) its answer was handed back."""

    number: int
    received_at: float  # time.monotonic()
    writes: bool  # sent with uniqueid=true: creates, updates, deletes
    objects: frozenset[str]  # the generic objects the request writes (CUSTOMER, GLBATCH, ...)
    request_id: str  # the control block's controlid: the same for every resend of one request
    body: bytes = field(default=b"", repr=False)  # the request as sent
    delivered_at: float | None = None
    status: int | None = None
    tampered: str | None = None


@dataclass(frozen=True)
class Spoil:
    """What to do instead of a plain forward: `body`/`status` replace the emulator's answer (or
    `transform` rewrites it); `cut` closes the connection without an answer, "before" forwarding
    (nothing applied) or "after" it.

    The hostile gateway's extras: `forward=False` answers without forwarding (nothing applied);
    `headers` are sent with the answer; `drip` sends it one byte every `drip` seconds (a Content-Length
    body that trickles in); `reset` ends a cut with a TCP reset rather than a clean close; `before` runs
    just before the request is forwarded; `hold` is waited on (up to 600 s) before the answer is handed
    back, so a test can act while the request is known to be applied and unanswered."""

    body: bytes | None = None
    status: int = 200
    cut: str | None = None  # None | "before" | "after"
    name: str = "tampered"
    transform: Callable[[bytes], bytes] | None = None  # rewrites the emulator's answer
    forward: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    drip: float = 0.0
    reset: bool = False
    before: Callable[[], None] | None = None
    hold: threading.Event | None = None


Tamper = Callable[[int, bytes], Spoil | None]  # (exchange number, request body) -> what to do

_WRITE_OBJECTS = re.compile(
    rb"<(?:create|update)>\s*<([A-Z]+)>|<delete>\s*<object>([A-Z]+)</object>|<(create_\w+|update_\w+|delete_\w+)[\s>/]"
)


class WireTap:
    """Forwards `http://127.0.0.1:<port><path>` to the same path on `upstream` (the emulator's base URL)."""

    def __init__(self, upstream: str, tamper: Tamper | None = None) -> None:
        parts = urlsplit(upstream)
        self._upstream_host = parts.hostname or "127.0.0.1"
        self._upstream_port = parts.port or 80
        self.tamper = tamper
        self._lock = threading.Condition()
        self._exchanges: list[Exchange] = []
        self.session_ids: set[str] = set()  # every session ID the gateway handed out, for the secrets test
        self.session_entities: dict[str, str] = {}  # session ID -> the entity it is logged in to ("" top)
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                tap._forward(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # A killed client resets its connection mid-exchange: expected here, not worth a traceback.
                return

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="wiretap", daemon=True)

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> WireTap:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WireTap:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str = "/ia/xml/xmlgw.phtml") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    # -- what it saw ----------------------------------------------------------------------------------------
    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def entity_of(self, exchange: Exchange) -> str | None:
        """The entity whose session sent a session-authenticated request ("" top level; None: unknown)."""
        found = _SESSION_ID.search(exchange.body)
        with self._lock:
            return None if found is None else self.session_entities.get(found.group(1).decode("utf-8"))

    def in_flight(self) -> list[Exchange]:
        """Requests received whose answer has not been handed back yet."""
        with self._lock:
            return [e for e in self._exchanges if e.delivered_at is None]

    def wait_for(self, predicate: Callable[[list[Exchange]], bool], timeout: float) -> bool:
        """Block until `predicate(exchanges)` holds (checked at every step of every exchange)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self._exchanges):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    # -- forwarding -------------------------------------------------------------------------------------
    def _note(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges[exchange.number - 1] = exchange
            self._lock.notify_all()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        found = _WRITE_OBJECTS.findall(body)
        control = _CONTROL_ID.search(body)
        with self._lock:
            exchange = Exchange(
                number=len(self._exchanges) + 1,
                received_at=time.monotonic(),
                writes=b"<uniqueid>true</uniqueid>" in body,
                objects=frozenset(name.decode() for pair in found for name in pair if name),
                request_id=control.group(1).decode("utf-8", "replace") if control else "?",
                body=body,
            )
            self._exchanges.append(exchange)
            self._lock.notify_all()
        spoil = self.tamper(exchange.number, body) if self.tamper else None
        if spoil is not None and spoil.cut == "before":
            self._note(replace(exchange, delivered_at=time.monotonic(), tampered=spoil.name))
            _cut(handler, spoil.reset)
            return
        if spoil is not None and spoil.before is not None:
            spoil.before()
        if spoil is not None and not spoil.forward:
            upstream: tuple[int, dict[str, str], bytes] | None = (spoil.status, {}, spoil.body or b"")
        else:
            upstream = self._upstream(handler, body)
        if upstream is None:
            # The emulator closed the connection without an answer (its drop_after_commit fault, or it
            # died mid-request): the client sees the same.
            self._note(replace(exchange, delivered_at=time.monotonic(), tampered="dropped upstream"))
            handler.close_connection = True
            return
        status, headers, answer = upstream
        for session_id in _SESSION_ID.findall(answer):
            with self._lock:
                self.session_ids.add(session_id.decode("utf-8", "replace"))
        for session_id, entity in _API_SESSION.findall(answer):
            with self._lock:
                self.session_entities[session_id.decode("utf-8", "replace")] = entity.decode("utf-8")
        if spoil is not None:
            if spoil.hold is not None:
                spoil.hold.wait(600)
            if spoil.cut == "after":
                self._note(replace(exchange, delivered_at=time.monotonic(), tampered=spoil.name))
                _cut(handler, spoil.reset)
                return
            if spoil.transform is not None:
                answer = spoil.transform(answer)
            else:
                status, answer = spoil.status, spoil.body if spoil.body is not None else answer
            headers = {"Content-Type": "text/xml; charset=UTF-8", **dict(spoil.headers)}
        try:
            handler.send_response(status)
            for name, value in headers.items():
                if name.lower() not in {
                    "content-length",
                    "connection",
                    "transfer-encoding",
                    "date",
                    "server",
                }:
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            if spoil is not None and spoil.drip:
                handler.wfile.flush()
                for offset in range(len(answer)):
                    handler.wfile.write(answer[offset : offset + 1])
                    handler.wfile.flush()
                    time.sleep(spoil.drip)
            else:
                handler.wfile.write(answer)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True  # the client is gone (killed): the answer is lost
        self._note(
            replace(
                exchange, delivered_at=time.monotonic(), status=status, tampered=spoil.name if spoil else None
            )
        )

    def _upstream(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        """The emulator's answer; None when it closed the connection without one."""
        connection = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=600)
        try:
            # The client's Host header goes through: the emulator names the session endpoint after it, and
            # the client refuses a session endpoint on another origin.
            connection.putrequest("POST", handler.path, skip_host=True, skip_accept_encoding=True)
            for name, value in handler.headers.items():
                if name.lower() not in {"content-length", "connection"}:
                    connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        except ConnectionRefusedError:
            # The emulator is down: answer as a gateway in front of it would.
            return 502, {"Content-Type": "text/html"}, b"<html><title>502 Bad Gateway</title></html>"
        except (http.client.HTTPException, OSError):
            return None
        finally:
            connection.close()


def _cut(handler: BaseHTTPRequestHandler, reset: bool) -> None:
    """Close the client's connection without an answer: cleanly, or with a TCP reset (RST)."""
    handler.close_connection = True
    if reset:
        # SO_LINGER on, timeout 0: close() sends RST instead of FIN.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
