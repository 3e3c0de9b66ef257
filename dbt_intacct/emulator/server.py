"""The HTTP side: the gateway endpoint, the admin API under ``/_emulator/``, and faults.

A threading HTTP/1.1 server on loopback. Gateway requests pass the concurrency limit, latency and
the "before" faults, are answered by the gateway (whose transaction is committed by then), and may
then lose their answer to an "after" fault (HTTP 524, or the connection closed without a response).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from dbt_intacct.emulator import faults as fault_kinds
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.config import ADMIN_PATH, GATEWAY_PATH, EmulatorConfig
from dbt_intacct.emulator.faults import FaultPlan, FaultSettingsError
from dbt_intacct.emulator.gateway import Credentials, Gateway, control_failure
from dbt_intacct.emulator.gateway_errors import GENERIC_PROCESSING, RATE_LIMITED, GatewayError, parse_error
from dbt_intacct.emulator.reference import (
    ReferenceData,
    ReferenceDataError,
    builtin_reference_data,
    load_reference_data,
    parse_reference_data,
)
from dbt_intacct.emulator.store import Store

logger = logging.getLogger("dbt_intacct.emulator")

XML_TYPE = "text/xml; charset=UTF-8"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=UTF-8"
_HTML = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    524: "A timeout occurred: the origin web server timed out responding to this request",
}
_STATUS_OF_FAULT = {"http_500": 500, "http_502": 502, "http_503": 503}


class Emulator:
    """Everything one running emulator holds: store, gateway, faults, and requests in flight."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        reference = (
            load_reference_data(config.reference_data) if config.reference_data else builtin_reference_data()
        )
        self.initial_reference = reference
        self.store = Store(config.data_dir)
        credentials = Credentials(
            config.sender_id, config.sender_password, config.company_id, config.user_id, config.user_password
        )
        self.gateway = Gateway(credentials, self.store, reference, config.session_timeout)
        self.faults = FaultPlan()
        self.faults.configure(config.faults)
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()

    def enter(self) -> bool:
        """Count a gateway request in; False when the concurrency limit refuses it."""
        limit = int(self.faults.setting("concurrency_limit"))
        with self._in_flight_lock:
            if limit and self._in_flight >= limit:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        """Count a gateway request out."""
        with self._in_flight_lock:
            self._in_flight -= 1

    def stats(self) -> dict[str, Any]:
        """Counters, records per object and injected faults, for the admin API."""
        with self.store.lock, self.store.transaction():
            counters = self.store.counters()
            records = self.store.record_counts()
            completed = self.store.completed_count()
        names = (
            "requests",
            "control_failures",
            "authentication_failures",
            "functions",
            "write_functions",
            "functions_succeeded",
            "functions_failed",
            "functions_aborted",
            "api_transactions",
        )
        return {
            **{name: counters.get(name, 0) for name in names},
            "records": records,
            "completed_controlids": completed,
            "faults_injected": dict(self.faults.injected),
        }

    def records(self, object_name: str | None) -> Any:
        """Stored records of one object (a list) or of every object (by object name)."""
        with self.store.lock, self.store.transaction():
            if object_name is not None:
                return self.store.all(object_name.upper())
            return {name: self.store.all(name) for name in self.store.objects()}

    def close(self) -> None:
        """Close the store."""
        self.store.close()


def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)


