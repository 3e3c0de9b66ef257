select 'x' || chr(31) || 'y' as first_part, 'z' as second_part, 'Ada One' as full_name
union all select 'x', 'y' || chr(31) || 'z', 'Ada Two'
union all select 'a', 'b', 'Ada Three'
