-- Billing contacts, named "<first> <last> (<customer>)" so that names stay unique in Intacct.
select
    c.contact_id,
    c.first_name || ' ' || c.last_name || ' (' || upper(c.account_code) || ')' as contact_name,
    c.first_name,
    c.last_name,
    a.account_name as company_name,
    c.email,
    c.phone
from {{ ref('crm_contacts') }} c
join {{ ref('crm_accounts') }} a using (account_code)
