"""The Intacct client: sessions, retries, batches in flight, paged reads. See ``client.client``."""

from dbt_intacct.client.calls import ApiCall, CallOutcome, ClientStats, RetryNotice
from dbt_intacct.client.client import IntacctClient
from dbt_intacct.client.credentials import Credentials
from dbt_intacct.client.retry import RetryPolicy
from dbt_intacct.endpoints import DEFAULT_ENDPOINT

__all__ = [
    "DEFAULT_ENDPOINT",
    "ApiCall",
    "CallOutcome",
    "ClientStats",
    "Credentials",
    "IntacctClient",
    "RetryNotice",
    "RetryPolicy",
]
