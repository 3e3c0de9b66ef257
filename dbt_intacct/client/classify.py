"""What one HTTP exchange with the gateway means: a parsed ``Response``, or a ``Failure`` in its class.

Pure: no I/O, no threads, no session state; the secrets to scrub come with each call. The classes
(API.md sections 4 and 10):

- transient, safe to resend after a backoff (Retry-After honoured): HTTP 429, 408 and 5xx but 524;
  GW-0010 and the "API rate limit exceeded" / "Temporarily Off-line" wording at the control or
  authentication level, or at the result level when every function of the request failed that way
  (so nothing ran); a body that cannot be used, on 5xx, 408 or 429 or when it speaks of throttling;
  a connect that failed or timed out (the request never left);
- ambiguous, the request may have been applied: HTTP 524, a connection dropped or a read timed out
  after the body was sent;
- too large: HTTP 413, the request must be split;
- terminal: every other control-level failure (XL03000006 bad sender, XMLGW_JPP0002, PL04000055
  company expired, XL03000003 malformed request, each with a hint), a body that cannot be used
  outside 5xx (an HTML page on HTTP 200, a DTD), a redirect, a TLS failure, an invalid URL.

An authentication failure (a bad login, a rejected session) is no ``Failure`` here: the ``Response``
says ``auth_failed`` and the caller decides whether to log in again. Nor is one function's failure: it
is a ``FunctionResult`` with status failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from dbt_intacct.client.retry import parse_retry_after
from dbt_intacct.client.transport import Delivery, TransportError
from dbt_intacct.errors import (
    AmbiguousOutcomeError,
    IntacctError,
    LoginRefused,
    RequestTooLarge,
    TerminalIntacctError,
    TransientIntacctError,
)
from dbt_intacct.secrets import SecretScrubber
from dbt_intacct.xml.response import ErrorDetail, Response, parse_response

# Control-level errors that refuse the sender's credentials (a configuration error, like a refused login).
SENDER_REFUSED = frozenset({"XL03000006", "XMLGW_JPP0002"})
# Hints for the control-level errors a user can fix; the errorno stays in the message.
CONTROL_HINTS = {
    "XL03000006": "check sender_id and sender_password, and that the sender is authorised for this company "
    "(Company > Setup > Company > Security > Web Services authorizations)",
    "XMLGW_JPP0002": "check sender_id and sender_password",
    "PL04000055": "the company has expired; renew it in Intacct",
    "XL03000003": "Intacct could not read the request; this is a dbt-intacct bug, please report it",
}


class Verdict(StrEnum):
    """What may be done after a failed exchange."""

    TRANSIENT = "transient"  # nothing ran: resend after a backoff
    AMBIGUOUS = "ambiguous"  # may have been applied: resend only when that is safe
    TOO_LARGE = "too_large"  # refused for its size: send fewer functions per request
    TERMINAL = "terminal"  # no resend can help


@dataclass(frozen=True)
class Failure:
    """An exchange that failed as a whole: its verdict, the fault's ``kind`` for stats, what to say."""

    verdict: Verdict
    kind: str
    message: str
    retry_after: float | None = None
    errorno: str | None = None

    @property
    def retryable(self) -> bool:
        """Transient or ambiguous: the retry policy decides what happens next."""
        return self.verdict in (Verdict.TRANSIENT, Verdict.AMBIGUOUS)

    def error(self) -> IntacctError:
        """The exception a caller of the client sees for this failure."""
        if self.verdict is Verdict.AMBIGUOUS:
            return AmbiguousOutcomeError(self.message, self.errorno, self.retry_after)
        if self.verdict is Verdict.TRANSIENT:
            return TransientIntacctError(self.message, self.errorno, self.retry_after)
        if self.verdict is Verdict.TOO_LARGE:
            return RequestTooLarge(self.message, self.errorno)
        if self.kind == "control_failure" and self.errorno in SENDER_REFUSED:
            return LoginRefused(self.message, self.errorno)  # the sender's credentials: configuration
        return TerminalIntacctError(self.message, self.errorno)


