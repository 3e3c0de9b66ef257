"""One small tree of errors. Callers decide what to do by category, never by message text.

- ``ConfigError``: the user's YAML, intacct.yml or flags are wrong; nothing is sent (exit code 2).
- ``WarehouseError``: the warehouse refused a query or the relation is not what the spec says.
- ``IntacctError``: the Intacct side failed as a whole (not one row):
  ``TransientIntacctError`` may be retried, ``TerminalIntacctError`` must stop the run.
- ``RowRejected``: one row cannot become a valid Intacct function; only that row fails.
- ``ArtifactError``: a file the tool writes (run results, the report) could not be written; the previous
  one is left whole.
"""

from __future__ import annotations


class DbtIntacctError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(DbtIntacctError):
    """The user's configuration is wrong; the message says what to change."""


class SpecError(ConfigError):
    """A model's `meta.intacct` block is invalid."""

    def __init__(self, model: str, key: str, problem: str) -> None:
        self.model = model
        self.key = key
        self.problem = problem
        super().__init__(f"model '{model}', key '{key}': {problem}")


class WarehouseError(DbtIntacctError):
    """A warehouse query failed, or a relation does not match its spec."""


class IntacctError(DbtIntacctError):
    """Intacct (or the network to it) failed for a whole request."""

    def __init__(self, message: str, errorno: str | None = None) -> None:
        self.errorno = errorno
        super().__init__(message)


class TransientIntacctError(IntacctError):
    """Worth retrying: throttling, 5xx, timeouts, dropped connections, an expired session."""

    def __init__(self, message: str, errorno: str | None = None, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, errorno)


class AmbiguousOutcomeError(TransientIntacctError):
    """The request may have been applied (HTTP 524, connection lost after sending); verify, then resend."""


class TerminalIntacctError(IntacctError):
    """Retrying cannot help: bad credentials, an unauthorised sender, a request Intacct cannot parse."""


class LoginRefused(TerminalIntacctError):
    """Intacct refused the login (wrong company, user, password, sender or entity): a configuration error."""


class RequestTooLarge(TerminalIntacctError):
    """Intacct refused a request for its size (HTTP 413): send fewer functions per request."""


class RowRejected(DbtIntacctError):
    """One row cannot be turned into a valid Intacct function."""

    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class Interrupted(BaseException):  # like KeyboardInterrupt: not caught by `except Exception`
    """The process received SIGINT or SIGTERM: stop, record what happened, and exit."""

    def __init__(self, signal_name: str, signal_number: int) -> None:
        self.signal_name = signal_name
        self.exit_code = 128 + signal_number
        super().__init__(f"interrupted by {signal_name}")


class ArtifactError(DbtIntacctError):
    """An artifact (run results, the report) could not be written; the previous file is left whole."""
