"""What it takes to log in to one Intacct company."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from dbt_intacct.endpoints import DEFAULT_ENDPOINT


@dataclass(frozen=True)
class Credentials:
    """Web Services sender credentials and an API user of one company; passwords as secrets."""

    sender_id: str
    sender_password: SecretStr
    company_id: str
    user_id: str
    user_password: SecretStr
    entity_id: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
