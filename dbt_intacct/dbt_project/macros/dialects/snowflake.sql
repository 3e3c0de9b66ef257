{#-
  Snowflake, written from its documentation; not run by the test suite (it renders and parses these
  macros only: tests/unit/test_dialects.py).
    types     VARCHAR (16 MB), NUMBER(38,0) through INTEGER/BIGINT, FLOAT (double), TIMESTAMP_NTZ (the
              tool writes UTC without a zone).
    text      `||` (NULL when a part is NULL), CHR(n).
    md5       MD5(text): 32 lower-case hex digits of the UTF-8 bytes.
    checksum  HASH(text): a signed 64-bit number; BITXOR_AGG skips NULLs.
    scratch   CREATE TEMPORARY TABLE ... AS (session-scoped; dbt-snowflake keeps one session).
    rename    ALTER TABLE ... RENAME TO takes the new name fully qualified, so it stays in its schema.
  Locks: no session lock, the lock table (the default).
-#}

{% macro snowflake__column_type(kind) -%}
  {%- if kind == 'string' -%}varchar
  {%- elif kind == 'int' -%}integer
  {%- elif kind == 'bigint' -%}bigint
  {%- elif kind == 'float' -%}float
  {%- elif kind == 'timestamp' -%}timestamp_ntz
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro snowflake__concat(parts) -%}{{ parts | join(' || ') }}{%- endmacro %}

{% macro snowflake__md5_hex(text) -%}md5({{ text }}){%- endmacro %}

{% macro snowflake__hash64(text) -%}hash({{ text }}){%- endmacro %}

{% macro snowflake__checksum_agg(expression) -%}bitxor_agg({{ expression }}){%- endmacro %}

{% macro snowflake__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{% macro snowflake__rename_table_sql(relation, new_relation) -%}
alter table {{ relation }} rename to {{ new_relation }}
{%- endmacro %}

{#- A saved plan's checksum (`dbt_intacct__xor64`): TO_NUMBER with a format of X digits reads hex text. -#}
{% macro snowflake__hex_to_bigint(hex_sql) -%}to_number({{ hex_sql }}, 'XXXXXXXXXXXXXXX'){%- endmacro %}

{% macro snowflake__xor64(md5_sql) -%}
  {{ return(dbt_intacct__checksum_of_md5_hex(md5_sql)) }}
{%- endmacro %}

{#- The canonical row text (macros/canonical.sql): TO_CHAR's fraction is FF6, not US. -#}
{% macro snowflake__format_timestamp(column) -%}to_char({{ column }}, 'YYYY-MM-DD"T"HH24:MI:SS.FF6'){%- endmacro %}

{% macro snowflake__in_utc(column) -%}cast(convert_timezone('UTC', {{ column }}) as timestamp_ntz){%- endmacro %}

{#- The database's own information schema: the session's current database may be another. -#}
{% macro snowflake__column_types_sql(relation, names) -%}
select column_name, data_type from {{ adapter.quote(relation.database) }}.information_schema.columns
where table_schema = {{ names.schema }} and table_name = {{ names.identifier }}
{%- endmacro %}
