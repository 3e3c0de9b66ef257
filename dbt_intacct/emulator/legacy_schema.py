"""Legacy (object-specific) functions: their fixed element order, and reading them in that order.

"Each object-specific function has a unique body structure and the sub-elements must be in the
correct order" (API.md section 7). An element out of order, unknown, repeated or missing is refused
with XL03000003 naming it. Where the SDKs and the docs disagree on the order of two neighbours
(``action``/``batchkey`` in create_invoice, ``batchkey``/``translatedamount`` in create_arpayment)
both orders are accepted: they share one slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import etree

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator.fields import OTHER_DIMENSIONS, SO_LINE_DIMENSIONS


@dataclass(frozen=True)
class Element:
    """One element of a legacy body: text, a split date, or a group of slots."""

    name: str
    slots: tuple[tuple[Element, ...], ...] = ()
    is_group: bool = False
    is_date: bool = False
    required: bool = False
    repeat: bool = False
    attributes: tuple[str, ...] = ()


Item = Element | tuple[Element, ...]


def t(name: str, required: bool = False) -> Element:
    """A text element."""
    return Element(name, required=required)


def d(name: str, required: bool = False) -> Element:
    """A split date: ``<year/><month/><day/>``."""
    return Element(name, is_date=True, required=required)


def g(
    name: str, *items: Item, required: bool = False, repeat: bool = False, attributes: tuple[str, ...] = ()
) -> Element:
    """A group whose children come in the order given; a tuple item is a slot of any order."""
    slots = tuple(item if isinstance(item, tuple) else (item,) for item in items)
    return Element(name, slots, is_group=True, required=required, repeat=repeat, attributes=attributes)


def either(*elements: Element) -> tuple[Element, ...]:
    """Elements that share one position, in any order among themselves."""
    return elements


CUSTOM_FIELDS = g(
    "customfields",
    g("customfield", t("customfieldname", required=True), t("customfieldvalue"), repeat=True),
)
EXCHANGE = (t("basecurr"), t("currency"), d("exchratedate"), either(t("exchratetype"), t("exchrate")))
TAX_ENTRIES = g("taxentries", g("taxentry", t("detailid"), t("trx_tax"), repeat=True))


def contact_ref(name: str) -> Element:
    """``<billto><contactname/></billto>`` and its kin."""
    return g(name, t("contactname"))


def ar_line(name: str, invoice: bool, amount_required: bool, repeat: bool = True, **extra: Any) -> Element:
    """An invoice or adjustment line (``lineitem``, or ``updatelineitem`` on update)."""
    head: tuple[Item, ...] = (
        either(t("glaccountno"), t("accountlabel")),
        t("offsetglaccountno"),
        t("amount", required=amount_required),
        t("allocationid"),
        t("memo"),
        t("locationid"),
        t("departmentid"),
        t("key"),
        t("totalpaid"),
        t("totaldue"),
        CUSTOM_FIELDS,
    )
    revrec: tuple[Item, ...] = (
        (t("revrectemplate"), t("defrevaccount"), d("revrecstartdate"), d("revrecenddate")) if invoice else ()
    )
    # locationid and departmentid are in the head: a line lists them before its other dimensions.
    dimensions = tuple(t(name.lower()) for name in OTHER_DIMENSIONS)
    return g(name, *head, *revrec, *dimensions, TAX_ENTRIES, repeat=repeat, **extra)


def so_line(name: str, fields_required: bool, **extra: Any) -> Element:
    """An Order Entry line (``sotransitem``, or ``updatesotransitem`` on update)."""
    return g(
        name,
        t("bundlenumber"),
        t("itemid", required=fields_required),
        t("itemdesc"),
        t("taxable"),
        t("warehouseid"),
        t("quantity", required=fields_required),
        t("unit"),
        t("discountpercent"),
        t("price"),
        t("discsurchargememo"),
        t("locationid"),
        t("departmentid"),
        t("memo"),
        g(
            "itemdetails",
            g(
                "itemdetail",
                t("quantity"),
                t("serialno"),
                t("lotno"),
                t("aisle"),
                t("row"),
                t("bin"),
                d("itemexpiration"),
                repeat=True,
            ),
        ),
        CUSTOM_FIELDS,
        t("revrectemplate"),
        d("revrecstartdate"),
        d("revrecenddate"),
        t("renewalmacro"),
        *(t(dimension.lower()) for dimension in SO_LINE_DIMENSIONS),
        t("fulfillmentstatus"),
        t("taskno"),
        t("billingtemplate"),
        t("dropship"),
        repeat=True,
        **extra,
    )


CREATE_INVOICE = g(
    "create_invoice",
    t("customerid", required=True),
    d("datecreated", required=True),
    d("dateposted"),
    d("datedue"),
    t("termname"),
    either(t("action"), t("batchkey")),  # the SDKs write action first, the docs batchkey first
    t("invoiceno"),
    t("ponumber"),
    t("onhold"),
    t("description"),
    t("externalid"),
    contact_ref("billto"),
    contact_ref("shipto"),
    *EXCHANGE,
    t("nogl"),
    t("supdocid"),
    t("taxsolutionid"),
    CUSTOM_FIELDS,
    g("invoiceitems", ar_line("lineitem", invoice=True, amount_required=True, required=True), required=True),
)

UPDATE_INVOICE = g(
    "update_invoice",
    t("customerid"),
    d("datecreated"),
    d("dateposted"),
    d("datedue"),
    t("termname"),
    t("action"),
    t("invoiceno"),
    t("ponumber"),
    t("description"),
    contact_ref("payto"),
    contact_ref("returnto"),
    t("currency"),
    d("exchratedate"),
    either(t("exchratetype"), t("exchrate")),
    t("supdocid"),
    CUSTOM_FIELDS,
    g(
        "updateinvoiceitems",
        either(
            ar_line("updatelineitem", invoice=True, amount_required=False, attributes=("line_num",)),
            ar_line("lineitem", invoice=True, amount_required=True),
        ),
    ),
    attributes=("key", "externalkey"),
)

CREATE_ARADJUSTMENT = g(
    "create_aradjustment",
    t("customerid", required=True),
    d("datecreated", required=True),
    d("dateposted"),
    t("batchkey"),
    t("adjustmentno"),
    t("action"),
    t("invoiceno"),
    t("description"),
    t("externalid"),
    *EXCHANGE,
    t("nogl"),
    t("taxsolutionid"),
    g(
        "aradjustmentitems",
        ar_line("lineitem", invoice=False, amount_required=True, required=True),
        required=True,
    ),
)

CREATE_ARPAYMENT = g(
    "create_arpayment",
    t("customerid", required=True),
    t("paymentamount", required=True),
    either(
        t("batchkey"), t("translatedamount")
    ),  # the SDK writes batchkey first, the docs table the other way
    either(t("bankaccountid"), t("undepfundsacct")),
    t("refid"),
    t("overpaylocid"),
    t("overpaydeptid"),
    d("datereceived", required=True),
    t("paymentmethod", required=True),
    *EXCHANGE,
    t("cctype"),
    t("authcode"),
    g("arpaymentitem", t("invoicekey", required=True), t("amount", required=True), repeat=True),
)

CREATE_SOTRANSACTION = g(
    "create_sotransaction",
    t("transactiontype", required=True),
    d("datecreated", required=True),
    d("dateposted"),
    t("createdfrom"),
    t("customerid", required=True),
    t("documentno"),
    d("origdocdate"),
    t("referenceno"),
    t("termname"),
    d("datedue"),
    t("message"),
    t("shippingmethod"),
    contact_ref("shipto"),
    contact_ref("billto"),
    t("supdocid"),
    t("externalid"),
    *EXCHANGE,
    t("vsoepricelist"),
    CUSTOM_FIELDS,
    t("state"),
    t("projectid"),
    g("sotransitems", so_line("sotransitem", True, required=True), required=True),
    g("subtotals", g("subtotal", t("description"), t("total"), repeat=True)),
)

UPDATE_SOTRANSACTION = g(
    "update_sotransaction",
    d("datecreated"),
    d("dateposted"),
    t("referenceno"),
    t("termname"),
    d("datedue"),
    d("origdocdate"),
    t("message"),
    t("shippingmethod"),
    contact_ref("shipto"),
    contact_ref("billto"),
    t("supdocid"),
    t("basecurr"),
    t("currency"),
    d("exchratedate"),
    either(t("exchratetype"), t("exchrate")),
    t("vsoepricelist"),
    CUSTOM_FIELDS,
    t("state"),
    t("projectid"),
    g(
        "updatesotransitems",
        either(so_line("updatesotransitem", False, attributes=("line_num",)), so_line("sotransitem", True)),
    ),
    g("updatesubtotals", g("updatesubtotal", t("description"), t("total"), repeat=True)),
    attributes=("key", "externalkey", "disablevalidation"),
)

CREATE_CONTACT = g(
    "create_contact",
    t("contactname", required=True),
    t("printas", required=True),
    *(
        t(name)
        for name in (
            "companyname",
            "taxable",
            "taxgroup",
            "prefix",
            "firstname",
            "lastname",
            "initial",
            "phone1",
            "phone2",
            "cellphone",
            "pager",
            "fax",
            "email1",
            "email2",
            "url1",
            "url2",
            "status",
        )
    ),
    g(
        "mailaddress",
        *(
            t(name)
            for name in ("address1", "address2", "address3", "city", "state", "zip", "country", "countrycode")
        ),
    ),
)

DELETE_INVOICE = g("delete_invoice", attributes=("key",))
DELETE_SOTRANSACTION = g("delete_sotransaction", attributes=("key",))
DELETE_CUSTOMER = g("delete_customer", attributes=("customerid",))
DELETE_CONTACT = g("delete_contact", attributes=("contactname",))


def _refuse(message: str) -> errors.FunctionFailed:
    return errors.FunctionFailed(errors.parse_error(message))


def _read_date(node: etree._Element, path: str) -> date:
    parts = {"year": "", "month": "", "day": ""}
    expected = iter(parts)
    for part in node:
        name = next(expected, None)
        if part.tag != name:
            raise _refuse(
                f"XML element '{part.tag}' is not expected in {path}: a date is <year>, <month>, <day>."
            )
        parts[name] = (part.text or "").strip()
    missing = [name for name, value in parts.items() if not value]
    if missing:
        raise _refuse(f"Required XML element '{missing[0]}' is missing from {path}.")
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except (ValueError, OverflowError):
        raise errors.FunctionFailed(
            errors.GatewayError(
                errors.INVALID_VALUE,
                f"{path} is not a valid date: {parts['year']}-{parts['month']}-{parts['day']}.",
            )
        ) from None


def read_legacy(node: etree._Element, spec: Element, path: str) -> dict[str, Any]:
    """A legacy group read in its fixed order: text as str, dates as date, groups as dicts (lists
    of dicts when repeated), attributes as ``@name``."""
    out: dict[str, Any] = {}
    for raw_name, raw_value in node.attrib.items():
        attribute = str(raw_name)
        if attribute not in spec.attributes:
            raise _refuse(f"XML attribute '{attribute}' is not allowed on {path}.")
        out[f"@{attribute}"] = str(raw_value)
    if not spec.slots and len(node):
        raise _refuse(f"XML element '{node[0].tag}' is not allowed in {path}: it takes no elements.")
    position = 0
    previous = ""
    for part in node:
        tag = str(part.tag)
        found: tuple[int, Element] | None = None
        for index in range(position, len(spec.slots)):
            element = next((e for e in spec.slots[index] if e.name == tag), None)
            if element is not None:
                found = (index, element)
                break
        if found is None:
            if any(e.name == tag for slot in spec.slots[:position] for e in slot):
                raise _refuse(
                    f"XML element '{tag}' in {path} is out of order: it must come before '{previous}'."
                )
            raise _refuse(f"XML element '{tag}' is not allowed in {path}.")
        position, element = found
        if tag in out and not element.repeat:
            raise _refuse(f"XML element '{tag}' appears more than once in {path}.")
        where = f"{path}/{tag}"
        if part.attrib and not element.is_group:
            raise _refuse(f"XML attribute '{next(iter(part.attrib))!s}' is not allowed on {where}.")
        value: Any
        if element.is_date:
            value = _read_date(part, where)
        elif element.is_group:
            value = read_legacy(part, element, where)
        else:
            if len(part):
                raise _refuse(f"XML element '{part[0].tag}' is not allowed in {where}: it takes a value.")
            value = part.text or ""
        if element.repeat:
            out.setdefault(tag, []).append(value)
        else:
            out[tag] = value
        previous = tag
    for slot in spec.slots:
        for element in slot:
            if element.required and element.name not in out:
                raise _refuse(f"Required XML element '{element.name}' is missing from {path}.")
    return out
