-- Customer receipts applied to the invoices they pay. The invoice's Intacct RECORDNO is found at sync
-- time from the invoice model's state (`record_of` in the YAML), so no second dbt run is needed.
select
    receipt_id,
    upper(account_code) as customer_code,
    cast(received_on as date) as received_on,
    bank_reference,
    method,
    [struct_pack(
        invoice_number := invoice_number,
        amount := cast(amount as decimal(18, 2))
    )] as applications
from {{ ref('bank_receipts') }}
