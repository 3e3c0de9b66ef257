"""Checks shared by every write: required fields, values, and references to what must exist."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator.context import FunctionContext
from dbt_intacct.emulator.fields import Record, is_blank, parse_decimal

# Reference table -> how a message names one of its rows.
_REFERENCE_LABELS = {
    "gl_accounts": "GL account",
    "account_labels": "Account label",
    "journals": "Journal",
    "locations": "Location",
    "entities": "Entity",
    "departments": "Department",
    "items": "Item",
    "payment_terms": "Payment term",
    "bank_accounts": "Bank account",
    "transaction_definitions": "Transaction definition",
}


class Rules:
    """Checks for one function writing one kind of record; each failure names the field."""

    def __init__(self, ctx: FunctionContext, label: str, verb: str) -> None:
        self.ctx = ctx
        self.label = label
        self.verb = verb

    def require(self, value: Any, field: str, where: str) -> None:
        """Fail when a required value is missing or empty."""
        if is_blank(value):
            raise errors.required(self.label, self.verb, field, where)

    def decimal(self, value: str, field: str) -> Decimal:
        """A value as a decimal number."""
        number = parse_decimal(value)
        if number is None:
            raise errors.invalid_value(self.label, self.verb, field, value, "a decimal number below 10^15")
        return number

    def invalid(self, field: str, value: str, expected: str) -> errors.FunctionFailed:
        """The error for a value of the wrong form."""
        return errors.invalid_value(self.label, self.verb, field, value, expected)

    def reference(self, table: str, value: Any, field: str) -> None:
        """Fail when a given (non-empty) value is not a row of a reference table."""
        if isinstance(value, str) and value and not self.ctx.catalogue.reference.has(table, value):
            raise errors.missing_reference(self.label, self.verb, _REFERENCE_LABELS[table], value, field)

    def record(self, object_name: str, what: str, value: str, field: str) -> Record:
        """The record a natural ID names (a customer for CUSTOMERID); fails when there is none, or when
        it is private to an entity this session is not in (as Intacct does)."""
        found = self.ctx.seen(self.ctx.store.get_by_natural_id(object_name, value))
        if found is None:
            raise errors.missing_reference(self.label, self.verb, what, value, field)
        return found

    def customer(self, value: Any, field: str) -> Record | None:
        """The customer a CUSTOMERID names, when one is given."""
        if not isinstance(value, str) or not value:
            return None
        return self.record("CUSTOMER", "Customer", value, field)

    def fail(self, errorno: str, message: str, correction: str = "") -> errors.FunctionFailed:
        """A rule-specific failure followed by the generic wrapper."""
        return errors.wrapped(self.label, self.verb, errors.GatewayError(errorno, message, "", correction))
