select 'JE-1' as entry_id, '2026-10-31' as posting_date, 'Good' as title, '[{"account": "6000", "amount": 10, "memo": "a"}, {"account": "1000", "amount": -10, "memo": "b"}]' as lines
union all
select 'JE-2' as entry_id, 'not-a-date' as posting_date, 'Bad date' as title, '[{"account": "6000", "amount": 10, "memo": "a"}, {"account": "1000", "amount": -10, "memo": "b"}]' as lines
union all
select 'JE-3' as entry_id, '2026-02-30' as posting_date, 'No such day' as title, '[{"account": "6000", "amount": 10, "memo": "a"}, {"account": "1000", "amount": -10, "memo": "b"}]' as lines
union all
select 'JE-4' as entry_id, '2026-10-31' as posting_date, 'Bad amount' as title, '[{"account": "6000", "amount": "ten", "memo": "a"}, {"account": "1000", "amount": -10, "memo": "b"}]' as lines
union all
select 'JE-5' as entry_id, '2026-10-31' as posting_date, 'Lines not a list' as title, '{"account": "6000"}' as lines
