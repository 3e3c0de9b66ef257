-- AR adjustments: credit memos against invoices (a negative line amount is a credit).
select
    memo_number,
    upper(account_code) as customer_code,
    cast(memo_date as date) as memo_date,
    invoice_number,
    reason,
    [struct_pack(
        account := cast(revenue_account as varchar),
        amount := cast(amount as decimal(18, 2)),
        memo := reason
    )] as lines
from {{ ref('billing_credit_memos') }}
