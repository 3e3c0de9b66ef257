"""The objects the emulator knows: their fields, identifiers and what may be done to them.

This is Intacct's side of the wire, written from API.md and the SDK vectors; it deliberately does
not share the client's object catalogue, so that each side checks the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dbt_intacct.emulator.fields import (
    DIMENSIONS,
    OTHER_DIMENSIONS,
    Field,
    Kind,
    Record,
    collection,
    container,
    of_kind,
    readonly,
    text,
    with_extra_leaves,
    with_readonly_paths,
)
from dbt_intacct.emulator.reference import TABLES, ReferenceData

SYSTEM_FIELDS = readonly(
    Field("RECORDNO", Kind.INTEGER),
    Field("WHENCREATED", Kind.TIMESTAMP),
    Field("WHENMODIFIED", Kind.TIMESTAMP),
)

MAIL_ADDRESS = container(
    "MAILADDRESS",
    *text(
        "ADDRESS1", "ADDRESS2", "ADDRESS3", "CITY", "STATE", "ZIP", "COUNTRY", "COUNTRYCODE", "ISOCOUNTRYCODE"
    ),
)
STATUS = Field("STATUS", choices=("active", "inactive"))
CONTACT_DETAILS = (
    *text("PRINTAS", "COMPANYNAME"),
    Field("TAXABLE", Kind.BOOLEAN),
    *text("TAXGROUP", "TAXID", "PREFIX", "FIRSTNAME", "LASTNAME", "INITIAL", "PHONE1", "PHONE2", "CELLPHONE"),
    *text("PAGER", "FAX", "EMAIL1", "EMAIL2", "URL1", "URL2"),
    MAIL_ADDRESS,
)


def _contact_ref(name: str) -> Field:
    return container(name, Field("CONTACTNAME"))


CUSTOMER_FIELDS = (
    *text("CUSTOMERID", "NAME"),
    container("DISPLAYCONTACT", Field("CONTACTNAME"), *CONTACT_DETAILS, STATUS),
    Field("ONETIME", Kind.BOOLEAN),
    STATUS,
    Field("HIDEDISPLAYCONTACT", Kind.BOOLEAN),
    *text("CUSTTYPE", "CUSTREPID", "PARENTID", "GLGROUP", "TERRITORYID", "SUPDOCID", "TERMNAME"),
    *text("OFFSETGLACCOUNTNO", "ARACCOUNT", "SHIPPINGMETHOD", "RESALENO", "TAXID"),
    Field("CREDITLIMIT", Kind.DECIMAL),
    Field("ONHOLD", Kind.BOOLEAN),
    *text("DELIVERYOPTIONS", "DELIVERY_OPTIONS", "CUSTMESSAGEID", "COMMENTS", "CURRENCY", "PRCLST_OVERRIDE"),
    *text("ARINVOICEPRINTTEMPLATEID", "OEQUOTEPRINTTEMPLATEID", "OEORDERPRINTTEMPLATEID"),
    *text(
        "OELISTPRINTTEMPLATEID", "OEINVOICEPRINTTEMPLATEID", "OEADJPRINTTEMPLATEID", "OEOTHERPRINTTEMPLATEID"
    ),
    _contact_ref("CONTACTINFO"),
    _contact_ref("BILLTO"),
    _contact_ref("SHIPTO"),
    Field("OBJECTRESTRICTION", choices=("Unrestricted", "RootOnly", "Restricted")),
    *text("RESTRICTEDLOCATIONS", "RESTRICTEDDEPARTMENTS"),
    Field("EMAILOPTIN", Kind.BOOLEAN),
    *SYSTEM_FIELDS,
)

CONTACT_FIELDS = (
    Field("CONTACTNAME"),
    *CONTACT_DETAILS,
    STATUS,
    *text("TAXSCHEDULE", "TAXSOLUTIONID"),
    *SYSTEM_FIELDS,
)

GLENTRY_FIELDS = (
    *text("DOCUMENT", "ACCOUNTNO"),
    Field("TR_TYPE", Kind.INTEGER, choices=("1", "-1")),
    Field("TRX_AMOUNT", Kind.DECIMAL),
    Field("CURRENCY"),
    Field("EXCH_RATE_DATE", Kind.DATE),
    Field("EXCH_RATE_TYPE_ID"),
    Field("EXCHANGE_RATE", Kind.DECIMAL),
    *text("LOCATION", "DEPARTMENT", *OTHER_DIMENSIONS, "DESCRIPTION", "ALLOCATION"),
    Field("BILLABLE", Kind.BOOLEAN),
)

GLBATCH_FIELDS = (
    Field("JOURNAL"),
    Field("BATCH_DATE", Kind.DATE),
    Field("REVERSEDATE", Kind.DATE),
    *text("BATCH_TITLE", "HISTORY_COMMENT", "REFERENCENO", "BASELOCATION_NO", "SUPDOCID", "TAXIMPLICATIONS"),
    *text("VATVENDORID", "VATCUSTOMERID", "VATCONTACTID", "TAXSOLUTIONID"),
    Field("STATE", choices=("Posted", "Draft")),
    collection("ENTRIES", "GLENTRY", *GLENTRY_FIELDS),
    *SYSTEM_FIELDS,
    *readonly(Field("BATCHNO", Kind.INTEGER)),
)

PAYMENT_METHODS = (
    "Printed Check",
    "Cash",
    "EFT",
    "Credit Card",
    "Online Charge Card",
    "Online ACH Debit",
    "Record Transfer",
)

ARPYMTDETAIL_FIELDS = (
    *of_kind(Kind.INTEGER, "RECORDKEY", "ENTRYKEY", "POSADJKEY", "POSADJENTRYKEY"),
    Field("TRX_PAYMENTAMOUNT", Kind.DECIMAL),
    *of_kind(Kind.INTEGER, "ADJUSTMENTKEY", "ADJUSTMENTENTRYKEY"),
    Field("TRX_ADJUSTMENTAMOUNT", Kind.DECIMAL),
    *of_kind(Kind.INTEGER, "INLINEKEY", "INLINEENTRYKEY"),
    Field("TRX_INLINEAMOUNT", Kind.DECIMAL),
    *of_kind(Kind.INTEGER, "ADVANCEKEY", "ADVANCEENTRYKEY"),
    Field("TRX_POSTEDADVANCEAMOUNT", Kind.DECIMAL),
    *of_kind(Kind.INTEGER, "OVERPAYMENTKEY", "OVERPAYMENTENTRYKEY"),
    Field("TRX_POSTEDOVERPAYMENTAMOUNT", Kind.DECIMAL),
    *of_kind(Kind.INTEGER, "NEGATIVEINVOICEKEY", "NEGATIVEINVOICEENTRYKEY"),
    Field("TRX_NEGATIVEINVOICEAMOUNT", Kind.DECIMAL),
    Field("DISCOUNTDATE", Kind.DATE),
    Field("TRX_TOTALDISCOUNTTOAPPLY", Kind.DECIMAL),
)

ARPYMT_FIELDS = (
    *text("FINANCIALENTITY", "UNDEPOSITEDACCOUNTNO", "PRBATCH"),
    Field("PAYMENTMETHOD", choices=PAYMENT_METHODS),
    *text("CUSTOMERID", "DOCNUMBER", "DESCRIPTION"),
    *of_kind(Kind.DATE, "RECEIPTDATE", "PAYMENTDATE", "WHENPAID", "EXCH_RATE_DATE"),
    *text("CURRENCY", "BASECURR", "EXCH_RATE_TYPE_ID"),
    *of_kind(Kind.DECIMAL, "EXCHANGE_RATE", "AMOUNTOPAY", "TRX_AMOUNTTOPAY"),
    Field("ACTION", choices=("Draft", "Submit")),
    *text("PAYERNAME", "OVERPAYMENTLOCATIONID", "OVERPAYMENTDEPARTMENTID", "AUTHCODE", "CCTYPE"),
    collection("ARPYMTDETAILS", "ARPYMTDETAIL", *ARPYMTDETAIL_FIELDS),
    *readonly(
        Field("CUSTOMERNAME"),
        Field("STATE"),
        Field("TOTALENTERED", Kind.DECIMAL),
        Field("TOTALPAID", Kind.DECIMAL),
    ),
    *SYSTEM_FIELDS,
)

_LINE_DIMENSIONS = text(*DIMENSIONS)

_AR_LINE_FIELDS = (
    Field("RECORDNO", Kind.INTEGER),
    Field("LINE_NO", Kind.INTEGER),
    *text("ACCOUNTNO", "ACCOUNTLABEL", "OFFSETGLACCOUNTNO"),
    *of_kind(Kind.DECIMAL, "AMOUNT", "TRX_AMOUNT", "TOTALPAID", "TOTALDUE"),
    *text("ENTRYDESCRIPTION", "ALLOCATIONID", "KEY", "REVRECTEMPLATE", "DEFERREDREVACCOUNT"),
    *of_kind(Kind.DATE, "REVRECSTARTDATE", "REVRECENDDATE"),
    *_LINE_DIMENSIONS,
)

_AR_HEADER = (
    Field("RECORDNO", Kind.INTEGER),
    *text("RECORDID", "CUSTOMERID", "CUSTOMERNAME", "DOCNUMBER", "DESCRIPTION", "STATE", "TERMNAME"),
    *of_kind(Kind.DATE, "WHENCREATED", "WHENPOSTED", "WHENDUE", "WHENPAID"),
    Field("WHENMODIFIED", Kind.TIMESTAMP),
    *of_kind(Kind.DECIMAL, "TOTALENTERED", "TOTALPAID", "TOTALDUE"),
    *of_kind(Kind.DECIMAL, "TRX_TOTALENTERED", "TRX_TOTALPAID", "TRX_TOTALDUE"),
    *text("BASECURR", "CURRENCY", "EXCH_RATE_TYPE_ID", "PRBATCHKEY", "EXTERNALID", "SUPDOCID"),
    Field("EXCH_RATE_DATE", Kind.DATE),
)

ARINVOICE_FIELDS = readonly(
    *_AR_HEADER,
    *text("PONUMBER", "TAXSOLUTIONID", "BILLTOPAYTOCONTACTNAME", "SHIPTORETURNTOCONTACTNAME"),
    Field("ONHOLD", Kind.BOOLEAN),
    _contact_ref("BILLTO"),
    _contact_ref("SHIPTO"),
    collection("ARINVOICEITEMS", "arinvoiceitem", *_AR_LINE_FIELDS),
)

ARADJUSTMENT_FIELDS = readonly(
    *_AR_HEADER,
    Field("INVOICENO"),
    collection("ARADJUSTMENTITEMS", "aradjustmentitem", *_AR_LINE_FIELDS),
)

SODOCUMENTENTRY_FIELDS = (
    Field("RECORDNO", Kind.INTEGER),
    Field("LINE_NO", Kind.INTEGER),
    *text("BUNDLENUMBER", "ITEMID", "ITEMDESC"),
    Field("TAXABLE", Kind.BOOLEAN),
    Field("WAREHOUSEID"),
    Field("QUANTITY", Kind.DECIMAL),
    Field("UNIT"),
    *of_kind(Kind.DECIMAL, "DISCOUNTPERCENT", "PRICE", "TOTAL"),
    *text("DISCSURCHARGEMEMO", "MEMO", "REVRECTEMPLATE"),
    *of_kind(Kind.DATE, "REVRECSTARTDATE", "REVRECENDDATE"),
    *text("RENEWALMACRO", "FULFILLMENTSTATUS", "TASKNO", "BILLINGTEMPLATE"),
    *_LINE_DIMENSIONS,
)

SODOCUMENT_FIELDS = readonly(
    Field("RECORDNO", Kind.INTEGER),
    *text("DOCID", "DOCNO", "DOCPARID", "CREATEDFROM", "CUSTVENDID", "CUSTVENDNAME", "STATE"),
    *of_kind(Kind.DATE, "WHENCREATED", "WHENPOSTED", "WHENDUE", "ORIGDOCDATE"),
    Field("WHENMODIFIED", Kind.TIMESTAMP),
    *text("PONUMBER", "MESSAGE", "SHIPVIA", "SUPDOCID", "EXTERNALID", "BASECURR", "CURRENCY"),
    *text("EXCH_RATE_TYPE_ID", "VSOEPRICELIST", "PROJECTID"),
    Field("EXCH_RATE_DATE", Kind.DATE),
    container("TERM", Field("NAME")),
    _contact_ref("BILLTO"),
    _contact_ref("SHIPTO"),
    *of_kind(Kind.DECIMAL, "SUBTOTAL", "TOTAL"),
    collection("SODOCUMENTENTRIES", "sodocumententry", *SODOCUMENTENTRY_FIELDS),
)


_AUDIT = ("CREATEDBY", "MODIFIEDBY", "MEGAENTITYKEY", "MEGAENTITYID", "MEGAENTITYNAME")
_CONTACT_PARTS = (
    "CONTACTNAME",
    "PREFIX",
    "FIRSTNAME",
    "INITIAL",
    "LASTNAME",
    "COMPANYNAME",
    "PRINTAS",
    "PHONE1",
    "PHONE2",
    "CELLPHONE",
    "PAGER",
    "FAX",
    "EMAIL1",
    "EMAIL2",
    "URL1",
    "URL2",
    "VISIBLE",
    "MAILADDRESS.ADDRESS1",
    "MAILADDRESS.ADDRESS2",
    "MAILADDRESS.CITY",
    "MAILADDRESS.STATE",
    "MAILADDRESS.ZIP",
    "MAILADDRESS.COUNTRY",
    "MAILADDRESS.COUNTRYCODE",
)

# Fields a real company also returns on reads (sageintacctsdk's and Fivetran's field lists name them)
# that the emulator does not compute: they exist, so reads and filters naming them work, and read back
# empty unless something set them.
ALSO_READ: dict[str, tuple[str, ...]] = {
    "CUSTOMER": (
        *_AUDIT,
        *("ENTITY", "PARENTKEY", "PARENTNAME", "CUSTREPNAME", "TOTALDUE", "GLGRPKEY", "CUSTTYPEKEY"),
        *("TERMSKEY", "TERMVALUE", "ACCOUNTKEY", "ARACCOUNTTITLE", "OFFSETGLACCOUNTNOTITLE"),
        *(
            "LAST_INVOICEDATE",
            "LAST_STATEMENTDATE",
            "DISPLAYCONTACTKEY",
            "CONTACTKEY",
            "BILLTOKEY",
            "SHIPTOKEY",
        ),
    ),
    "CONTACT": (*_AUDIT, "VISIBLE"),
    "GLBATCH": (
        *_AUDIT,
        *("MODULE", "USERKEY", "MODIFIEDBYID", "REVERSED", "REVERSEDKEY", "REVERSEDFROM", "PRBATCHKEY"),
        "BASELOCATION",
    ),
    "ARPYMT": (
        *_AUDIT,
        *(
            "PRBATCHKEY",
            "RECORDTYPE",
            "FINANCIALENTITYTYPE",
            "FINANCIALACCOUNTNAME",
            "FINANCIALACCOUNTCURRENCY",
        ),
        *(
            "SUMMARYTITLE",
            "DISPLAYSTATE",
            "PAYMENTMETHODKEY",
            "TOTALDUE",
            "TRX_TOTALENTERED",
            "TRX_TOTALPAID",
        ),
        *(
            "TRX_TOTALDUE",
            "BILLTOPAYTONAME",
            "AUWHENCREATED",
            "CLEARED",
            "CLRDATE",
            "RECORDID",
            "BILLTOPAYTOKEY",
        ),
        *("PARENTPAYMENTKEY", "TAXSOLUTIONID", "SUPDOCID", "MULTIENTITYPYMTKEY", "RECORD_URL"),
    ),
    "ARINVOICE": (
        *_AUDIT,
        *("CUSTMESSAGEID", "CUSTMESSAGE.MESSAGE", "DESCRIPTION2", "WHENDISCOUNT", "EXCHANGE_RATE"),
        *("TOTALSELECTED", "PRBATCH", "SYSTEMGENERATED", "AUWHENCREATED", "DUE_IN_DAYS", "TAXMETHOD"),
        *("RETAINAGEPERCENTAGE", "TRX_TOTALRETAINED", "TRX_TOTALRELEASED", "TOTALRETAINED", "RECORDTYPE"),
        *("SHIPTO.TAXGROUP.NAME", "SHIPTO.TAXGROUP.RECORDNO", "SHIPTO.TAXID", "MODULEKEY", "TERMKEY"),
        *(f"{group}.{part}" for group in ("CONTACT", "SHIPTO", "BILLTO") for part in _CONTACT_PARTS),
    ),
    "ARADJUSTMENT": (
        *_AUDIT,
        *("PRBATCH", "SYSTEMGENERATED", "AUWHENCREATED", "RECORDTYPE", "EXCHANGE_RATE", "DESCRIPTION2"),
    ),
    "SODOCUMENT": (*_AUDIT, "DOCPARKEY", "CUSTVENDKEY", "SUBTOTALS"),
}


@dataclass(frozen=True)
class ObjectSpec:
    """What the gateway knows about one object."""

    name: str  # CUSTOMER
    label: str  # as Intacct names it in messages: "Customer"
    fields: tuple[Field, ...]
    id_field: str | None = None  # the unique natural ID (readByName keys, duplicate check)
    custom_scope: str | None = None  # reference data custom_fields key for header fields
    lines: str | None = None  # collection holding the lines
    line_custom_scope: str | None = None
    generic_write: bool = False  # generic create/update
    generic_delete: bool = False
    reference_table: str | None = None  # read-only object served from reference data
    defaults: tuple[tuple[str, str], ...] = ()  # what Intacct fills in on create when left out


OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in (
        ObjectSpec(
            "CUSTOMER",
            "Customer",
            CUSTOMER_FIELDS,
            "CUSTOMERID",
            "CUSTOMER",
            generic_write=True,
            generic_delete=True,
            defaults=(("STATUS", "active"), ("ONETIME", "false"), ("ONHOLD", "false")),
        ),
        ObjectSpec(
            "CONTACT",
            "Contact",
            CONTACT_FIELDS,
            "CONTACTNAME",
            "CONTACT",
            generic_write=True,
            generic_delete=True,
            defaults=(("STATUS", "active"),),
        ),
        ObjectSpec(
            "GLBATCH",
            "Journal Entry",
            GLBATCH_FIELDS,
            custom_scope="GLBATCH",
            lines="ENTRIES",
            line_custom_scope="GLENTRY",
            generic_write=True,
            generic_delete=True,
            defaults=(("STATE", "Posted"),),
        ),
        ObjectSpec(
            "ARPYMT",
            "AR Payment",
            ARPYMT_FIELDS,
            custom_scope="ARPYMT",
            generic_write=True,
            generic_delete=True,
        ),
        ObjectSpec(
            "ARINVOICE",
            "Invoice",
            ARINVOICE_FIELDS,
            "RECORDID",
            "ARINVOICE",
            lines="ARINVOICEITEMS",
            line_custom_scope="ARINVOICEITEM",
            generic_delete=True,
        ),
        ObjectSpec(
            "ARADJUSTMENT",
            "AR Adjustment",
            ARADJUSTMENT_FIELDS,
            lines="ARADJUSTMENTITEMS",
            line_custom_scope="ARADJUSTMENTITEM",
            generic_delete=True,
        ),
        ObjectSpec(
            "SODOCUMENT",
            "Sales Transaction",
            SODOCUMENT_FIELDS,
            "DOCID",
            "SODOCUMENT",
            lines="SODOCUMENTENTRIES",
            line_custom_scope="SODOCUMENTENTRY",
            generic_delete=True,
        ),
        *(
            ObjectSpec(object_name, object_name.title(), (), key_field, reference_table=table)
            for table, (key_field, object_name) in TABLES.items()
        ),
    )
}


def natural_id(spec: ObjectSpec, record: Record) -> str | None:
    """The record's unique natural ID (CUSTOMERID, CONTACTNAME, DOCID ...), when it has one."""
    if spec.id_field is None:
        return None
    value = record.get(spec.id_field)
    return value if isinstance(value, str) and value else None


