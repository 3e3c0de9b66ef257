{#-
  Amazon Redshift, written from its documentation; not run by the test suite (it renders and parses
  these macros only: tests/unit/test_dialects.py). dbt-redshift's macros fall back to dbt-postgres's
  `postgres__` ones before `default__`, and most of ours do not hold on Redshift: every `postgres__`
  macro of the package is overridden here (the test checks that none is left to chance).
    types     VARCHAR(65535) (a bare VARCHAR is 256 bytes), INTEGER, BIGINT, DOUBLE PRECISION,
              TIMESTAMP. A text longer than 65535 bytes cannot be stored (a function's XML in the
              ledger: keep request bodies under that, or the write fails with the row named).
    text      `||` (NULL when a part is NULL), CHR(n).
    md5       MD5(text): 32 lower-case hex digits (no hashtextextended: the row hash is md5).
    checksum  FNV_HASH(text): a 64-bit BIGINT. Redshift has no bitwise-XOR aggregate: the checksum is
              the SUM of the hashes as DECIMAL(38,0), order-independent as the XOR is, and without
              overflow up to 10^19 rows.
    key check no FILTER clause, no hash of a key in the grouping: plain GROUP BY (the default).
    locks     no advisory locks: the lock table (the default). No CREATE INDEX, no session settings.
    state     insert-only (the default `state_writes`): a DELETE leaves rows to VACUUM.
-#}

{% macro redshift__column_type(kind) -%}
  {%- if kind == 'string' -%}varchar(65535)
  {%- elif kind == 'int' -%}integer
  {%- elif kind == 'bigint' -%}bigint
  {%- elif kind == 'float' -%}double precision
  {%- elif kind == 'timestamp' -%}timestamp
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro redshift__concat(parts) -%}{{ parts | join(' || ') }}{%- endmacro %}

{% macro redshift__md5_hex(text) -%}md5({{ text }}){%- endmacro %}

{% macro redshift__hash64(text) -%}fnv_hash({{ text }}){%- endmacro %}

{% macro redshift__checksum_agg(expression) -%}sum(cast({{ expression }} as decimal(38, 0))){%- endmacro %}

{% macro redshift__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{% macro redshift__shared_keys_sql(relation, key_sql) -%}
  {{ return(default__shared_keys_sql(relation, key_sql)) }}
{%- endmacro %}

{% macro redshift__state_index_sql(relation) -%}
{%- endmacro %}

{% macro redshift__try_lock_sql(lock_literal) -%}
  {{ return(default__try_lock_sql(lock_literal)) }}
{%- endmacro %}

{% macro redshift__unlock_sql(lock_literal) -%}
  {{ return(default__unlock_sql(lock_literal)) }}
{%- endmacro %}

{% macro redshift__diff_keys_aside_settings_sql() -%}
{%- endmacro %}

{% macro redshift__diff_settings_sql(reset) -%}
{%- endmacro %}

{% macro redshift__state_writes() -%}{{ return('append') }}{%- endmacro %}

{#- A saved plan's checksum (`dbt_intacct__xor64`): STRTOL(text, 16) reads hex text as a BIGINT. -#}
{% macro redshift__hex_to_bigint(hex_sql) -%}strtol({{ hex_sql }}, 16){%- endmacro %}

{% macro redshift__xor64(md5_sql) -%}
  {{ return(dbt_intacct__checksum_of_md5_hex(md5_sql)) }}
{%- endmacro %}

{#- The states an older version wrote here hold md5 row hashes (it never wrote hash64 on Redshift). -#}
{% macro redshift__legacy_hash_scheme() -%}md5{%- endmacro %}

{#- SVV_COLUMNS lists the columns of late-binding views too, which information_schema leaves out. -#}
{% macro redshift__column_types_sql(relation, names) -%}
select column_name, data_type from svv_columns
where table_schema = {{ names.schema }} and table_name = {{ names.identifier }}
{%- endmacro %}

{#- A SUPER value as its JSON text: Redshift's own, not the canonical text of its elements. -#}
{% macro redshift__canonical_json(column) -%}json_serialize({{ column }}){%- endmacro %}

{#- No trim_scale() on Redshift: the text functions (macros/canonical.sql). -#}
{% macro redshift__canonical_text(column, kind) -%}
  {{ return(default__canonical_text(column, kind)) }}
{%- endmacro %}
