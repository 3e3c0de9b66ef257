"""Journal entry: the generic GLBATCH object with its ENTRIES of GLENTRY lines (API.md 9.7). Insert only.

Lines take a signed AMOUNT (positive = debit, negative = credit): TR_TYPE and the absolute TRX_AMOUNT are
derived from it. An entry needs at least two lines and must balance to the cent, checked on the amounts
as they are sent (each rounded half-up to cents). Multi-entity rules (balance per entity, LOCATION on each
line) are Intacct's to enforce: they depend on the company's setup.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

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


class JournalEntry(IntacctObject):
    """GLBATCH with the balance rule."""

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
    delete_behaviours=("nothing",),
    id_field=None,
    id_mapping_key=None,
    custom_fields="generic",
    create=_CREATE,
    deletes=(DeleteForm(function="delete", uses="recordno"),),
    result_element="glbatch",
    natural_keys=(NaturalKey("REFERENCENO", ("REFERENCENO",)),),
    adopts_existing=True,
)
