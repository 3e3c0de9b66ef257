"""Invoice: ARINVOICE through the legacy `create_invoice` / `update_invoice` (API.md 9.6). Insert, update;
nothing, clear.

Legacy functions are validated by element order, so both bodies are written in the SDK's fixed order
whatever order the row has. Where the SDKs and the docs disagree (`action` before `batchkey`), the SDK
order is used: it is what Intacct's own clients send.

update_invoice calls the bill-to and ship-to contacts `payto` and `returnto`; the mapping keys
`billto.contactname` / `shipto.contactname` are accepted for both functions (and `payto.*` / `returnto.*`
for the update). Lines are updated by 1-based position (`updatelineitem line_num`), extra lines added as
`lineitem`; a row with fewer lines than the invoice has is rejected (the function cannot delete lines).
Clearing sends empty elements, which legacy functions are believed to treat as "clear" (UNVERIFIED).
"""

from __future__ import annotations

from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import ar_line, legacy_exchange_rate
from dbt_intacct.objects.fields import NaturalKey
from dbt_intacct.objects.layout import (
    CustomFieldsSlot,
    DeleteForm,
    FunctionLayout,
    Shape,
    Style,
    boolean,
    choice,
    date_,
    group,
    integer,
    line_array,
    one_of,
    positional_lines,
    text,
)

_customerid = text("customerid", 20, required=True)
_datecreated = date_("datecreated", required=True)
_dateposted = date_("dateposted")
_datedue = date_("datedue")
_termname = text("termname")
_action = choice("action", "Draft", "Submit")
_invoiceno = text("invoiceno", identifying=True, doc="The invoice number (RECORDID when read back)")
_ponumber = text("ponumber")
_description = text("description")
_billto = text("contactname", 200)
_shipto = text("contactname", 200)
_supdocid = text("supdocid", 20)
_currency, _exchratedate, _exchrate = text("currency"), date_("exchratedate"), legacy_exchange_rate()[3]

_LINES = line_array(
    "invoiceitems", "lineitem", *ar_line(revenue_recognition=True, total_trx_amount=False), style=Style.LEGACY
)

_CREATE = FunctionLayout(
    name="create_invoice",
    shape=Shape(
        (
            _customerid,
            _datecreated,
            _dateposted,
            # One of the two is needed; the docs list both, the SDK writes termname after datedue.
            one_of(_datedue, _termname, required=True, exclusive=False),
            _action,
            integer("batchkey"),
            _invoiceno,
            _ponumber,
            boolean("onhold"),
            _description,
            text("externalid"),
            group("billto", _billto),
            group("shipto", _shipto),
            text("basecurr"),
            _currency,
            _exchratedate,
            _exchrate,
            boolean("nogl"),
            _supdocid,
            text("taxsolutionid"),
            CustomFieldsSlot(),
            _LINES,
        ),
        style=Style.LEGACY,
        label="create_invoice",
    ),
)

_UPDATE = FunctionLayout(
    name="update_invoice",
    shape=Shape(
        (
            _customerid,
            _datecreated,
            _dateposted,
            one_of(_datedue, _termname, required=False, exclusive=False),
            _action,
            _invoiceno,
            _ponumber,
            _description,
            group("payto", _billto, path="billto"),
            group("returnto", _shipto, path="shipto"),
            _currency,
            _exchratedate,
            _exchrate,
            _supdocid,
            CustomFieldsSlot(),
            positional_lines(
                _LINES,
                wrapper="updateinvoiceitems",
                update_item="updatelineitem",
                new_item="lineitem",
                function="update_invoice",
            ),
        ),
        style=Style.LEGACY,
        label="update_invoice",
        aliases={"payto.contactname": "billto.contactname", "returnto.contactname": "shipto.contactname"},
    ),
    creating=False,
    attributes=(("key", True), ("externalkey", False)),
)

INVOICE = IntacctObject(
    name="invoice",
    sync_rank=30,
    intacct_object="ARINVOICE",
    modes=("insert", "update"),
    delete_behaviours=("nothing", "clear"),
    id_field="RECORDID",
    id_mapping_key="invoiceno",
    custom_fields="legacy",
    create=_CREATE,
    update=_UPDATE,
    deletes=(DeleteForm(function="delete_invoice", uses="recordno", attribute="key"),),
    read_fields=(
        "EXTERNALID",
        "RECORDID",
        "CUSTOMERID",
        "DOCNUMBER",
        "DESCRIPTION",
        "STATE",
        "TERMNAME",
        "WHENCREATED",
        "WHENPOSTED",
        "WHENDUE",
        "TOTALENTERED",
        "TOTALPAID",
        "TOTALDUE",
        "CURRENCY",
    ),
    natural_keys=(NaturalKey("RECORDID", ("invoiceno",)), NaturalKey("EXTERNALID", ("externalid",))),
    adopts_existing=True,
    external_reference_key="externalid",
)
