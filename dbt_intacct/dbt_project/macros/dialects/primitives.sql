{#-
  The small pieces of SQL in which warehouses differ, each dispatched (`adapter.dispatch(...,
  'dbt_intacct')`): state.sql builds its statements from them. The default is dbt's cross-database
  macro, or the SQL that DuckDB and Postgres share; macros/dialects/<warehouse>.sql has the warehouses
  whose macros are written from their documentation (Snowflake, BigQuery, Databricks, Redshift).
-#}

{#- Text expressions joined into one; NULL when any of them is (the callers keep NULLs out). -#}
{% macro dbt_intacct__concat(parts) -%}
  {{ return(adapter.dispatch('concat', 'dbt_intacct')(parts)) }}
{%- endmacro %}

{% macro default__concat(parts) -%}{{ dbt.concat(parts) }}{%- endmacro %}

{#- The md5 of a text's UTF-8 bytes as 32 lower-case hex digits (a row hash kept in the state). -#}
{% macro dbt_intacct__md5_hex(text) -%}
  {{ return(adapter.dispatch('md5_hex', 'dbt_intacct')(text)) }}
{%- endmacro %}

{% macro default__md5_hex(text) -%}{{ dbt.hash(text) }}{%- endmacro %}

{#-
  A 64-bit integer hash of a text, for checksums that need to agree only within one statement
  (`dbt_intacct__checksum_agg`). No default: a warehouse that names none has no checksum check.
-#}
{% macro dbt_intacct__hash64(text) -%}
  {{ return(adapter.dispatch('hash64', 'dbt_intacct')(text)) }}
{%- endmacro %}

{% macro default__hash64(text) -%}
  {{ exceptions.raise_compiler_error("dbt_intacct__hash64 has no implementation for " ~ adapter.type()) }}
{%- endmacro %}

{#-
  An order-independent aggregate of 64-bit hashes (NULLs skipped, NULL over no row): the XOR of them
  where the warehouse has a bitwise-XOR aggregate. Equal multisets of rows give equal values whatever
  the order the warehouse reads them in; a multiset that differs gives another value but for a 2^-64
  accident.
-#}
{% macro dbt_intacct__checksum_agg(expression) -%}
  {{ return(adapter.dispatch('checksum_agg', 'dbt_intacct')(expression)) }}
{%- endmacro %}

{% macro default__checksum_agg(expression) -%}bit_xor({{ expression }}){%- endmacro %}

{#-
  The check before the diff (`dbt_intacct__diff_check_sql`, see state.sql for its columns) for a
  warehouse that has `dbt_intacct__hash64` and `dbt_intacct__checksum_agg`. A row counts by the 64-bit
  hash of its key, the unit separator and its (canonical) row hash, on the relation's side computed from the row, on the state's from the 'ok' state row:
  the two checksums agree when every row has an 'ok' state row with its hash. Keys are checked by the
  hash of 'k' and the key, on both sides. Counts are `count(case ... end)`, which every warehouse has.
-#}
{% macro dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
{%- set keyed -%}
  {% for c in key_columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{%- endset -%}
{%- set key_sql = dbt_intacct__row_key(key_columns) -%}
{%- set sep = "chr(31)" -%}
{%- if send_changes -%}
  {%- set row_text = dbt_intacct__concat([key_sql, sep, dbt_intacct__row_hash(hash_columns, fingerprint, key_columns=key_columns, scheme='canonical')]) -%}
  {%- set state_text = dbt_intacct__concat(["row_key", sep, "row_hash"]) -%}
{%- else -%}
  {%- set row_text = key_sql -%}
  {%- set state_text = "row_key" -%}
{%- endif -%}
select r.relation_rows, r.keyed_rows, r.relation_xor, s.ok_rows, s.ok_xor, s.legacy, s.attention,
  r.key_xor, s.state_rows, s.state_key_xor, true as compares_rows
from (
  select
    count(*) as relation_rows,
    count(case when {{ keyed }} then 1 end) as keyed_rows,
    {{ dbt_intacct__checksum_agg("case when " ~ keyed ~ " then " ~ dbt_intacct__hash64(row_text) ~ " end") }} as relation_xor,
    {{ dbt_intacct__checksum_agg("case when " ~ keyed ~ " then " ~ dbt_intacct__hash64(dbt_intacct__concat(["'k'", key_sql])) ~ " end") }} as key_xor
  from {{ relation }}
) r
cross join (
  select
    count(case when status = 'ok' then 1 end) as ok_rows,
    {{ dbt_intacct__checksum_agg("case when status = 'ok' then " ~ dbt_intacct__hash64(state_text) ~ " end") }} as ok_xor,
    {%- if send_changes %}
    count(case when {{ dbt_intacct__legacy_hash_condition() }} then 1 end) as legacy,
    {%- else %}
    0 as legacy,
    {%- endif %}
    count(case when status in ('failed', 'rejected') then 1 end) as attention,
    count(*) as state_rows,
    {{ dbt_intacct__checksum_agg(dbt_intacct__hash64(dbt_intacct__concat(["'k'", "row_key"]))) }} as state_key_xor
  from {{ state }}
  where model_id = {{ model_literal }}
) s
{%- endmacro %}

{#-
  A saved plan's checksum (`dbt_intacct__xor64`) where the warehouse has no 64-bit cast of hex text:
  the first 15 hex digits (60 bits, so that the number fits a signed 64-bit integer) of each md5 hex
  digest as an integer (`dbt_intacct__hex_to_bigint`), aggregated by `dbt_intacct__checksum_agg`, as
  text. Compared only with itself on the same warehouse (`sync --plan`).
-#}
{% macro dbt_intacct__checksum_of_md5_hex(md5_sql) -%}
cast({{ dbt_intacct__checksum_agg(dbt_intacct__hex_to_bigint("substr(" ~ md5_sql ~ ", 1, 15)")) }} as {{ dbt_intacct__column_type('string') }})
{%- endmacro %}

{#- Hex text (at most 15 digits) as a 64-bit integer. No default: each warehouse says how. -#}
{% macro dbt_intacct__hex_to_bigint(hex_sql) -%}
  {{ return(adapter.dispatch('hex_to_bigint', 'dbt_intacct')(hex_sql)) }}
{%- endmacro %}

{% macro default__hex_to_bigint(hex_sql) -%}
  {{ exceptions.raise_compiler_error("dbt_intacct__hex_to_bigint has no implementation for " ~ adapter.type()) }}
{%- endmacro %}

{#-
  The diff's tables (`dbt_intacct__diff_sql` and the change sets made from it): the name a table gets
  (`name`, unqualified, made by the Python side), and the head of the statement that makes it from a
  query. By default a temporary table, private to the connection and gone with it. Where the warehouse
  has none that a single statement can make (Spark, BigQuery), an ordinary table in the state schema
  (`schema`): the Python side drops it after use, and before use should a crash have left it behind.
-#}
{% macro dbt_intacct__scratch_name(schema, name) -%}
  {{ return(adapter.dispatch('scratch_name', 'dbt_intacct')(schema, name)) }}
{%- endmacro %}

{% macro default__scratch_name(schema, name) -%}{{ name }}{%- endmacro %}

{% macro dbt_intacct__create_scratch_sql(name) -%}
  {{ return(adapter.dispatch('create_scratch_sql', 'dbt_intacct')(name)) }}
{%- endmacro %}

{% macro default__create_scratch_sql(name) -%}create temporary table {{ name }} as{%- endmacro %}
