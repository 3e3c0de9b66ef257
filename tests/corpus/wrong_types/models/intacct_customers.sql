select 'W1' as code, 'Good' as name, 'true' as on_hold, 'active' as customer_status
union all select 'W2', 'Bad hold', 'maybe', 'active'
union all select 'W3', 'Bad status', 'false', 'deleted'
