select 'L1' as code, 'Fits' as name, 'short' as comments
union all select 'L123456789012345678901', 'ID of 22 characters', 'x'
union all select 'L3', repeat('n', 101), 'x'
union all select 'L4', repeat('é', 100), 'x'
union all select 'L5', 'Long comment', repeat('c', 201)
