-- Journal entries with signed line amounts: positive = debit, negative = credit.
select
    entry_id,
    cast(posting_date as date) as posting_date,
    title,
    list(
        struct_pack(
            account := cast(account as varchar),
            amount := cast(amount as decimal(18, 2)),
            department := department,
            memo := memo
        )
        order by line_no
    ) as lines
from {{ ref('finance_accruals') }}
group by all
