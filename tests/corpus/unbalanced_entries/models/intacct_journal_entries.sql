select 'JE-1' as entry_id, '2026-10-31' as posting_date, 'Balanced' as title, '[{"account": "6000", "amount": 10, "memo": "a"}, {"account": "1000", "amount": -10, "memo": "b"}]' as lines
union all
select 'JE-2' as entry_id, '2026-10-31' as posting_date, 'Unbalanced' as title, '[{"account": "6000", "amount": 100, "memo": "a"}, {"account": "1000", "amount": -90, "memo": "b"}]' as lines
union all
select 'JE-3' as entry_id, '2026-10-31' as posting_date, 'One line' as title, '[{"account": "6000", "amount": 0, "memo": "a"}]' as lines
union all
select 'JE-4' as entry_id, '2026-10-31' as posting_date, 'No lines' as title, '[]' as lines
union all
select 'JE-5' as entry_id, '2026-10-31' as posting_date, 'Balanced before rounding only' as title, '[{"account": "6000", "amount": 0.005, "memo": "a"}, {"account": "6000", "amount": 0.005, "memo": "b"}, {"account": "1000", "amount": -0.01, "memo": "c"}]' as lines
union all
select 'JE-6' as entry_id, '2026-10-31' as posting_date, 'Three balanced lines' as title, '[{"account": "6000", "amount": 300.10, "memo": "a"}, {"account": "6000", "amount": 0.20, "memo": "b"}, {"account": "2000", "amount": -300.30, "memo": "c"}]' as lines