def first_errorno(errors: Iterable[ErrorDetail]) -> str | None:
    """The first non-empty error number of ``errors``: usually the specific one."""
    return next((error.errorno for error in errors if error.errorno), None)


def refusal(message: str, errors: Iterable[ErrorDetail], scrubber: SecretScrubber) -> TerminalIntacctError:
    """A terminal error saying ``message`` (scrubbed), with the first error number of ``errors``."""
    return TerminalIntacctError(scrubber.scrub(message), first_errorno(errors))


def classify_reply(
    status: int, headers: Mapping[str, str], body: bytes, scrubber: SecretScrubber
) -> Response | Failure:
    """The parsed response when Intacct processed the request or refused its authentication; else
    the failure, classified (see the module docstring). Every text of the response (errors, keys,
    records) and every message is scrubbed of the known secrets, so nothing downstream sees them."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if status == 524:
        return Failure(
            Verdict.AMBIGUOUS,
            "http_524",
            "Intacct's CDN timed out (HTTP 524) while Intacct may still be applying the request",
            retry_after,
        )
    if status == 413:
        return Failure(
            Verdict.TOO_LARGE,
            "http_413",
            f"Intacct refused the request for its size (HTTP 413, {len(body)} bytes answered)",
            errorno="HTTP 413",
        )
    if 300 <= status < 400:
        return Failure(
            Verdict.TERMINAL,
            "redirect",
            f"the endpoint answered HTTP {status} (redirect to {headers.get('Location')!r}); "
            "set the endpoint to the final URL",
        )
    try:
        response = parse_response(body, http_status=status, scrubber=scrubber)
    except TransientIntacctError as error:
        kind = f"http_{status}" if status >= 500 or status in (408, 429) else "rate_limited"
        return Failure(Verdict.TRANSIENT, kind, scrubber.scrub(str(error)), retry_after)
    except TerminalIntacctError as error:
        return Failure(Verdict.TERMINAL, "unusable_body", scrubber.scrub(str(error)), errorno=error.errorno)
    request_errors = (*response.control_errors, *response.auth_errors)
    throttled = any(error.is_transient for error in request_errors) or (
        bool(response.results) and all(result.is_transient for result in response.results)
    )
    if status == 429 or throttled:
        reason = response.message or next((r.message for r in response.results if r.message), "")
        return Failure(
            Verdict.TRANSIENT,
            "rate_limited",
            scrubber.scrub(f"Intacct is throttling or off-line (HTTP {status}): {reason}".rstrip(": ")),
            retry_after,
            first_errorno(request_errors),
        )
    if status >= 500 or status == 408:
        return Failure(
            Verdict.TRANSIENT,
            f"http_{status}",
            scrubber.scrub(f"Intacct answered HTTP {status}: {response.message}".rstrip(": ")),
            retry_after,
        )
    if response.control_failed:
        errorno = first_errorno(response.control_errors)
        hint = CONTROL_HINTS.get(errorno or "", "")
        return Failure(
            Verdict.TERMINAL,
            "control_failure",
            scrubber.scrub(
                f"Intacct refused the request: {response.message or 'control failure without details'}"
                + (f" ({hint})" if hint else "")
            ),
            errorno=errorno,
        )
    return response


def classify_transport_failure(failure: TransportError, scrubber: SecretScrubber) -> Failure:
    """An exchange without a usable HTTP response: transient when the request never left, ambiguous
    when it may have reached Intacct, terminal for a setup problem (TLS, URL, an answer too large)."""
    message = scrubber.scrub(str(failure))
    if failure.delivery is Delivery.NOT_SENT:
        return Failure(Verdict.TRANSIENT, failure.kind, message)
    if failure.delivery is Delivery.MAYBE_SENT:
        return Failure(Verdict.AMBIGUOUS, failure.kind, f"{message}; the request may have been applied")
    return Failure(Verdict.TERMINAL, failure.kind, message)
