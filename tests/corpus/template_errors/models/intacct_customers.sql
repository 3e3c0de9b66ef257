select 'T1' as code, 'One' as name, 1 as amount, 2 as quantity
union all select 'T2', 'Two', 1, 0
union all select 'T3', 'Three', 3, 4
