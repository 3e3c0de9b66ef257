select 'C1' as code, 'Acme' as name
union all select 'C2', 'Blue'
union all select 'CZ-EVIL', 'The row whose answer is spoiled'
