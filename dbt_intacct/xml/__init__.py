"""Intacct's XML wire format: building requests, parsing responses (hardened against hostile XML)."""

from dbt_intacct.xml.request import Function, LoginAuth, SessionAuth, build_request
from dbt_intacct.xml.response import ErrorDetail, FunctionResult, Response, parse_response

__all__ = [
    "ErrorDetail",
    "Function",
    "FunctionResult",
    "LoginAuth",
    "Response",
    "SessionAuth",
    "build_request",
    "parse_response",
]
