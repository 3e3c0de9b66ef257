"""Journal entry: the generic GLBATCH object with its ENTRIES of GLENTRY lines (API.md 9.7). Insert only.

A posted entry is never edited or deleted: it is reversed (`build_reversal`), by a new entry with the
same lines, debits and credits swapped, titled and referenced so that it points to the original.

Lines take a signed AMOUNT (positive = debit, negative = credit): TR_TYPE and the absolute TRX_AMOUNT are
derived from it. An entry needs at least two lines and must balance to the cent, checked on the amounts
as they are sent (each rounded half-up to cents). Multi-entity rules (balance per entity, LOCATION on each
line) are Intacct's to enforce: they depend on the company's setup.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import generic_functions
from dbt_intacct.objects.fields import FieldType, NaturalKey, spec
from dbt_intacct.objects.formatting import InvalidValue, decimal_text, round_money, to_decimal
from dbt_intacct.objects.layout import (
    CustomFieldsSlot,
    DeleteForm,
    FunctionLayout,
    SignedAmount,
    Style,
    choice,
    date_,
    line_array,
    one_of,
    quantity,
    text,
)

_AMOUNT = spec(
    "AMOUNT",
    FieldType.DECIMAL,
    required=True,
    doc="Signed: positive = debit, negative = credit; sent as TR_TYPE and the absolute TRX_AMOUNT",
)

_DERIVED = "it is derived from the line's signed AMOUNT (positive = debit, negative = credit): map AMOUNT"

_ENTRIES = line_array(
    "ENTRIES",
    "GLENTRY",
    text("DOCUMENT"),
    text("ACCOUNTNO", required=True),
    SignedAmount(_AMOUNT),
    text("CURRENCY"),
    date_("EXCH_RATE_DATE"),
    one_of(text("EXCH_RATE_TYPE_ID"), quantity("EXCHANGE_RATE"), required=False, exclusive=True),
    text("LOCATION"),
    text("DEPARTMENT"),
    text("PROJECTID"),
    text("TASKID"),
    text("CUSTOMERID"),
    text("VENDORID"),
    text("EMPLOYEEID"),
    text("ITEMID"),
    text("CLASSID"),
    text("CONTRACTID"),
    text("WAREHOUSEID"),
    text("DESCRIPTION"),
    CustomFieldsSlot(),
    style=Style.GENERIC,
    min_lines=2,
    hints={"TR_TYPE": _DERIVED, "TRX_AMOUNT": _DERIVED},
)

_FIELDS = (
    text("JOURNAL", required=True),
    date_("BATCH_DATE", required=True),
    date_("REVERSEDATE"),
    text("BATCH_TITLE", required=True),
    text("HISTORY_COMMENT"),
    text("REFERENCENO"),
    text("BASELOCATION_NO"),
    text("SUPDOCID", 20),
    choice("STATE", "Posted", "Draft"),
    CustomFieldsSlot(),
    _ENTRIES,
)

_CREATE, _ = generic_functions("GLBATCH", _FIELDS, updatable=False)


# Stored payloads are the tool's own XML, read back from the ledger; parsed with the same care as any XML.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
# Header fields a reversal writes, in the create's element order (each after the one before it).
_TITLE_AND_AFTER = ("BATCH_TITLE", "HISTORY_COMMENT", "REFERENCENO")
REVERSAL_PREFIX = "REV-"


class JournalEntry(IntacctObject):
    """GLBATCH with the balance rule, and reversals."""

    reversible = True

    def build_reversal(self, posted: str, *, on: date, recordno: str | None) -> etree._Element:
        """The create of the entry that reverses `posted` (the create body sent for the original, as the
        ledger recorded it), dated `on`: the same journal, accounts, dimensions, descriptions and custom
        fields, each line's TR_TYPE swapped (debits become credits); titled "Reversal of <title>
        (RECORDNO <n>)", referenced REV-<the original's REFERENCENO, else its RECORDNO>, and with a
        history comment naming the original. The original's REVERSEDATE and SUPDOCID are not carried."""
        try:
            root = etree.fromstring(posted.encode("utf-8"), parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            raise RowRejected(None, f"the posted entry's recorded payload cannot be read: {exc}") from None
        original = root.find("GLBATCH") if root.tag == "create" else None
        if original is None:
            raise RowRejected(None, "the posted entry's recorded payload is not a GLBATCH create")
        reversal = etree.Element("create")
        batch = copy.deepcopy(original)
        reversal.append(batch)
        for name in ("REVERSEDATE", "SUPDOCID"):
            for element in batch.findall(name):
                batch.remove(element)
        title = (batch.findtext("BATCH_TITLE") or "").strip()
        reference = (batch.findtext("REFERENCENO") or "").strip()
        named = f"RECORDNO {recordno}" if recordno else "its RECORDNO unknown"
        _set(batch, "BATCH_DATE", on.strftime("%m/%d/%Y"))
        _set(batch, "BATCH_TITLE", f"Reversal of {title} ({named})" if title else f"Reversal ({named})")
        comment = f"Reverses journal entry {reference} ({named})" if reference else f"Reverses {named}"
        _set(batch, "HISTORY_COMMENT", comment)
        _set(batch, "REFERENCENO", REVERSAL_PREFIX + (reference or str(recordno or "")))
        entries = batch.find("ENTRIES")
        for line in entries if entries is not None else ():
            kind = line.find("TR_TYPE")
            if kind is not None:
                kind.text = "-1" if (kind.text or "").strip() == "1" else "1"
        self.validate(_without_custom_fields(reversal))
        return reversal

    def _row_rules(self, function: FunctionLayout, flat: Mapping[str, Any]) -> None:
        lines = flat.get("ENTRIES")
        if not isinstance(lines, list | tuple) or len(lines) < 2:
            return  # the line array itself reports what is wrong with it
        debits = credits = Decimal(0)
        for index, line in enumerate(lines):
            value = line.get("AMOUNT") if isinstance(line, Mapping) else None
            if value is None or value == "":
                continue
            try:
                amount = round_money(to_decimal(value, "an amount"))
            except InvalidValue as exc:
                raise RowRejected(f"ENTRIES[{index}].AMOUNT", exc.reason) from None
            if amount < 0:
                credits -= amount
            else:
                debits += amount
        if debits != credits:
            raise RowRejected(
                "ENTRIES",
                f"the entry does not balance: debits {decimal_text(debits.quantize(Decimal('0.01')))} "
                f"≠ credits {decimal_text(credits.quantize(Decimal('0.01')))}",
            )


JOURNAL_ENTRY = JournalEntry(
    name="journal_entry",
    sync_rank=70,
    intacct_object="GLBATCH",
    modes=("insert",),
    delete_behaviours=("nothing", "reverse"),
    id_field=None,
    id_mapping_key=None,
    custom_fields="generic",
    create=_CREATE,
    deletes=(DeleteForm(function="delete", uses="recordno"),),
    result_element="glbatch",
    natural_keys=(NaturalKey("REFERENCENO", ("REFERENCENO",)),),
    adopts_existing=True,
)


def _set(batch: etree._Element, name: str, text: str) -> None:
    """Set a header field, adding it after the field before it in the create's element order."""
    element = batch.find(name)
    if element is None:
        element = etree.Element(name)
        if name in _TITLE_AND_AFTER:
            before = _TITLE_AND_AFTER[: _TITLE_AND_AFTER.index(name)]
            anchor = next((batch.find(n) for n in reversed(before) if batch.find(n) is not None), None)
            if anchor is not None:
                anchor.addnext(element)
            else:
                batch.insert(0, element)
        else:
            batch.insert(0, element)
    element.text = text


def _without_custom_fields(body: etree._Element) -> etree._Element:
    """A copy of a create without its custom fields, which the XSD leaves out (builders add them after
    validation): every header and line element the catalogue does not name."""
    shape = _CREATE.shape
    header = {path.split(".")[0] for path in shape.paths} | set(shape.line_nodes)
    lines = {path.split(".")[0] for path in shape.line_nodes["ENTRIES"].item_shape.paths}
    lines |= {"TR_TYPE", "TRX_AMOUNT"}
    checked = copy.deepcopy(body)
    for batch in checked:
        for element in list(batch):
            if element.tag not in header:
                batch.remove(element)
        for line in batch.iterfind("ENTRIES/GLENTRY"):
            for element in list(line):
                if element.tag not in lines:
                    line.remove(element)
    return checked
