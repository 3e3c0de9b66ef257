"""AR adjustment: ARADJUSTMENT through the legacy `create_aradjustment` (API.md 9.4). Insert only.

Line amounts are signed: positive = debit memo, negative = credit memo. Custom fields exist on the lines
only (neither the SDK nor the docs have a header block): map them per line as
`aradjustmentitems.customfields.<ID>`.
"""

from __future__ import annotations

from dbt_intacct.objects.base import IntacctObject
from dbt_intacct.objects.common import ar_line, legacy_exchange_rate
from dbt_intacct.objects.fields import NaturalKey
from dbt_intacct.objects.layout import (
    DeleteForm,
    FunctionLayout,
    Shape,
    Style,
    boolean,
    choice,
    date_,
    integer,
    line_array,
    text,
)

_CREATE = FunctionLayout(
    name="create_aradjustment",
    shape=Shape(
        (
            text("customerid", 20, required=True),
            date_("datecreated", required=True),
            date_("dateposted"),
            integer("batchkey"),
            text("adjustmentno", identifying=True),
            choice("action", "Draft", "Submit"),
            text("invoiceno"),
            text("description"),
            text("externalid"),
            *legacy_exchange_rate(),
            boolean("nogl"),
            text("taxsolutionid"),
            line_array(
                "aradjustmentitems",
                "lineitem",
                *ar_line(revenue_recognition=False, total_trx_amount=True),
                style=Style.LEGACY,
            ),
        ),
        style=Style.LEGACY,
        label="create_aradjustment",
    ),
)

AR_ADJUSTMENT = IntacctObject(
    name="ar_adjustment",
    sync_rank=50,
    intacct_object="ARADJUSTMENT",
    modes=("insert",),
    delete_behaviours=("nothing",),
    id_field="RECORDID",
    id_mapping_key="adjustmentno",
    custom_fields="legacy",
    create=_CREATE,
    deletes=(DeleteForm(function="delete_aradjustment", uses="recordno", attribute="key"),),
    read_fields=(
        "EXTERNALID",
        "RECORDID",
        "CUSTOMERID",
        "DESCRIPTION",
        "STATE",
        "WHENCREATED",
        "WHENPOSTED",
        "TOTALENTERED",
    ),
    natural_keys=(NaturalKey("RECORDID", ("adjustmentno",)), NaturalKey("EXTERNALID", ("externalid",))),
    adopts_existing=True,
    external_reference_key="externalid",
)
