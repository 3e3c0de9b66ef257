-- Order Entry sales orders; Intacct names each one "<transaction definition>-<document number>".
select
    o.order_number,
    'Sales Order-' || o.order_number as docid,
    upper(o.account_code) as customer_code,
    cast(o.order_date as date) as order_date,
    o.reference,
    o.message,
    o.channel,
    list(
        struct_pack(
            item := l.item,
            quantity := l.quantity,
            price := cast(l.unit_price as decimal(18, 2)),
            memo := l.memo
        )
        order by l.line_no
    ) as lines
from {{ ref('sales_orders') }} o
join {{ ref('sales_order_lines') }} l using (order_number)
group by all
