"""The Intacct client: sessions, retries, batches in flight, paged reads. See ``client.client``."""

from dbt_intacct.client.client import (
    DEFAULT_ENDPOINT,
    ApiCall,
    CallOutcome,
    ClientStats,
    Credentials,
    IntacctClient,
)
from dbt_intacct.client.retry import RetryPolicy

__all__ = [
    "DEFAULT_ENDPOINT",
    "ApiCall",
    "CallOutcome",
    "ClientStats",
    "Credentials",
    "IntacctClient",
    "RetryPolicy",
]
