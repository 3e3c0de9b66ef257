"""Transaction: an Order Entry document (SODOCUMENT) through the legacy `create_sotransaction` /
`update_sotransaction` (API.md 9.8). Insert, update; nothing, clear.

Which "Transaction" is meant is UNVERIFIED (API.md 9.1); Order Entry is the most likely. A document is
keyed by its DOCID, "<transaction definition>-<document number>" (e.g. `Sales Order-SO0042`): updates need
it, and create_sotransaction is believed to answer it as its <key> (UNVERIFIED: an all-digit key is taken
as a RECORDNO instead). Lines are updated by 1-based position (`updatesotransitem line_num`), extra lines
added as `sotransitem`; a row with fewer lines than the document has is rejected. Line `itemdetails`
(serial/lot/bin details) are not offered.
"""

from __future__ import annotations

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import legacy_exchange_rate
from dbt_intacct.objects.fields import NaturalKey, RecordRef
from dbt_intacct.objects.layout import (
    CustomFieldsSlot,
    DeleteForm,
    FunctionLayout,
    Shape,
    Style,
    boolean,
    checked_key,
    date_,
    group,
    line_array,
    money,
    positional_lines,
    quantity,
    text,
)

_ITEMS = line_array(
    "sotransitems",
    "sotransitem",
    text("bundlenumber"),
    text("itemid", required=True),
    text("itemdesc"),
    boolean("taxable"),
    text("warehouseid"),
    quantity("quantity", required=True),
    text("unit"),
    quantity("discountpercent"),
    quantity("price", doc="Unit price: written as given (Order Entry prices may carry more than 2 decimals)"),
    text("discsurchargememo"),
    text("locationid"),
    text("departmentid"),
    text("memo"),
    CustomFieldsSlot(),
    text("revrectemplate"),
    date_("revrecstartdate"),
    date_("revrecenddate"),
    text("renewalmacro"),
    text("projectid"),
    text("taskid"),
    text("costtypeid"),
    text("customerid"),
    text("vendorid"),
    text("employeeid"),
    text("classid"),
    text("contractid"),
    text("fulfillmentstatus"),
    text("taskno"),
    text("billingtemplate"),
    style=Style.LEGACY,
)

_SUBTOTAL_FIELDS = (
    text("description", required=True),
    money("total", required=True),
    quantity("absval"),
    quantity("percentval"),
    text("locationid"),
    text("departmentid"),
    text("projectid"),
    text("customerid"),
    text("vendorid"),
    text("employeeid"),
    text("classid"),
    text("itemid"),
    text("contractid"),
)

_datecreated = date_("datecreated", required=True)
_dateposted = date_("dateposted")
_origdocdate = date_("origdocdate")
_referenceno = text("referenceno")
_termname = text("termname")
_datedue = date_("datedue")
_message = text("message")
_shippingmethod = text("shippingmethod")
_shipto = group("shipto", text("contactname", 200))
_billto = group("billto", text("contactname", 200))
_supdocid = text("supdocid", 20)
_vsoepricelist = text("vsoepricelist")
_state = text("state", doc="e.g. Pending, Draft")
_projectid = text("projectid")
_exchange = legacy_exchange_rate()

_CREATE = FunctionLayout(
    name="create_sotransaction",
    shape=Shape(
        (
            text("transactiontype", required=True, identifying=True, doc="The transaction definition"),
            _datecreated,
            _dateposted,
            text("createdfrom", doc="DOCID of the document this one is converted from"),
            text("customerid", 20, required=True),
            text("documentno", identifying=True, doc="Blank: the definition numbers it"),
            _origdocdate,
            _referenceno,
            _termname,
            _datedue,
            _message,
            _shippingmethod,
            _shipto,
            _billto,
            _supdocid,
            text("externalid"),
            *_exchange,
            _vsoepricelist,
            CustomFieldsSlot(),
            _state,
            _projectid,
            _ITEMS,
            line_array("subtotals", "subtotal", *_SUBTOTAL_FIELDS, style=Style.LEGACY, min_lines=0),
        ),
        style=Style.LEGACY,
        label="create_sotransaction",
    ),
)

_UPDATE = FunctionLayout(
    name="update_sotransaction",
    shape=Shape(
        (
            _datecreated,
            _dateposted,
            _referenceno,
            _termname,
            _datedue,  # on update, datedue comes before origdocdate
            _origdocdate,
            _message,
            _shippingmethod,
            _shipto,
            _billto,
            _supdocid,
            *_exchange,
            _vsoepricelist,
            CustomFieldsSlot(),
            _state,
            _projectid,
            positional_lines(
                _ITEMS,
                wrapper="updatesotransitems",
                update_item="updatesotransitem",
                new_item="sotransitem",
                function="update_sotransaction",
            ),
            line_array(
                "subtotals",
                "updatesubtotal",
                *_SUBTOTAL_FIELDS,
                style=Style.LEGACY,
                wrapper="updatesubtotals",
                min_lines=0,
            ),
        ),
        style=Style.LEGACY,
        label="update_sotransaction",
    ),
    creating=False,
    attributes=(("key", True),),
)


class Transaction(IntacctObject):
    """SODOCUMENT: keyed by DOCID rather than RECORDNO."""

    def _update_attributes(self, ref: RecordRef) -> dict[str, str]:
        if not ref.id:
            raise RowRejected(None, "cannot update the SODOCUMENT: update_sotransaction needs its DOCID")
        return {"key": checked_key(str(ref.id))}

    def _ref_from_key(self, key: str) -> RecordRef:
        # Believed to be the DOCID ("Sales Order-SO0042", never all digits); a RECORDNO would be digits.
        return RecordRef(recordno=key) if key.isdigit() else RecordRef(id=key)


TRANSACTION = Transaction(
    name="transaction",
    sync_rank=40,
    intacct_object="SODOCUMENT",
    modes=("insert", "update"),
    delete_behaviours=("nothing", "clear"),
    id_field="DOCID",
    id_mapping_key=None,  # no single mapping key: DOCID is "<transactiontype>-<documentno>"
    custom_fields="legacy",
    create=_CREATE,
    update=_UPDATE,
    deletes=(DeleteForm(function="delete_sotransaction", uses="id", attribute="key"),),
    read_fields=(
        "EXTERNALID",
        "DOCID",
        "DOCNO",
        "DOCPARID",
        "CUSTVENDID",
        "WHENCREATED",
        "WHENDUE",
        "STATE",
        "TOTAL",
        "PONUMBER",
    ),
    natural_keys=(
        NaturalKey("DOCID", ("transactiontype", "documentno")),
        NaturalKey("EXTERNALID", ("externalid",)),
    ),
    adopts_existing=True,
    external_reference_key="externalid",
)
