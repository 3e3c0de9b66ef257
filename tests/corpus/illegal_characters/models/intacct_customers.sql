select 'X1' as code, 'Plain & <fine> "quoted" O''Hara' as name
union all select 'X2', 'Bell' || chr(7) || 'ringing'
union all select 'X3', 'Vertical' || chr(11) || 'tab'
union all select 'X4', 'Not a character ' || chr(65534)
union all select 'X5', 'Smile 🙂 and ﷺ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢'
union all select 'X6', 'Tab' || chr(9) || 'and' || chr(10) || 'newline'
union all select 'X8', ']]></NAME><STATUS>inactive</STATUS><NAME>'
