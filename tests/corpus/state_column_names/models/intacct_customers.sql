select 'S1' as code, 'One' as name, 'active' as status, 'r1' as row_key, 'h1' as row_hash, 1 as version
union all select 'S2', 'Two', 'inactive', 'r2', 'h2', 2
