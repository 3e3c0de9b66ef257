"""One HTTP POST to the gateway, with bounded time and size, and failures sorted by what they imply.

The question that matters after a failed exchange is "could Intacct have received the request?":
a refused or timed-out *connect* means no, so resending is always safe; a connection dropped or a
read timed out after the body went out means maybe, which only ``uniqueid=true`` makes safe to resend.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

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
        self._http = requests.Session()
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE ...) is read once per endpoint
        # (`_environment`), not by requests on every request: that lookup, ~/.netrc included, took a
        # sending thread's time between two requests. ~/.netrc is never read: its credentials are no
        # business of Intacct's.
        self._http.trust_env = False
        self._environments: dict[str, tuple[dict[str, str], bool | str]] = {}
        # Retries are ours to decide: urllib3 must never resend a POST on its own.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.POOL_SIZE, max_retries=0)
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
        """Send ``body``; return the reply or raise ``TransportError`` (never a requests exception)."""
        deadline = time.monotonic() + self._connect_timeout + self._timeout
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
            raise TransportError(
                "read_timeout",
                Delivery.MAYBE_SENT,
                f"no answer from {url} within {self._timeout:g}s after the request was sent",
            ) from None
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
            return HttpReply(response.status_code, response.headers, self._read_body(response, url, deadline))

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

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            raise TransportError(
                "response_too_large",
                Delivery.UNUSABLE,
                f"the response from {url} is {declared} bytes, over the {self._max_bytes}-byte limit",
            )
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(_CHUNK_BYTES):
                size += len(chunk)
                if size > self._max_bytes:
                    raise TransportError(
                        "response_too_large",
                        Delivery.UNUSABLE,
                        f"the response from {url} is over the {self._max_bytes}-byte limit",
                    )
                # The read timeout applies between bytes; this bounds a response that trickles in.
                if time.monotonic() > deadline:
                    raise TransportError(
                        "read_timeout",
                        Delivery.MAYBE_SENT,
                        f"the response from {url} took longer than {self._timeout:g}s",
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException:
            raise TransportError(
                "connection_dropped",
                Delivery.MAYBE_SENT,
                f"the connection to {url} broke while the response was arriving",
            ) from None
        return b"".join(chunks)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()