class Catalogue:
    """Each object's fields including the custom fields the reference data declares."""

    def __init__(self, reference: ReferenceData) -> None:
        self.reference = reference
        self._fields = {name: self._effective_fields(spec) for name, spec in OBJECTS.items()}

    def spec(self, object_name: str) -> ObjectSpec | None:
        """The object of that name (Intacct object names are upper case), or None."""
        return OBJECTS.get(object_name.upper())

    def fields(self, spec: ObjectSpec) -> Mapping[str, Field]:
        """The object's fields by element name, custom fields included."""
        return self._fields[spec.name]

    def _effective_fields(self, spec: ObjectSpec) -> dict[str, Field]:
        if spec.reference_table is not None:
            names: dict[str, None] = {"RECORDNO": None}
            for row in self.reference.tables[spec.reference_table].values():
                names.update(dict.fromkeys(row))
            return {name: Field(name, readonly=True) for name in names}
        fields = list(with_readonly_paths(spec.fields, ALSO_READ.get(spec.name, ())))
        if spec.lines and spec.line_custom_scope:
            position = next(i for i, f in enumerate(fields) if f.name == spec.lines)
            lines = fields[position]
            fields[position] = Field(
                lines.name,
                Kind.COLLECTION,
                with_extra_leaves(lines.children, self.reference.custom(spec.line_custom_scope)),
                item=lines.item,
                readonly=lines.readonly,
            )
        custom = self.reference.custom(spec.custom_scope) if spec.custom_scope else ()
        return {f.name: f for f in with_extra_leaves(fields, custom)}
