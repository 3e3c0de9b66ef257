{#-
  The adapter-specific pieces of the intacct_* generic tests, dispatched so that DuckDB and Postgres
  (and any adapter that adds its own version) share one test body.
-#}

{#- A SQL string literal of `text`, quotes doubled. -#}
{% macro intacct_problem_text(text) -%}
'{{ text | replace("'", "''") }}'
{%- endmacro %}

{#- Every character XML 1.0 cannot carry, as a regular expression for the adapter's engine. -#}
{% macro intacct_has_non_xml_character(text_sql) -%}
  {{ return(adapter.dispatch("intacct_has_non_xml_character", "dbt_intacct")(text_sql)) }}
{%- endmacro %}

{% macro default__intacct_has_non_xml_character(text_sql) -%}
{#- PostgreSQL ARE: text cannot hold U+0000, and \uFFFE is a 4-digit escape. -#}
{{ text_sql }} ~ '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]'
{%- endmacro %}

{% macro duckdb__intacct_has_non_xml_character(text_sql) -%}
{#- RE2 syntax. -#}
regexp_matches({{ text_sql }}, '[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]')
{%- endmacro %}

{% macro intacct_first_non_xml_character(text_sql) -%}
  {{ return(adapter.dispatch("intacct_first_non_xml_character", "dbt_intacct")(text_sql)) }}
{%- endmacro %}

{% macro default__intacct_first_non_xml_character(text_sql) -%}
'U+' || lpad(upper(to_hex(ascii(substring({{ text_sql }} from '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]')))), 4, '0')
{%- endmacro %}

{% macro duckdb__intacct_first_non_xml_character(text_sql) -%}
printf('U+%04X', unicode(regexp_extract({{ text_sql }}, '[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]')))
{%- endmacro %}

{#- 1-based position of the first such character. -#}
{% macro intacct_non_xml_position(text_sql) -%}
  {{ return(adapter.dispatch("intacct_non_xml_position", "dbt_intacct")(text_sql)) }}
{%- endmacro %}

{% macro default__intacct_non_xml_position(text_sql) -%}
position(substring({{ text_sql }} from '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]') in {{ text_sql }})
{%- endmacro %}

{% macro duckdb__intacct_non_xml_position(text_sql) -%}
strpos({{ text_sql }}, regexp_extract({{ text_sql }}, '[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]'))
{%- endmacro %}

{#- The journal lines column as a JSON array (NULL when it is not an array). -#}
{% macro intacct_lines_json(model, column_name) -%}
  {{ return(adapter.dispatch("intacct_lines_json", "dbt_intacct")(model, column_name)) }}
{%- endmacro %}

{% macro default__intacct_lines_json(model, column_name) -%}
{#- json, jsonb and JSON text all cast to jsonb. -#}
case when jsonb_typeof(cast({{ column_name }} as jsonb)) = 'array' then cast({{ column_name }} as jsonb) end
{%- endmacro %}

{% macro duckdb__intacct_lines_json(model, column_name) -%}
{#- Decided per value, not from the column's type: with a `where` config `model` is a subquery, not a
    relation whose columns could be looked up. to_json turns a LIST/STRUCT into a JSON array, keeps JSON,
    and turns text into a JSON string, which json() then parses. -#}
{%- set as_json = "to_json(" ~ column_name ~ ")" -%}
{%- set lines = "coalesce(case when json_type(" ~ as_json ~ ") = 'VARCHAR' then json(" ~ as_json ~ " ->> '$') end, " ~ as_json ~ ")" -%}
case when json_type({{ lines }}) = 'ARRAY' then {{ lines }} end
{%- endmacro %}

{% macro intacct_line_count(model, column_name) -%}
  {{ return(adapter.dispatch("intacct_line_count", "dbt_intacct")(model, column_name)) }}
{%- endmacro %}

{% macro default__intacct_line_count(model, column_name) -%}
coalesce(jsonb_array_length({{ dbt_intacct.intacct_lines_json(model, column_name) }}), 0)
{%- endmacro %}

{% macro duckdb__intacct_line_count(model, column_name) -%}
coalesce(json_array_length({{ dbt_intacct.intacct_lines_json(model, column_name) }}), 0)
{%- endmacro %}

{#- The sum of the lines' amounts matching `sign_test` (e.g. "> 0"), each rounded to the cent, as a positive number. -#}
{% macro intacct_line_amount_sum(model, column_name, amount_key, sign_test) -%}
  {{ return(adapter.dispatch("intacct_line_amount_sum", "dbt_intacct")(model, column_name, amount_key, sign_test)) }}
{%- endmacro %}

{% macro default__intacct_line_amount_sum(model, column_name, amount_key, sign_test) -%}
(
  select coalesce(abs(sum(round(cast(line ->> {{ dbt_intacct.intacct_problem_text(amount_key) }} as numeric), 2))), 0)
  from jsonb_array_elements({{ dbt_intacct.intacct_lines_json(model, column_name) }}) as lines(line)
  where cast(line ->> {{ dbt_intacct.intacct_problem_text(amount_key) }} as numeric) {{ sign_test }}
)
{%- endmacro %}

{% macro duckdb__intacct_line_amount_sum(model, column_name, amount_key, sign_test) -%}
{%- set amount = "cast(json_extract_string(value, " ~ dbt_intacct.intacct_problem_text('$."' ~ amount_key ~ '"') ~ ") as decimal(38, 10))" -%}
(
  select coalesce(abs(sum(round({{ amount }}, 2))), 0)
  from json_each({{ dbt_intacct.intacct_lines_json(model, column_name) }})
  where {{ amount }} {{ sign_test }}
)
{%- endmacro %}
