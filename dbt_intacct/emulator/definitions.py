"""``lookup``: an object's definition as the company has it (its standard fields, their types, which are
required and read-only, and the custom fields the reference data declares), in Intacct's shape::

    <data listtype="All" count="1"><Type Name="CUSTOMER" DocumentType=""><Fields>
      <Field><ID>DISPLAYCONTACT.EMAIL1</ID><LABEL>...</LABEL><DESCRIPTION>...</DESCRIPTION>
             <REQUIRED>false</REQUIRED><READONLY>false</READONLY><DATATYPE>TEXT</DATATYPE>
             <ISCUSTOM>false</ISCUSTOM></Field> ...
    </Fields><Relationships/></Type></data>

Nested fields are listed by their dotted path, as queries name them; line collections are objects of
their own and are not listed. A definition is not a page of records: it spends no API transaction here
(UNVERIFIED against a real company's bill).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lxml import etree

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator.context import FunctionAnswer, FunctionContext
from dbt_intacct.emulator.fields import Field, Kind
from dbt_intacct.emulator.xmlio import child_text, sub

# What each object's create refuses to go without (the same rules `writes` applies).
REQUIRED: dict[str, frozenset[str]] = {
    "CUSTOMER": frozenset({"CUSTOMERID", "NAME", "DISPLAYCONTACT.PRINTAS"}),
    "CONTACT": frozenset({"CONTACTNAME", "PRINTAS"}),
    "GLBATCH": frozenset({"JOURNAL", "BATCH_DATE", "BATCH_TITLE"}),
    "ARPYMT": frozenset({"PAYMENTMETHOD", "CUSTOMERID", "RECEIPTDATE"}),
}

_DATATYPES = {
    Kind.TEXT: "TEXT",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.DECIMAL: "DECIMAL",
    Kind.INTEGER: "INTEGER",
    Kind.BOOLEAN: "BOOLEAN",
}


def lookup(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """The definition of ``<object>``; an object the company does not have fails like a read does."""
    name = child_text(element, "object") or ""
    spec = ctx.spec(name)
    if spec is None:
        message = f"Object definition {name or '(none)'} not found"
        raise errors.FunctionFailed(errors.GatewayError(errors.QUERY_FAILED, message, "", ""))
    custom = set(ctx.catalogue.reference.custom(spec.custom_scope)) if spec.custom_scope else set()
    required = REQUIRED.get(spec.name, frozenset())
    data = etree.Element("data", listtype="All", count="1")
    definition = sub(data, "Type", Name=spec.name, DocumentType="")
    fields = sub(definition, "Fields")
    for path, field in _leaves(ctx.catalogue.fields(spec).values(), ""):
        is_custom = path in custom
        entry = sub(fields, "Field")
        label = path.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        sub(entry, "ID", path)
        sub(entry, "LABEL", label)
        sub(entry, "DESCRIPTION", f"{'Custom field' if is_custom else spec.label} {label.lower()}")
        sub(entry, "REQUIRED", _flag(path in required))
        sub(entry, "READONLY", _flag(field.readonly))
        sub(entry, "DATATYPE", "ENUM" if field.choices else _DATATYPES.get(field.kind, "TEXT"))
        if field.choices:
            values = sub(entry, "VALIDVALUES")
            for choice in field.choices:
                sub(values, "VALIDVALUE", choice)
        sub(entry, "ISCUSTOM", _flag(is_custom))
    sub(definition, "Relationships")
    return FunctionAnswer(billable=0, data=data)


def _leaves(fields: Iterable[Field], prefix: str) -> Iterator[tuple[str, Field]]:
    for field in fields:
        if field.kind is Kind.COLLECTION:
            continue
        if field.kind is Kind.CONTAINER:
            yield from _leaves(field.children, f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}", field


def _flag(value: bool) -> str:
    return "true" if value else "false"
