"""Which Intacct endpoints the tool may talk to: any https:// URL, plain http:// only on loopback.

Imports nothing of the package, so that both ``config`` and ``client`` can use the one rule.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problem(endpoint: str) -> str | None:
    """Why ``endpoint`` may not be used, or None when it may (plain http is for the local emulator)."""
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return None
    return (
        f"the Intacct endpoint {endpoint!r} must be an https:// URL "
        "(plain http:// is only allowed to a loopback address, such as the local emulator)"
    )
