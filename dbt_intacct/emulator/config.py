"""The emulator's settings, with the documented demo defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GATEWAY_PATH = "/ia/xml/xmlgw.phtml"
ADMIN_PATH = "/_emulator"

DEMO_SENDER_ID = "demo_sender"
DEMO_SENDER_PASSWORD = "demo_sender_pw"  # noqa: S105 - a documented demo credential, not a secret
DEMO_COMPANY_ID = "demo_company"
DEMO_USER_ID = "demo_user"
DEMO_USER_PASSWORD = "demo_password"  # noqa: S105 - a documented demo credential, not a secret

DEFAULT_PORT = 8765
DEFAULT_SESSION_TIMEOUT = 3600.0
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class EmulatorConfig:
    """How to run the emulator. Port 0 picks a free port."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path | None = None  # None keeps everything in memory
    sender_id: str = DEMO_SENDER_ID
    sender_password: str = field(default=DEMO_SENDER_PASSWORD, repr=False)
    company_id: str = DEMO_COMPANY_ID
    user_id: str = DEMO_USER_ID
    user_password: str = field(default=DEMO_USER_PASSWORD, repr=False)
    session_timeout: float = DEFAULT_SESSION_TIMEOUT  # seconds, sliding with every call
    reference_data: Path | None = None  # JSON file replacing the built-in reference data
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    faults: Mapping[str, Any] = field(default_factory=dict)  # as the admin API's PUT /_emulator/faults
