"""AR payment: generic ARPYMT, or the legacy `create_arpayment` (API.md 9.5). Insert only.

A model maps either ARPYMT's fields (upper case) or create_arpayment's (lower case), not both:

- ARPYMT fields: a row whose ARPYMTDETAILS has lines is sent as a generic `create` ARPYMT. A row with no
  details is a payment applied to no invoice (an advance), which ARPYMT cannot create: it is sent as
  `create_arpayment` instead, its fields translated (`_TO_LEGACY`); its amount comes from TRX_AMOUNTTOPAY.
  A field with no create_arpayment equivalent (DESCRIPTION, PAYMENTDATE, ACTION ...) is refused for such a
  row rather than silently dropped.
- create_arpayment fields: every row is sent as create_arpayment, applied (`arpaymentitem` lines) or not.

Card and bank-account details (ONLINECARDPAYMENT, onlineachpayment) are not offered: they have no place
in a warehouse. In create_arpayment the SDK writes batchkey before translatedamount (the docs table the
other way round, UNVERIFIED); the SDK order is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import generic_functions, legacy_exchange_rate
from dbt_intacct.objects.layout import (
    DeleteForm,
    Element,
    FunctionLayout,
    Shape,
    Style,
    choice,
    date_,
    integer,
    line_array,
    money,
    one_of,
    quantity,
    text,
)

_METHODS = ("Printed Check", "Cash", "EFT", "Credit Card", "Online Charge Card", "Online ACH Debit")

_DETAILS = line_array(
    "ARPYMTDETAILS",
    "ARPYMTDETAIL",
    integer("RECORDKEY", doc="RECORDNO of the invoice paid"),
    integer("ENTRYKEY", doc="RECORDNO of the invoice line paid"),
    integer("POSADJKEY", doc="RECORDNO of the debit memo (ARADJUSTMENT) paid"),
    integer("POSADJENTRYKEY"),
    money("TRX_PAYMENTAMOUNT"),
    integer("ADJUSTMENTKEY"),
    integer("ADJUSTMENTENTRYKEY"),
    money("TRX_ADJUSTMENTAMOUNT"),
    integer("INLINEKEY"),
    integer("INLINEENTRYKEY"),
    money("TRX_INLINEAMOUNT"),
    integer("ADVANCEKEY"),
    integer("ADVANCEENTRYKEY"),
    money("TRX_POSTEDADVANCEAMOUNT"),
    integer("OVERPAYMENTKEY"),
    integer("OVERPAYMENTENTRYKEY"),
    money("TRX_POSTEDOVERPAYMENTAMOUNT"),
    integer("NEGATIVEINVOICEKEY"),
    integer("NEGATIVEINVOICEENTRYKEY"),
    money("TRX_NEGATIVEINVOICEAMOUNT"),
    one_of(money("TRX_TOTALDISCOUNTTOAPPLY"), date_("DISCOUNTDATE"), required=False, exclusive=True),
    style=Style.GENERIC,
)

_GENERIC_FIELDS = (
    one_of(
        text("FINANCIALENTITY", doc="Checking or savings account ID"),
        text("UNDEPOSITEDACCOUNTNO"),
        text("PRBATCH", doc="Summary name"),
        required=True,
        exclusive=True,
    ),
    choice("PAYMENTMETHOD", *_METHODS, required=True),
    one_of(text("CUSTOMERID", 20), text("PAYERNAME"), required=True, exclusive=False),
    text("DOCNUMBER"),
    text("DESCRIPTION"),
    one_of(text("EXCH_RATE_TYPE_ID"), quantity("EXCHANGE_RATE"), required=False, exclusive=True),
    date_("RECEIPTDATE", required=True, doc="The GL posting date"),
    date_("PAYMENTDATE"),
    money("AMOUNTOPAY", doc="Cross-currency: the base amount"),
    money(
        "TRX_AMOUNTTOPAY", doc="Cross-currency: the transaction amount; the amount of an unapplied payment"
    ),
    choice("ACTION", "Draft", "Submit"),
    date_("WHENPAID"),
    text("CURRENCY"),
    text("BASECURR"),
    money("OVERPAYMENTAMOUNT"),
    text("OVERPAYMENTLOCATIONID"),
    text("OVERPAYMENTDEPARTMENTID"),
    text("BILLTOPAYTONAME"),
    _DETAILS,
)

_GENERIC, _ = generic_functions("ARPYMT", _GENERIC_FIELDS, updatable=False)

_LEGACY = FunctionLayout(
    name="create_arpayment",
    shape=Shape(
        (
            text("customerid", 20, required=True),
            money("paymentamount", required=True),
            integer("batchkey", doc="Summary RECORDNO (instead of bankaccountid/undepfundsacct)"),
            money("translatedamount"),
            one_of(text("bankaccountid"), text("undepfundsacct"), required=False, exclusive=True),
            text("refid"),
            text("overpaylocid"),
            text("overpaydeptid"),
            # The docs call these two optional, but the SDKs always write them (and the emulator, like
            # the DTD we believe in, requires them): a payment has a date and a method anyway.
            date_("datereceived", required=True),
            choice("paymentmethod", *_METHODS, required=True),
            *legacy_exchange_rate(),
            text("cctype"),
            text("authcode"),
            line_array(
                "arpaymentitem",
                "arpaymentitem",
                integer("invoicekey", required=True, doc="RECORDNO of the invoice (or debit memo)"),
                money("amount", required=True),
                style=Style.LEGACY,
                wrapper="",
                min_lines=0,
            ),
        ),
        style=Style.LEGACY,
        label="create_arpayment",
    ),
)

# ARPYMT field -> create_arpayment field, for a row applied to no invoice.
_TO_LEGACY = {
    "CUSTOMERID": "customerid",
    "TRX_AMOUNTTOPAY": "paymentamount",
    "AMOUNTOPAY": "translatedamount",
    "FINANCIALENTITY": "bankaccountid",
    "UNDEPOSITEDACCOUNTNO": "undepfundsacct",
    "DOCNUMBER": "refid",
    "OVERPAYMENTLOCATIONID": "overpaylocid",
    "OVERPAYMENTDEPARTMENTID": "overpaydeptid",
    "RECEIPTDATE": "datereceived",
    "PAYMENTMETHOD": "paymentmethod",
    "BASECURR": "basecurr",
    "CURRENCY": "currency",
    "EXCH_RATE_TYPE_ID": "exchratetype",
    "EXCHANGE_RATE": "exchrate",
}
_FROM_LEGACY = {legacy: generic for generic, legacy in _TO_LEGACY.items()}
_DETAILS_KEY = "ARPYMTDETAILS"


def _given(values: Mapping[str, Any]) -> set[str]:
    return {key for key, value in values.items() if value is not None}


class ArPayment(IntacctObject):
    """ARPYMT, falling back to create_arpayment for unapplied payments."""

    def _functions_for_mode(self, mode: str, keys: Sequence[str]) -> list[FunctionLayout]:
        # The family most of the keys belong to (a mix is reported by check_mapping).
        legacy = sum(1 for key in keys if key.split(".")[0] in _LEGACY.shape.paths)
        return [_LEGACY] if legacy > len(keys) - legacy else [_GENERIC]

    def _mapping_rules(self, keys: Sequence[str], problems: list[str]) -> list[str]:
        """ARPYMT and create_arpayment fields are not mixed in one model; ARPYMTDETAILS is optional."""
        generic = sorted(k for k in keys if k.split(".")[0] in _GENERIC.shape.paths)
        legacy = sorted(k for k in keys if k.split(".")[0] in _LEGACY.shape.paths)
        if generic and legacy:
            problems.insert(
                0,
                f"ar_payment mixes ARPYMT fields ({', '.join(generic)}) with create_arpayment fields "
                f"({', '.join(legacy)}): map one or the other",
            )
        # Rows without details are advances, sent through create_arpayment: ARPYMTDETAILS is optional.
        return [p for p in problems if f"'{_DETAILS_KEY}'" not in p]

    def _build_create(
        self, values: Mapping[str, Any], custom_fields: Mapping[str, Any], *, check: bool
    ) -> Element:
        """create ARPYMT when the row has payment details, create_arpayment otherwise (see the module)."""
        given = _given(values)
        if given & _LEGACY.shape.paths:
            return self._build(_LEGACY, values, custom_fields, check=check)
        if values.get(_DETAILS_KEY):
            return self._build(_GENERIC, values, custom_fields, check=check)
        legacy_values: dict[str, Any] = {}
        for key in sorted(given - {_DETAILS_KEY}):
            if key not in _TO_LEGACY:
                raise RowRejected(
                    key,
                    "a payment applied to no invoice is sent with create_arpayment, which has no "
                    f"{key}: leave it NULL for such rows, or give the payment ARPYMTDETAILS",
                )
            legacy_values[_TO_LEGACY[key]] = values[key]
        try:
            return self._build(_LEGACY, legacy_values, custom_fields, check=check)
        except RowRejected as exc:
            head = (exc.field or "").split("[")[0].split(".")[0]
            if head in _FROM_LEGACY:
                raise RowRejected(
                    _FROM_LEGACY[head],
                    f"{exc.reason} (a payment applied to no invoice is sent with create_arpayment, "
                    f"whose {head} comes from {_FROM_LEGACY[head]})",
                ) from None
            raise

    def _row_rules(self, function: FunctionLayout, flat: Mapping[str, Any]) -> None:
        if function is _LEGACY:
            if not any(
                flat.get(k) not in (None, "") for k in ("batchkey", "bankaccountid", "undepfundsacct")
            ):
                raise RowRejected(
                    "bankaccountid",
                    "missing required field: give one of bankaccountid, undepfundsacct, batchkey",
                )
            return
        for index, detail in enumerate(flat.get(_DETAILS_KEY) or ()):
            if isinstance(detail, Mapping) and all(
                detail.get(k) in (None, "") for k in ("RECORDKEY", "POSADJKEY")
            ):
                raise RowRejected(
                    f"{_DETAILS_KEY}[{index}]",
                    "a payment detail needs RECORDKEY (an invoice's RECORDNO) or POSADJKEY (a debit "
                    "memo's RECORDNO)",
                )


AR_PAYMENT = ArPayment(
    name="ar_payment",
    sync_rank=60,  # after the invoices it pays
    intacct_object="ARPYMT",
    modes=("insert",),
    delete_behaviours=("nothing",),
    id_field=None,
    id_mapping_key=None,
    custom_fields=None,
    create=_GENERIC,
    other_functions=(_LEGACY,),
    deletes=(DeleteForm(function="delete", uses="recordno"),),
    result_element="arpymt",
)
