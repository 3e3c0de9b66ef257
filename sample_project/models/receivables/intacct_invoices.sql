-- One row per invoice, its lines as a DuckDB LIST of STRUCT (the array builder maps each element).
select
    i.invoice_number,
    upper(i.account_code) as customer_code,
    cast(i.invoice_date as date) as invoice_date,
    cast(i.due_date as date) as due_date,
    i.description,
    i.po_number,
    i.channel,
    list(
        struct_pack(
            account := cast(l.revenue_account as varchar),
            amount := cast(l.amount as decimal(18, 2)),
            memo := l.memo,
            department := l.department,
            revenue_type := l.revenue_type
        )
        order by l.line_no
    ) as lines
from {{ ref('billing_invoices') }} i
join {{ ref('billing_invoice_lines') }} l using (invoice_number)
group by all
