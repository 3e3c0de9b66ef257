"""Customer: the generic CUSTOMER object (API.md 9.2). Insert, update, upsert; nothing, clear, delete."""

from __future__ import annotations

from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import generic_functions, mail_address, names_and_numbers, taxable
from dbt_intacct.objects.fields import NaturalKey
from dbt_intacct.objects.layout import (
    CustomFieldsSlot,
    DeleteForm,
    boolean,
    choice,
    group,
    money,
    multiselect,
    status,
    text,
)

_FIELDS = (
    text("CUSTOMERID", 20, identifying=True, doc="The customer's ID (omit it if the company auto-numbers)"),
    text("NAME", 100, required=True),
    group(
        "DISPLAYCONTACT",
        text("PRINTAS", 200, required=True, doc="Defaults to NAME on create, as the SDK does"),
        text("COMPANYNAME", 100),
        taxable(),
        text("TAXGROUP"),
        *names_and_numbers(),
        mail_address(),
    ),
    boolean("ONETIME"),
    status(),
    boolean("HIDEDISPLAYCONTACT"),
    text("CUSTTYPE"),
    text("CUSTREPID"),
    text("PARENTID", 20),
    text("GLGROUP"),
    text("TERRITORYID"),
    text("SUPDOCID", 20),
    text("TERMNAME"),
    text("OFFSETGLACCOUNTNO"),
    text("ARACCOUNT"),
    text("SHIPPINGMETHOD"),
    text("RESALENO"),
    text("TAXID"),
    money("CREDITLIMIT"),
    boolean("ONHOLD"),
    multiselect("DELIVERYOPTIONS", "Print", "E-Mail", doc="SDK spelling (UNVERIFIED against the docs)"),
    multiselect("DELIVERY_OPTIONS", "Print", "E-Mail", doc="docs spelling (UNVERIFIED against the SDK)"),
    text("CUSTMESSAGEID"),
    text("COMMENTS", 200),
    text("CURRENCY"),
    text("ARINVOICEPRINTTEMPLATEID"),
    text("OEQUOTEPRINTTEMPLATEID"),
    text("OEORDERPRINTTEMPLATEID"),
    text("OELISTPRINTTEMPLATEID"),
    text("OEINVOICEPRINTTEMPLATEID"),
    text("OEADJPRINTTEMPLATEID"),
    text("OEOTHERPRINTTEMPLATEID"),
    group("CONTACTINFO", text("CONTACTNAME", 200)),
    group("BILLTO", text("CONTACTNAME", 200)),
    group("SHIPTO", text("CONTACTNAME", 200)),
    choice("OBJECTRESTRICTION", "Unrestricted", "RootOnly", "Restricted"),
    multiselect("RESTRICTEDLOCATIONS"),
    multiselect("RESTRICTEDDEPARTMENTS"),
    CustomFieldsSlot(),
)

_CREATE, _UPDATE = generic_functions("CUSTOMER", _FIELDS, defaults=(("DISPLAYCONTACT.PRINTAS", "NAME"),))

CUSTOMER = IntacctObject(
    name="customer",
    sync_rank=10,  # synced first: others refer to customers
    intacct_object="CUSTOMER",
    modes=("insert", "update", "upsert"),
    delete_behaviours=("nothing", "clear", "delete"),
    id_field="CUSTOMERID",
    id_mapping_key="CUSTOMERID",
    custom_fields="generic",
    create=_CREATE,
    update=_UPDATE,
    deletes=(
        DeleteForm(function="delete", uses="recordno"),
        DeleteForm(function="delete_customer", uses="id", attribute="customerid"),
    ),
    result_element="customer",
    natural_keys=(NaturalKey("CUSTOMERID", ("CUSTOMERID",)),),
)
