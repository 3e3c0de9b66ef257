{#-
  Databricks (dbt-databricks, whose macros fall back to dbt-spark's `spark__` ones, then `default__`),
  written from its documentation; not run by the test suite (it renders and parses these macros only:
  tests/unit/test_dialects.py). What is not here is Spark's, which the suite runs on a local session.
    types     STRING, INT, BIGINT, DOUBLE, TIMESTAMP.
    text      `||` (NULL when a part is NULL), chr(n).
    md5       md5(text): 32 lower-case hex digits of the UTF-8 bytes.
    checksum  xxhash64(text): a BIGINT; the bit_xor aggregate skips NULLs.
    tables    Delta (Databricks' default format; Spark's macros say parquet), scratch tables included.
    state     insert-only, as on Spark (the default `state_writes`): Delta rewrites files on every
              DELETE, and the state is written in small batches.
  Locks: no session lock, the lock table (the default).
-#}

{% macro databricks__column_type(kind) -%}
  {%- if kind == 'string' -%}string
  {%- elif kind == 'int' -%}int
  {%- elif kind == 'bigint' -%}bigint
  {%- elif kind == 'float' -%}double
  {%- elif kind == 'timestamp' -%}timestamp
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro databricks__concat(parts) -%}{{ parts | join(' || ') }}{%- endmacro %}

{% macro databricks__md5_hex(text) -%}md5({{ text }}){%- endmacro %}

{% macro databricks__hash64(text) -%}xxhash64({{ text }}){%- endmacro %}

{% macro databricks__checksum_agg(expression) -%}bit_xor({{ expression }}){%- endmacro %}

{% macro databricks__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{% macro databricks__create_table_sql(relation, columns) -%}
create table if not exists {{ relation }} (
  {%- for name, kind, not_null in columns %}
  {{ name }} {{ dbt_intacct__column_type(kind) }}{% if not_null %} not null{% endif %}{% if not loop.last %},{% endif %}
  {%- endfor %}
) using delta
{%- endmacro %}

{% macro databricks__create_table_as_sql(relation, sql) -%}
create table {{ relation }} using delta as {{ sql }}
{%- endmacro %}

{#- In the target's catalog (Unity Catalog), not the session's current one. -#}
{% macro databricks__scratch_name(schema, name) -%}
  {%- if target.database %}{{ adapter.quote(target.database) }}.{% endif %}{{ adapter.quote(schema) }}.{{ name }}
{%- endmacro %}

{% macro databricks__create_scratch_sql(name) -%}create table {{ name }} using delta as{%- endmacro %}

{#- A saved plan's checksum (`dbt_intacct__xor64`): conv() turns hex text into decimal text. -#}
{% macro databricks__hex_to_bigint(hex_sql) -%}cast(conv({{ hex_sql }}, 16, 10) as bigint){%- endmacro %}

{% macro databricks__xor64(md5_sql) -%}
  {{ return(dbt_intacct__checksum_of_md5_hex(md5_sql)) }}
{%- endmacro %}
