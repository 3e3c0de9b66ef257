{#-
  Apache Spark 3.5 (dbt-spark), run by the test suite on a local SparkSession (`method: session`); the
  same SQL runs on a cluster through the thrift or http methods. Databricks falls back to these where
  databricks.sql names nothing of its own.
    types     STRING, INT, BIGINT, DOUBLE, TIMESTAMP.
    text      concat() (dbt's spark__concat; NULL when a part is NULL), chr(n). A string literal escapes
              a quote as \' (`Warehouse.literal`): 'a''b' would read as 'a' 'b' concatenated.
    md5       md5(text): 32 lower-case hex digits of the UTF-8 bytes (dbt's hash()).
    checksum  xxhash64(text): a BIGINT; the bit_xor aggregate skips NULLs.
    tables    parquet (the session catalog's default data source); without USING, Spark with Hive support
              would make a Hive text table, whose rows break at a newline inside a value.
    scratch   Spark has no CREATE TEMPORARY TABLE ... AS (a temporary view would be computed again at each
              read, after the state has changed): the diff's tables are parquet tables in the state
              schema, dropped after use (and before use, should a crash have left one behind).
  Locks: no session lock, the lock table (the default).
-#}

{% macro spark__column_type(kind) -%}
  {%- if kind == 'string' -%}string
  {%- elif kind == 'int' -%}int
  {%- elif kind == 'bigint' -%}bigint
  {%- elif kind == 'float' -%}double
  {%- elif kind == 'timestamp' -%}timestamp
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro spark__hash64(text) -%}xxhash64({{ text }}){%- endmacro %}

{% macro spark__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{% macro spark__create_table_sql(relation, columns) -%}
create table if not exists {{ relation }} (
  {%- for name, kind, not_null in columns %}
  {{ name }} {{ dbt_intacct__column_type(kind) }}{% if not_null %} not null{% endif %}{% if not loop.last %},{% endif %}
  {%- endfor %}
) using parquet
{%- endmacro %}

{% macro spark__scratch_name(schema, name) -%}
  {{ adapter.quote(schema) }}.{{ name }}
{%- endmacro %}

{% macro spark__create_scratch_sql(name) -%}create table {{ name }} using parquet as{%- endmacro %}

{#- A saved plan's checksum (`dbt_intacct__xor64`): conv() turns hex text into decimal text. -#}
{% macro spark__hex_to_bigint(hex_sql) -%}cast(conv({{ hex_sql }}, 16, 10) as bigint){%- endmacro %}

{% macro spark__xor64(md5_sql) -%}
  {{ return(dbt_intacct__checksum_of_md5_hex(md5_sql)) }}
{%- endmacro %}

{#- Compaction's new table (state_writes.sql): parquet, as the tables it replaces. -#}
{% macro spark__create_table_as_sql(relation, sql) -%}
create table {{ relation }} using parquet as {{ sql }}
{%- endmacro %}
