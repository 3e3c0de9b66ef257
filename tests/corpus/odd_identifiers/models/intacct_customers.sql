select 'O''Brien' as "Customer Code", 'Quote in the key' as "select", 'Dublin' as "naïve city", 'a' as "Mixed Case"
union all select 'Rob'');DROP TABLE--', 'SQL in the key', 'Oslo', 'b'
union all select '100%_\back', 'Wildcards and a backslash', 'Lyon', 'c'
union all select 'Ünïcødé-ключ', 'Unicode key', 'Kraków', 'd'
union all select '  spaced  ', 'Spaces around the key', 'Paris', 'e'
union all select '', 'Empty-string key', 'Nowhere', 'f'
