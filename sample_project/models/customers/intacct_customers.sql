-- One row per customer as Intacct should hold it.
select
    upper(account_code) as customer_code,
    account_name as customer_name,
    billing_email,
    phone,
    street,
    city,
    nullif(state, '') as state,
    postal_code,
    country,
    segment,
    is_active,
    credit_limit,
    payment_terms,
    source_system
from {{ ref('crm_accounts') }}
