"""Contact: the generic CONTACT object (API.md 9.3). Insert, update, upsert; nothing, clear, delete.

Fields sit directly under CONTACT (no DISPLAYCONTACT wrapper). Custom fields are not offered: neither the
SDKs nor the docs show them on CONTACT. An update keyed by RECORDNO may change CONTACTNAME (a rename);
keyed by CONTACTNAME alone it cannot (UNVERIFIED in Intacct; the builder refuses a differing name).
"""

from __future__ import annotations

from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import generic_functions, mail_address, names_and_numbers, taxable
from dbt_intacct.objects.fields import NaturalKey
from dbt_intacct.objects.layout import DeleteForm, Node, status, text

_FIELDS: tuple[Node, ...] = (
    text("CONTACTNAME", 200, required=True, identifying=True, doc="Unique: the contact's ID"),
    text("PRINTAS", 200, required=True),
    text("COMPANYNAME", 100),
    taxable(),
    text("TAXID"),
    text("TAXGROUP"),
    *names_and_numbers(),
    status(),
    mail_address(),
)

_CREATE, _UPDATE = generic_functions("CONTACT", _FIELDS)

CONTACT = IntacctObject(
    name="contact",
    sync_rank=20,
    intacct_object="CONTACT",
    modes=("insert", "update", "upsert"),
    delete_behaviours=("nothing", "clear", "delete"),
    id_field="CONTACTNAME",
    id_mapping_key="CONTACTNAME",
    custom_fields=None,
    create=_CREATE,
    update=_UPDATE,
    deletes=(
        DeleteForm(function="delete", uses="recordno"),
        DeleteForm(function="delete_contact", uses="id", attribute="contactname"),
    ),
    result_element="contact",
    natural_keys=(NaturalKey("CONTACTNAME", ("CONTACTNAME",)),),
)