class _BodyTooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "IntacctEmulator/1.0"
    # Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def parse_request(self) -> bool:
        # Called as soon as the request line has been read: the request has arrived. Latency counts from
        # here, so that reading the headers and the body is part of the emulator's own work within it.
        self._arrived = time.monotonic()
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # --- routing --------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == GATEWAY_PATH:
            self._gateway()
        elif path.startswith(ADMIN_PATH + "/"):
            self._admin("POST", path)
        else:
            self._send(404, JSON_TYPE, _json({"error": f"nothing at {path}; the gateway is {GATEWAY_PATH}"}))

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PATH + "/"):
            self._admin("GET", path)
        else:
            self._send(404, JSON_TYPE, _json({"error": f"nothing at {path}; POST XML to {GATEWAY_PATH}"}))

    def do_PUT(self) -> None:
        self._admin("PUT", urlsplit(self.path).path)

    def do_DELETE(self) -> None:
        self._admin("DELETE", urlsplit(self.path).path)

    # --- the gateway ------------------------------------------------------------------------------

    def _gateway(self) -> None:
        emulator = self.server.emulator
        plan = emulator.faults
        if not emulator.enter():
            plan.count("concurrency_limit")
            self._rate_limited(plan, "Too many API requests are in flight for this company")
            return
        try:
            try:
                body = self._body(emulator.config.max_body_bytes)
            except _BodyTooLarge:
                error = parse_error(f"The request body exceeds {emulator.config.max_body_bytes} bytes.")
                self.close_connection = True
                self._send(413, XML_TYPE, control_failure(None, error), close=True)
                return
            # Latency is the time Intacct takes to answer: the answer leaves no sooner than this after
            # the request arrived (its request line was read), and the emulator's own work, reading the
            # request included, counts within it (as Intacct's does).
            deadline = self._arrived + plan.delay_seconds()
            before = plan.first_of(fault_kinds.BEFORE)
            if before is not None:
                _sleep_until(deadline)
            if before == "http_429":
                self._rate_limited(plan, "Rate limit exceeded")
                return
            if before == "rate_limit_body":
                error = GatewayError(
                    RATE_LIMITED,
                    "API rate limit exceeded: too many requests for this company in a short period. "
                    "Retry later.",
                    "API rate limit exceeded",
                    "Retry later.",
                )
                self._send(200, XML_TYPE, control_failure(None, error))
                return
            if before is not None:
                status = _STATUS_OF_FAULT[before]
                self._send(status, HTML_TYPE, _html_page(status))
                return
            endpoint = f"http://{self.headers.get('Host') or self._own_address()}{GATEWAY_PATH}"
            try:
                answer = emulator.gateway.handle(body, endpoint, lambda: plan.fires("expire_session"))
            except Exception:
                # A bug of the emulator, not of the request: say so in Intacct's shape (the transaction
                # was rolled back) and log it without the body, which may carry passwords.
                logger.exception("the emulator failed to answer a request")
                error = GatewayError(GENERIC_PROCESSING, "There was an error processing the request.")
                self._send(500, XML_TYPE, control_failure(None, error))
                return
            _sleep_until(deadline)
            after = plan.first_of(fault_kinds.AFTER)
            if after == "drop_after_commit":
                self._drop()
            elif after == "http_524_after_commit":
                self._send(524, HTML_TYPE, _html_page(524))
            else:
                self._send(200, XML_TYPE, answer)
        finally:
            emulator.leave()

    def _rate_limited(self, plan: FaultPlan, reason: str) -> None:
        retry_after = max(1, round(plan.setting("retry_after_seconds")))
        error = GatewayError(
            RATE_LIMITED,
            f"{reason} (GW-0010): the request was not processed. Retry after {retry_after} second(s).",
            "Rate limit exceeded",
            "Send fewer requests at a time and retry with backoff.",
        )
        # The body is not read: refuse and close, so the unread bytes cannot confuse the next request.
        self._send(429, XML_TYPE, control_failure(None, error), {"Retry-After": str(retry_after)}, close=True)

    def _drop(self) -> None:
        """Close the connection without a response, as a network failure after commit would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("connection already gone while dropping it")

    def _own_address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def _body(self, limit: int) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked_body(limit)
        length_text = self.headers.get("Content-Length", "0")
        length = int(length_text) if length_text.isdigit() else 0
        if length > limit:
            raise _BodyTooLarge
        return self.rfile.read(length)

    def _chunked_body(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            size = int(size_line or b"0", 16)
            if size == 0:
                self.rfile.readline(1024)
                return b"".join(chunks)
            total += size
            if total > limit:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    # --- the admin API ------------------------------------------------------------------------------

    def _admin(self, method: str, path: str) -> None:
        emulator = self.server.emulator
        route = path[len(ADMIN_PATH) :].strip("/")
        try:
            payload = self._json_body(emulator.config.max_body_bytes) if method in ("POST", "PUT") else None
            status, answer = _admin_route(emulator, method, route, payload, self._base_url())
        except (FaultSettingsError, ReferenceDataError, ValueError) as exc:
            status, answer = 400, {"error": str(exc)}
        except _BodyTooLarge:
            status, answer = 413, {"error": "request body too large"}
        self._send(status, JSON_TYPE, _json(answer))

    def _json_body(self, limit: int) -> Any:
        raw = self._body(limit)
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the body is not JSON: {exc}") from exc

    def _base_url(self) -> str:
        return f"http://{self.headers.get('Host') or self._own_address()}"

    def _send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Origin Time-out" if status == 524 else ""
        self.send_response(status, phrase)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _html_page(status: int) -> bytes:
    """The kind of page a proxy or CDN answers with: HTML, not Intacct XML."""
    text = _HTML[status]
    return f"<html><head><title>{status} {text}</title></head><body><h1>{text}</h1></body></html>".encode()


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=1, sort_keys=False).encode("utf-8")


def _admin_route(emulator: Emulator, method: str, route: str, payload: Any, base: str) -> tuple[int, Any]:
    """Answer an admin request: (HTTP status, JSON-ready answer)."""
    parts = [unquote(part) for part in route.split("/")]
    head = parts[0]
    if (method, head) == ("GET", "health"):
        return 200, {"status": "ok", "url": base + GATEWAY_PATH, "admin_url": base + ADMIN_PATH}
    if (method, head) == ("GET", "stats"):
        return 200, emulator.stats()
    if (method, head) == ("GET", "records"):
        return 200, emulator.records(parts[1] if len(parts) > 1 and parts[1] else None)
    if head == "faults":
        if method == "GET":
            return 200, emulator.faults.describe()
        if method in ("PUT", "POST"):
            if not isinstance(payload, dict):
                raise ValueError("the fault settings must be a JSON object")
            emulator.faults.configure(payload)
            return 200, emulator.faults.describe()
        if method == "DELETE":
            emulator.faults.clear()
            return 200, emulator.faults.describe()
    if (method, head) == ("POST", "reset"):
        emulator.gateway.reset()
        emulator.gateway.replace_reference(emulator.initial_reference)
        emulator.faults.clear()
        emulator.faults.injected.clear()
        return 200, {"reset": True}
    if (method, route) == ("POST", "sessions/expire"):
        return 200, {"expired": emulator.gateway.expire_sessions()}
    if head == "reference":
        if method == "GET":
            return 200, emulator.gateway.catalogue.reference.to_json()
        if method == "PUT":
            reference: ReferenceData = parse_reference_data(payload)
            emulator.gateway.replace_reference(reference)
            return 200, reference.to_json()
    return 404, {"error": f"no admin route {method} {ADMIN_PATH}/{route}"}


class EmulatorServer:
    """An emulator serving on a background thread, for tests and scripts.

    >>> with EmulatorServer(EmulatorConfig(port=0)) as server:
    ...     server.url  # http://127.0.0.1:PORT/ia/xml/xmlgw.phtml
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig(port=0)
        self.emulator: Emulator | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Bind the port and start serving; returns self."""
        self.emulator = Emulator(self.config)
        try:
            self._server = _Server((self.config.host, self.config.port), self.emulator)
        except OSError:
            self.emulator.close()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="intacct-emulator", daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def url(self) -> str:
        """The gateway endpoint, ``http://HOST:PORT/ia/xml/xmlgw.phtml``."""
        return self.base_url + GATEWAY_PATH

    @property
    def admin_url(self) -> str:
        """The admin API root, ``http://HOST:PORT/_emulator``."""
        return self.base_url + ADMIN_PATH

    @property
    def admin(self) -> EmulatorAdmin:
        """A client of the admin API."""
        return EmulatorAdmin(self.admin_url)

    def stop(self) -> None:
        """Stop serving and close the store."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.emulator is not None:
            self.emulator.close()
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
