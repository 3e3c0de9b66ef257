select 'K1' as code, 'Fine' as name
union all select 'K2' || chr(1), 'Key with a control character'
union all select 'K3', 'Also fine'
