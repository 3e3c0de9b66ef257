"""Intacct's error shapes and the error numbers the emulator answers with.

Every ``<error>`` the gateway writes has ``errorno``, ``description``, a non-empty ``description2`` and
``correction``. Numbers marked *chosen* below are the emulator's own choice where API.md found no
documented number; docs/emulator.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt_intacct.emulator.context import FunctionAnswer

# Documented numbers (API.md section 4).
XML_PARSE = "XL03000003"
AUTHENTICATION = "XL03000006"
TRANSACTION_ROLLED_BACK = "XL03000009"
DUPLICATE = "BL34000061"
GENERIC_RECORD = "BL01001973"
REFERENCE_NOT_FOUND = "BL03000025"
RATE_LIMITED = "GW-0010"
QUERY_FAILED = "Query Failed"  # what the SDK fixtures show as errorno for a failed query
GENERIC_PROCESSING = "DL02000001"  # "There was an error processing the request."

# Chosen numbers (UNVERIFIED against a live company).
REPEATED_CONTROLID = "XL03000010"
REQUIRED_FIELD = "BL03000018"
INVALID_VALUE = "BL03000029"
UNKNOWN_FIELD = "BL03000030"
UNBALANCED_ENTRY = "BL03000043"
INVALID_PAYMENT = "BL03000050"


@dataclass(frozen=True)
class GatewayError:
    """One ``<error>`` element."""

    errorno: str
    description2: str
    description: str = ""
    correction: str = ""


class FunctionFailed(Exception):
    """A function cannot run; its ``<result>`` fails with these errors and nothing it did is kept."""

    def __init__(self, *errors: GatewayError) -> None:
        self.errors = errors
        super().__init__(errors[0].description2 if errors else "function failed")


class PartlyWritten(FunctionFailed):
    """A create or update failed on one object after writing the ones before it, which stay written."""

    def __init__(self, answer: FunctionAnswer, errors: tuple[GatewayError, ...]) -> None:
        self.answer = answer  # what was written: its data lists those records, its billable counts them
        super().__init__(*errors)


class RequestRefused(Exception):
    """The whole request fails at the control level; nothing runs."""

    def __init__(self, error: GatewayError, http_status: int = 200) -> None:
        self.error = error
        self.http_status = http_status
        super().__init__(error.description2)


class AuthenticationFailed(Exception):
    """The operation's authentication fails; no function runs and no ``<result>`` is written."""

    def __init__(self, error: GatewayError) -> None:
        self.error = error
        super().__init__(error.description2)


def wrapped(label: str, verb: str, error: GatewayError) -> FunctionFailed:
    """The specific error followed by Intacct's generic 'Could not <verb> <label> record!' wrapper."""
    return FunctionFailed(error, GatewayError(GENERIC_RECORD, f"Could not {verb} {label} record!"))


def parse_error(message: str) -> GatewayError:
    """A request Intacct cannot read as its XML schema (also used for legacy element order)."""
    return GatewayError(
        XML_PARSE, message, "XML Parse schema error", "Check the XML request against the DTD."
    )


def duplicate(label: str, verb: str, value: str) -> FunctionFailed:
    """BL34000061 plus the generic wrapper, as Intacct answers a create with an existing ID."""
    return wrapped(
        label,
        verb,
        GatewayError(
            DUPLICATE,
            f"Another {label} with the given value(s) {value} already exists",
            "",
            "Use a unique value instead.",
        ),
    )


def not_found(label: str, verb: str, message: str) -> FunctionFailed:
    """A record the function names does not exist."""
    return FunctionFailed(
        GatewayError(GENERIC_RECORD, message, "", f"Check the key of the {label} to {verb}.")
    )


def required(label: str, verb: str, field: str, where: str) -> FunctionFailed:
    """A required field is missing or empty."""
    return wrapped(
        label,
        verb,
        GatewayError(
            REQUIRED_FIELD, f"Required field {field} is missing on {where}.", "", f"Provide {field}."
        ),
    )


def invalid_value(label: str, verb: str, field: str, value: str, expected: str) -> FunctionFailed:
    """A field's value has the wrong form (date, number, boolean, one of a list)."""
    return wrapped(
        label,
        verb,
        GatewayError(INVALID_VALUE, f"Invalid value '{value}' for {field}: expected {expected}.", "", ""),
    )


def unknown_field(label: str, verb: str, field: str, object_name: str) -> FunctionFailed:
    """An element that is not a field (or declared custom field) of the object."""
    return wrapped(
        label,
        verb,
        GatewayError(
            UNKNOWN_FIELD,
            f"{field} is not a valid field of {object_name}.",
            "",
            "Remove the element, or declare the custom field in the company.",
        ),
    )


def missing_reference(label: str, verb: str, what: str, value: str, field: str) -> FunctionFailed:
    """A field refers to something (account, customer, term ...) that does not exist."""
    return wrapped(
        label,
        verb,
        GatewayError(
            REFERENCE_NOT_FOUND,
            f"{what} '{value}' given in {field} does not exist.",
            "",
            f"Use an existing {what.lower()}.",
        ),
    )
