"""The run's Intacct clients, one per connection, made when a model first needs one, and the log of
their API calls until they are written to the warehouse."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC
from typing import Any

from dbt_intacct.client import ApiCall, IntacctClient, RetryPolicy
from dbt_intacct.config import Connection
from dbt_intacct.errors import ConfigError
from dbt_intacct.results import Progress


def lazy_client(
    clients: dict[str, IntacctClient],
    name: str,
    connection: Connection | None,
    calls: CallLog,
    progress: Progress,
) -> Callable[[], IntacctClient]:
    def retrying(kind: str, delay: float | None, attempt: int, max_attempts: int) -> None:
        when = f"in {delay:.1f} s" if delay else "now"
        progress.notice(
            f"Intacct request failed ({kind}); retrying {when} (attempt {attempt} of {max_attempts})"
        )

    def get() -> IntacctClient:
        if name not in clients:
            if connection is None:
                raise ConfigError(f"connection '{name}' is not configured")
            clients[name] = IntacctClient(
                connection.credentials(),
                timeout=connection.timeout_seconds,
                retry=RetryPolicy(max_attempts=connection.max_retries + 1),
                on_call=calls,
                on_retry=retrying,
            )
        return clients[name]

    return get


class CallLog:
    """Collects the client's API calls (redacted) until they are written to the warehouse."""

    def __init__(self) -> None:
        self._calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sequence = 0
        self.model_id: str | None = None

    def __call__(self, call: ApiCall) -> None:
        with self._lock:
            self._sequence += 1
            self._calls.append(
                {
                    "sequence": self._sequence,
                    "model_id": self.model_id,
                    "started_at": call.started_at.astimezone(UTC).replace(tzinfo=None),
                    "duration_ms": round(call.duration_ms, 3),
                    "url": call.url,
                    "http_status": call.http_status,
                    "outcome": str(call.outcome),
                    "function_count": call.function_count,
                    "attempt": call.attempt,
                    "fault": call.fault,
                    "error": call.error,
                    "request_xml": call.request_xml,
                    "response_xml": call.response_xml,
                }
            )

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            calls, self._calls = self._calls, []
        return calls
