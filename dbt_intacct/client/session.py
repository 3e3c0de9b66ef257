"""The client's Intacct session: login with getAPISession, renewal before expiry, the sliding timeout,
a new login after a rejected session, and the endpoint the session may be sent to.

Intacct answers a login with a session id, the endpoint to use with it and, in each answer's
``<authentication>``, the time the session will expire; every call pushes that time forward.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import SecretStr

from dbt_intacct.client.classify import first_errorno, refusal
from dbt_intacct.client.credentials import Credentials
from dbt_intacct.errors import LoginRefused, TerminalIntacctError
from dbt_intacct.secrets import SecretScrubber
from dbt_intacct.xml import functions as xml_functions
from dbt_intacct.xml.request import Function, LoginAuth
from dbt_intacct.xml.response import Response

# Used when a response carries no sessiontimeout: short enough that renewing early costs one login.
_UNKNOWN_SESSION_LIFETIME = 900.0
_MAX_RENEW_MARGIN = 300.0

# Sends the login request (retried as the policy allows); returns the answer and when it was sent.
SendLogin = Callable[[LoginAuth, Function], tuple[Response, float]]


@dataclass(frozen=True)
class Session:
    """A session in use: its id, the endpoint it names, when to renew it, and which login made it."""

    session_id: SecretStr
    endpoint: str
    renew_at: float  # time.monotonic() value
    generation: int


def _is_intacct_host(host: str) -> bool:
    return host == "intacct.com" or host.endswith(".intacct.com")


def trusted_session_endpoint(returned: str, configured: str) -> str:
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


def renew_margin(lifetime: float) -> float:
    """Renew this long before expiry: a quarter of the lifetime, at most five minutes."""
    return min(_MAX_RENEW_MARGIN, lifetime / 4)


def renew_at(response: Response, sent_at: float) -> float:
    """When to renew, on the monotonic clock: the session's lifetime by Intacct's own clock."""
    if response.session_timeout is None:
        lifetime = _UNKNOWN_SESSION_LIFETIME
    else:
        issued = response.session_timestamp or datetime.now(UTC)
        lifetime = max(0.0, (response.session_timeout - issued).total_seconds())
    return sent_at + lifetime - renew_margin(lifetime)


class SessionKeeper:
    """The one session of a client, shared by its threads: opened on first use, renewed before it
    expires, slid forward by each answer, replaced once by whichever thread sees it rejected.

    Every session id is added to ``scrubber`` as soon as it is known.
    """

    def __init__(
        self,
        credentials: Credentials,
        scrubber: SecretScrubber,
        send_login: SendLogin,
        *,
        entity: str | None = None,
    ) -> None:
        self._credentials = credentials
        # The entity the session must be logged in to ("" the top level), checked against the login's
        # answer: `entity`, else the credentials' entity_id; neither: whatever Intacct gives.
        self._entity = entity if entity is not None else credentials.entity_id or None
        self._scrubber = scrubber
        self._send_login = send_login
        self._session: Session | None = None
        self._generation = 0
        self._logins = 0
        self._lock = threading.RLock()

    @property
    def logins(self) -> int:
        """Successful logins so far."""
        with self._lock:
            return self._logins

    def open(self) -> None:
        """Log in now and use the new session from now on."""
        with self._lock:
            self._login()

    def ensure(self) -> None:
        """Log in now unless a session is open and not due for renewal."""
        self.current()

    def current(self) -> Session:
        """The session to send with: logs in first when there is none or it is due for renewal."""
        with self._lock:
            if self._session is None or time.monotonic() >= self._session.renew_at:
                self._login()
            assert self._session is not None
            return self._session

    def renew_after_rejection(self, rejected: Session) -> None:
        """Log in again after Intacct refused ``rejected``, unless another thread already has."""
        with self._lock:
            if self._session is not None and self._session.generation == rejected.generation:
                self._login()

    def slide(self, session: Session, response: Response, sent_at: float) -> None:
        """Each call pushes Intacct's timeout forward (a sliding window); follow it."""
        if response.session_timeout is None:
            return
        with self._lock:
            if self._session is not None and self._session.generation == session.generation:
                renew = renew_at(response, sent_at)
                if renew > self._session.renew_at:
                    self._session = Session(session.session_id, session.endpoint, renew, session.generation)

    def _login(self) -> None:
        """getAPISession with login authentication, alone in its request; the caller holds the lock."""
        credentials = self._credentials
        auth = LoginAuth(
            company_id=credentials.company_id,
            user_id=credentials.user_id,
            user_password=credentials.user_password,
            entity_id=credentials.entity_id or None,
        )
        function = Function(f"getAPISession-{uuid.uuid4().hex}", xml_functions.get_api_session())
        response, sent_at = self._send_login(auth, function)
        if response.auth_failed:
            where = f" in entity {credentials.entity_id!r}" if credentials.entity_id else ""
            raise LoginRefused(
                self._scrubber.scrub(
                    f"Intacct refused the login of user {credentials.user_id!r} at company "
                    f"{credentials.company_id!r}{where}: {response.message or 'authentication failed'} "
                    "(check sender_id, sender_password, company_id, user_id, user_password and entity_id, "
                    "or the model's `entity:` column)"
                ),
                first_errorno(response.auth_errors),
            )
        result = response.results[0] if response.results else None
        if result is None:
            raise TerminalIntacctError("getAPISession failed: the response has no result")
        if not result.ok:
            raise refusal(f"getAPISession failed: {result.message}", result.errors, self._scrubber)
        records = result.records()
        api = records[0] if records else {}
        self._check_entity(api.get("locationid"))
        session_id = str(api.get("sessionid") or "")
        if not session_id:
            raise TerminalIntacctError("getAPISession succeeded but returned no session id")
        secret = SecretStr(session_id)
        self._scrubber.add(secret)
        self._generation += 1
        self._session = Session(
            session_id=secret,
            endpoint=trusted_session_endpoint(str(api.get("endpoint") or ""), credentials.endpoint),
            renew_at=renew_at(response, sent_at),
            generation=self._generation,
        )
        self._logins += 1

    def _check_entity(self, answered: object) -> None:
        """A session opened in another entity than the one asked for would write records there (a
        record belongs to the entity whose session creates it): refuse it."""
        if self._entity is None or answered is None or str(answered) == self._entity:
            return

        def where(entity: str) -> str:
            return f"entity {entity!r}" if entity else "the top level"

        raise TerminalIntacctError(
            f"Intacct opened the session of user {self._credentials.user_id!r} in {where(str(answered))}, "
            f"not in {where(self._entity)} as asked; nothing is sent through it, since records written "
            "through it would belong to the wrong entity (check the user's entity restrictions)"
        )
