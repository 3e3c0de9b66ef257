{#-
  BigQuery (GoogleSQL), written from its documentation; not run by the test suite (it renders and
  parses these macros only: tests/unit/test_dialects.py).
    types     STRING, INT64, FLOAT64, TIMESTAMP (the tool writes UTC).
    text      `||` (NULL when a part is NULL), CHR(n).
    md5       MD5 returns BYTES: TO_HEX(MD5(text)) is 32 lower-case hex digits of the UTF-8 bytes.
    checksum  FARM_FINGERPRINT(text): a signed INT64; the BIT_XOR aggregate skips NULLs.
    scratch   CREATE TEMP TABLE needs a script or a session, which dbt-bigquery does not open: diff
              tables are ordinary tables in the state dataset, dropped after use, and expiring after a
              day should a crash leave one behind.
    state     DML is metered and limited in concurrency: the state is written insert-only (the default
              `state_writes`).
  Locks: no session lock, the lock table (the default).
-#}

{% macro bigquery__column_type(kind) -%}
  {%- if kind == 'string' -%}string
  {%- elif kind == 'int' -%}int64
  {%- elif kind == 'bigint' -%}int64
  {%- elif kind == 'float' -%}float64
  {%- elif kind == 'timestamp' -%}timestamp
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro bigquery__concat(parts) -%}{{ parts | join(' || ') }}{%- endmacro %}

{% macro bigquery__md5_hex(text) -%}to_hex(md5({{ text }})){%- endmacro %}

{% macro bigquery__hash64(text) -%}farm_fingerprint({{ text }}){%- endmacro %}

{% macro bigquery__checksum_agg(expression) -%}bit_xor({{ expression }}){%- endmacro %}

{% macro bigquery__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{#- In the target's project: a dataset named alone is looked up in the project that runs the job. -#}
{% macro bigquery__scratch_name(schema, name) -%}
  {%- if target.database %}{{ adapter.quote(target.database) }}.{% endif %}{{ adapter.quote(schema) }}.{{ name }}
{%- endmacro %}

{% macro bigquery__create_scratch_sql(name) -%}
create table {{ name }}
options (expiration_timestamp = timestamp_add(current_timestamp(), interval 1 day)) as
{%- endmacro %}

{#- A saved plan's checksum (`dbt_intacct__xor64`): CAST of '0x...' text to INT64 reads hex. -#}
{% macro bigquery__hex_to_bigint(hex_sql) -%}cast(concat('0x', {{ hex_sql }}) as int64){%- endmacro %}

{% macro bigquery__xor64(md5_sql) -%}
  {{ return(dbt_intacct__checksum_of_md5_hex(md5_sql)) }}
{%- endmacro %}

{#-
  The canonical row text (macros/canonical.sql). NUMERIC is DECIMAL(38, 9) already; a TIMESTAMP is an
  instant, written in UTC (its cast to DATETIME is in UTC), a DATETIME as it is.
-#}
{% macro bigquery__canonical_decimal_type() -%}numeric{%- endmacro %}

{% macro bigquery__format_date(column) -%}format_date('%Y-%m-%d', {{ column }}){%- endmacro %}

{% macro bigquery__format_timestamp(column) -%}format_datetime('%Y-%m-%dT%H:%M:%E6S', cast({{ column }} as datetime)){%- endmacro %}

{% macro bigquery__in_utc(column) -%}{{ column }}{%- endmacro %}

{#- A dataset's INFORMATION_SCHEMA, in the relation's project. -#}
{% macro bigquery__column_types_sql(relation, names) -%}
select column_name, data_type
from {% if relation.database %}{{ adapter.quote(relation.database) }}.{% endif %}{{ adapter.quote(relation.schema) }}.INFORMATION_SCHEMA.COLUMNS
where table_name = {{ names.identifier }}
{%- endmacro %}
