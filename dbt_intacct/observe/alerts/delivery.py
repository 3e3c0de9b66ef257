"""Sending notices: one HTTP request or SMTP session per message, a timeout, one retry when it may help.

``send`` never raises: a broken alert channel must not fail a sync. It returns a ``DeliveryResult``
whose ``detail`` is safe to print: secrets are scrubbed from it and URLs are reduced to scheme, host
and port (a Slack webhook URL is itself the secret).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests

from dbt_intacct import __version__
from dbt_intacct.observe.alerts.decision import AlertDecision, Notification, State
from dbt_intacct.observe.alerts.messages import (
    email_message,
    pagerduty_event,
    slack_payload,
    sms_body,
    webhook_document,
)
from dbt_intacct.observe.alerts.rules import EmailRule, PagerDutyRule, SlackRule, SmsRule, WebhookRule
from dbt_intacct.secrets import SecretScrubber

RETRY_DELAY_SECONDS = 2.0
MAX_RETRY_AFTER_SECONDS = 30.0
USER_AGENT = f"dbt-intacct/{__version__}"
_TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})

log = logging.getLogger("dbt_intacct.alerts")


@dataclass(frozen=True)
class DeliveryResult:
    """How sending one notice went; ``detail`` is free of secrets."""

    alert: str
    kind: str
    event: str
    delivered: bool
    attempts: int
    detail: str


class _Undelivered(Exception):
    """A failed attempt; ``transient`` says whether a second attempt may succeed."""

    def __init__(self, detail: str, *, transient: bool, retry_after: float | None = None) -> None:
        self.detail = detail
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(detail)


def send(notification: Notification, *, retry_delay: float = RETRY_DELAY_SECONDS) -> DeliveryResult:
    """Deliver one notice through its rule's channel; never raises.

    Each message (one per SMS recipient, one per webhook, one email) gets a second attempt after
    ``retry_delay`` seconds (or the receiver's Retry-After, up to 30 s) when the first failed in a way
    that may pass: a timeout, a refused connection, HTTP 408/429/5xx, an SMTP 4xx reply.
    """
    rule = notification.rule
    scrubber = SecretScrubber(rule.secrets())
    attempts = 0
    details: list[str] = []
    delivered = True
    try:
        messages = _messages(notification)
    except Exception as exc:  # building a payload must not fail the sync either
        messages = []
        delivered = False
        details.append(f"could not build the message (unexpected {type(exc).__name__})")
    for label, attempt in messages:
        count, ok, detail = _with_one_retry(attempt, retry_delay)
        attempts = max(attempts, count)
        delivered = delivered and ok
        details.append(f"{label}{detail}" if label else detail)
    result = DeliveryResult(
        alert=rule.name,
        kind=rule.kind,
        event=notification.event,
        delivered=delivered,
        attempts=attempts,
        detail=scrubber.scrub("; ".join(details)),
    )
    # For library callers: a sync tells the user of every delivery in its own summary (text and JSON).
    if result.delivered:
        log.info("alert '%s' (%s) sent: %s", result.alert, result.kind, result.detail)
    else:
        log.info("alert '%s' (%s) not delivered: %s", result.alert, result.kind, result.detail)
    return result


def send_all(
    notifications: Sequence[Notification], *, retry_delay: float = RETRY_DELAY_SECONDS
) -> list[DeliveryResult]:
    """``send`` each notice in turn."""
    return [send(notification, retry_delay=retry_delay) for notification in notifications]


def settle(decision: AlertDecision, results: Sequence[DeliveryResult]) -> dict[str, State]:
    """The states to persist after sending: a rule whose notice was not delivered keeps its previous
    state, so the next run sees the same change and tries the notice again."""
    states = dict(decision.states)
    undelivered = {result.alert for result in results if not result.delivered}
    for notification in decision.notifications:
        if notification.rule.name in undelivered:
            states[notification.rule.name] = notification.previous_state
    return states


def _with_one_retry(attempt: Callable[[], str], retry_delay: float) -> tuple[int, bool, str]:
    try:
        return 1, True, attempt()
    except _Undelivered as first:
        if not first.transient:
            return 1, False, first.detail
        time.sleep(min(max(retry_delay, first.retry_after or 0.0), MAX_RETRY_AFTER_SECONDS))
        try:
            return 2, True, attempt()
        except _Undelivered as second:
            return 2, False, f"{second.detail} (after a retry: {first.detail})"
    except Exception as exc:  # a bug or an odd library error must still not reach the sync
        return 1, False, f"unexpected {type(exc).__name__}"


def _messages(n: Notification) -> list[tuple[str, Callable[[], str]]]:
    """(label, one attempt) for every message the notice becomes."""
    rule = n.rule
    timeout = rule.timeout_seconds
    if isinstance(rule, SlackRule):
        url = rule.url.get_secret_value()
        return [("", lambda: _post(url, timeout, json=slack_payload(n)))]
    if isinstance(rule, WebhookRule):
        url = rule.url.get_secret_value()
        headers = {name: value.get_secret_value() for name, value in rule.headers.items()}
        return [("", lambda: _post(url, timeout, json=webhook_document(n), headers=headers))]
    if isinstance(rule, PagerDutyRule):
        event = pagerduty_event(n, rule.routing_key.get_secret_value(), rule.source)
        return [("", lambda: _post(rule.url, timeout, json=event))]
    if isinstance(rule, SmsRule):
        auth = (rule.account_sid, rule.auth_token.get_secret_value())
        body = sms_body(n)
        return [
            (
                f"{recipient}: ",
                partial(
                    _post,
                    rule.messages_url,
                    timeout,
                    data={"From": rule.sender, "To": recipient, "Body": body},
                    auth=auth,
                ),
            )
            for recipient in rule.to
        ]
    return [("", lambda: _send_email(rule, n))]


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _post(
    url: str,
    timeout: float,
    *,
    json: Mapping[str, Any] | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> str:
    where = _where(url)
    try:
        response = requests.post(
            url,
            json=json,
            data=data,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            auth=auth,
            timeout=timeout,
            allow_redirects=False,  # a redirected POST would be resent as a GET, or to another host
        )
    except requests.Timeout:
        raise _Undelivered(f"{where} did not answer within {timeout:g} s", transient=True) from None
    except requests.ConnectionError:
        raise _Undelivered(f"could not connect to {where}", transient=True) from None
    except requests.RequestException as exc:
        raise _Undelivered(f"request to {where} failed ({type(exc).__name__})", transient=False) from None
    if 200 <= response.status_code < 300:
        return f"HTTP {response.status_code} from {where}"
    answer = " ".join(response.text.split())[:200]
    detail = f"HTTP {response.status_code} from {where}" + (f": {answer}" if answer else "")
    retry_after = _retry_after(response.headers.get("Retry-After"))
    raise _Undelivered(detail, transient=response.status_code in _TRANSIENT_HTTP, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the default delay will do


def _send_email(rule: EmailRule, n: Notification) -> str:
    where = f"{rule.smtp_host}:{rule.smtp_port}"
    message = email_message(n, rule.sender, rule.to)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(rule.smtp_host, rule.smtp_port, timeout=rule.timeout_seconds, context=context)
            if rule.ssl
            else smtplib.SMTP(rule.smtp_host, rule.smtp_port, timeout=rule.timeout_seconds)
        )
        with smtp:
            if rule.starttls:
                smtp.starttls(context=context)
            if rule.username is not None and rule.password is not None:
                smtp.login(rule.username, rule.password.get_secret_value())
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise _Undelivered(f"{where} refused the login ({exc.smtp_code})", transient=False) from None
    except smtplib.SMTPNotSupportedError:
        raise _Undelivered(
            f"{where} does not offer STARTTLS; set 'starttls: false' only on a trusted network",
            transient=False,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise _Undelivered(
            f"{where} refused every recipient ({', '.join(map(str, codes))})",
            transient=all(400 <= c < 500 for c in codes),
        ) from None
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise _Undelivered(
            f"{where} answered {exc.smtp_code} {' '.join(reply.split())[:200]}",
            transient=400 <= exc.smtp_code < 500,
        ) from None
    except ssl.SSLError as exc:
        raise _Undelivered(
            f"TLS with {where} failed ({exc.reason or type(exc).__name__})", transient=False
        ) from None
    except smtplib.SMTPServerDisconnected:
        raise _Undelivered(f"{where} closed the connection", transient=True) from None
    except smtplib.SMTPException as exc:
        raise _Undelivered(f"SMTP with {where} failed ({type(exc).__name__})", transient=False) from None
    except OSError as exc:  # after the SMTP errors: they are OSErrors too
        what = "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__})"
        raise _Undelivered(f"connection to {where} {what}", transient=True) from None
    if refused:
        # Not retried: the accepted recipients would get the message twice.
        raise _Undelivered(
            f"{where} accepted the message but refused {', '.join(sorted(refused))}", transient=False
        )
    return f"accepted by {where} for {len(rule.to)} recipient(s)"
