select * from {{ ref('crm_customers') }}
