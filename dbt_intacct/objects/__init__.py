"""The catalogue of the seven Intacct objects and the builders of their function bodies.

Nothing here imports dbt, the client or the emulator: a row's values go in, a checked function body
(an lxml element such as ``<create>`` or ``<create_invoice>``) comes out, or ``RowRejected``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dbt_intacct.objects.ar_adjustment import AR_ADJUSTMENT
from dbt_intacct.objects.ar_payment import AR_PAYMENT
from dbt_intacct.objects.base import FieldSpec, FieldType, IntacctObject, LineArraySpec, NaturalKey, RecordRef
from dbt_intacct.objects.contact import CONTACT
from dbt_intacct.objects.customer import CUSTOMER
from dbt_intacct.objects.invoice import INVOICE
from dbt_intacct.objects.journal_entry import JOURNAL_ENTRY
from dbt_intacct.objects.naming import closest
from dbt_intacct.objects.transaction import TRANSACTION

OBJECTS: Mapping[str, IntacctObject] = MappingProxyType(
    {
        obj.name: obj
        for obj in (AR_ADJUSTMENT, AR_PAYMENT, CONTACT, CUSTOMER, INVOICE, JOURNAL_ENTRY, TRANSACTION)
    }
)


def get_object(name: str) -> IntacctObject:
    """The object called `name` (ar_adjustment, ar_payment, contact, customer, invoice, journal_entry,
    transaction); KeyError otherwise."""
    return OBJECTS[name]


__all__ = [
    "OBJECTS",
    "FieldSpec",
    "FieldType",
    "IntacctObject",
    "LineArraySpec",
    "NaturalKey",
    "RecordRef",
    "closest",
    "get_object",
]
