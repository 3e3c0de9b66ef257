"""A small client of the emulator's admin API (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from dbt_intacct.emulator.config import ADMIN_PATH


class EmulatorAdminError(RuntimeError):
    """The admin API refused a request."""


class EmulatorAdmin:
    """Stats, records, faults, reset and sessions of a running emulator.

    ``url`` may be the admin root (``http://127.0.0.1:PORT/_emulator``), the gateway URL, or the bare
    ``http://127.0.0.1:PORT``.
    """

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}{ADMIN_PATH}"
        self.timeout = timeout

    def _call(self, method: str, route: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback http to the emulator by design
            f"{self.base}/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise EmulatorAdminError(f"{method} {route}: HTTP {exc.code}: {detail}") from None

    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "url": ..., "admin_url": ...}``."""
        result: dict[str, Any] = self._call("GET", "health")
        return result

    def stats(self) -> dict[str, Any]:
        """Counters (requests, functions by status, api_transactions), records per object, faults injected."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def api_transactions(self) -> int:
        """The billing counter alone."""
        return int(self.stats()["api_transactions"])

    def records(self, object_name: str | None = None) -> Any:
        """Stored records of one object (a list), or of every object (a dict by object name)."""
        return self._call("GET", "records" + (f"/{quote(object_name)}" if object_name else ""))

    def faults(self) -> dict[str, Any]:
        """The faults in force and how many were injected."""
        result: dict[str, Any] = self._call("GET", "faults")
        return result

    def set_faults(self, settings: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Change faults, e.g. ``set_faults(http_503={"next": 2}, latency_ms=50, seed=7)``."""
        result: dict[str, Any] = self._call("PUT", "faults", {**(settings or {}), **more})
        return result

    def clear_faults(self) -> dict[str, Any]:
        """No faults, no latency, no concurrency limit."""
        result: dict[str, Any] = self._call("DELETE", "faults")
        return result

    def reset(self) -> None:
        """Forget records, counters, completed control IDs and faults, and restore the reference data
        the emulator started with (sessions stay valid)."""
        self._call("POST", "reset", {})

    def expire_sessions(self) -> int:
        """End every session; returns how many there were."""
        return int(self._call("POST", "sessions/expire", {})["expired"])

    def reference(self) -> dict[str, Any]:
        """The reference data in use."""
        result: dict[str, Any] = self._call("GET", "reference")
        return result

    def set_reference(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the reference data (same JSON shape as ``--reference-data``)."""
        result: dict[str, Any] = self._call("PUT", "reference", data)
        return result
