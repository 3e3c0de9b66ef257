select 'T1' as code, 'One' as name, 'hi' as note, 2 as times, 2 as base, cast(3 as bigint) as exponent
union all select 'T2', 'Two', 'ab', 1000000000, 2, 3
union all select 'T3', 'Three', 'hi', 1, 9, 3486784401
union all select 'T4', 'Four', 'yo', 1, 10, 2
