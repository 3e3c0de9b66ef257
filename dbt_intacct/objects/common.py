"""Pieces several catalogues share: contact details, mail addresses, the generic create/update pair.

Maximum lengths come from Intacct's field tables as third parties publish them (DataBlend's Sage Intacct
field requirements) and Intacct's UI limits; they are UNVERIFIED against a sandbox. A field whose limit we
do not know has none: Intacct then refuses an over-long value itself, for that row only.
"""

from __future__ import annotations

from dbt_intacct.objects.layout import (
    CustomFieldsSlot,
    FunctionLayout,
    Group,
    Leaf,
    Lines,
    Node,
    RecordKey,
    Shape,
    Style,
    boolean,
    date_,
    group,
    line_array,
    money,
    one_of,
    quantity,
    text,
)


def mail_address() -> Group:
    """MAILADDRESS of a contact (or of a customer's DISPLAYCONTACT)."""
    return group(
        "MAILADDRESS",
        text("ADDRESS1", 255),
        text("ADDRESS2", 255),
        text("ADDRESS3", 255),
        text("CITY", 80),
        text("STATE", 40),
        text("ZIP", 30),
        text("COUNTRY", 60),
        text("COUNTRYCODE", doc="ISO country code as the SDK writes it (docs: ISOCOUNTRYCODE)"),
        text("ISOCOUNTRYCODE", doc="ISO country code as the customer docs write it"),
    )


def names_and_numbers() -> tuple[Leaf, ...]:
    """The person, phone, email and web fields of a contact, in the SDK's order."""
    return (
        text("PREFIX", 15),
        text("FIRSTNAME", 40),
        text("LASTNAME", 40),
        text("INITIAL", 40),
        text("PHONE1", 30),
        text("PHONE2", 30),
        text("CELLPHONE", 30),
        text("PAGER", 30),
        text("FAX", 30),
        text("EMAIL1", 200),
        text("EMAIL2", 200),
        text("URL1", 200),
        text("URL2", 200),
    )


def taxable() -> Leaf:
    """TAXABLE (true/false)."""
    return boolean("TAXABLE")


def generic_functions(
    object_element: str,
    nodes: tuple[Node, ...],
    *,
    defaults: tuple[tuple[str, str], ...] = (),
    updatable: bool = True,
) -> tuple[FunctionLayout, FunctionLayout | None]:
    """The generic `create` and (keyed by RECORDNO or the first node, the ID field) `update` functions."""
    create = FunctionLayout(
        name="create",
        shape=Shape(nodes, style=Style.GENERIC, label=object_element),
        object_element=object_element,
        defaults=defaults,
    )
    if not updatable:
        return create, None
    id_leaf = nodes[0]
    if not isinstance(id_leaf, Leaf) or not id_leaf.field.identifying:
        raise TypeError(f"{object_element}: the first field must be its identifying ID field")
    update = FunctionLayout(
        name="update",
        shape=Shape((RecordKey(id_leaf), *nodes[1:]), style=Style.GENERIC, label=object_element),
        object_element=object_element,
        creating=False,
        # What a create derives (PRINTAS from NAME), an update derives too, so that they stay in step.
        defaults=defaults,
    )
    return create, update


def legacy_exchange_rate() -> tuple[Node, ...]:
    """basecurr, currency, exchratedate, then exchratetype or exchrate (never both)."""
    return (
        text("basecurr"),
        text("currency"),
        date_("exchratedate"),
        one_of(text("exchratetype"), quantity("exchrate"), required=False, exclusive=True),
    )


def tax_entries() -> Lines:
    """taxentries/taxentry of an AR line (VAT/GST companies)."""
    return line_array(
        "taxentries",
        "taxentry",
        text("detailid", required=True),
        money("trx_tax"),
        style=Style.LEGACY,
        min_lines=0,
    )


def ar_line(*, revenue_recognition: bool, total_trx_amount: bool) -> tuple[Node, ...]:
    """An AR invoice or adjustment `lineitem`, in the SDK's order (API.md 9.4 and 9.6)."""
    return (
        one_of(text("glaccountno"), text("accountlabel"), required=True, exclusive=True),
        text("offsetglaccountno"),
        money("amount", required=True, doc="Adjustments: positive = debit memo, negative = credit memo"),
        text("allocationid"),
        text("memo"),
        text("locationid"),
        text("departmentid"),
        text("key"),
        money("totalpaid"),
        money("totaldue"),
        CustomFieldsSlot(),
        *(
            (text("revrectemplate"), text("defrevaccount"), date_("revrecstartdate"), date_("revrecenddate"))
            if revenue_recognition
            else ()
        ),
        text("projectid"),
        text("taskid"),
        text("costtypeid"),
        text("customerid"),
        text("vendorid"),
        text("employeeid"),
        text("itemid"),
        text("classid"),
        text("contractid"),
        text("warehouseid"),
        *((money("totaltrxamount"),) if total_trx_amount else ()),
        tax_entries(),
    )
