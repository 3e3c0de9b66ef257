{#-
  How the tool's own tables are written (dbt_intacct/state/append.py):
    replace  rows are replaced in place (DELETE then INSERT, UPDATE): one row per key.
    append   insert-only: every change is a new row with a higher `seq`, a delete is a tombstone row,
             and each keyed table is read through a view of its latest row per key. For warehouses
             without row-level DELETE/UPDATE (plain parquet tables on Spark, metered warehouses).
  The project var `dbt_intacct_state_writes` ('append' or 'replace') forces one on any warehouse.
-#}
{% macro dbt_intacct__state_writes() -%}
  {%- set forced = var('dbt_intacct_state_writes', none) -%}
  {%- if forced is not none -%}
    {%- if forced not in ('append', 'replace') -%}
      {{ exceptions.raise_compiler_error("dbt_intacct_state_writes must be 'append' or 'replace', not '" ~ forced ~ "'") }}
    {%- endif -%}
    {{ return(forced) }}
  {%- endif -%}
  {{ return(adapter.dispatch('state_writes', 'dbt_intacct')()) }}
{%- endmacro %}

{% macro default__state_writes() -%}
  {{ return('replace') }}
{%- endmacro %}

{#- BigQuery bills every DML statement as a scan of the table: insert only. -#}
{% macro bigquery__state_writes() -%}
  {{ return('append') }}
{%- endmacro %}

{#-
  Spark: table formats with row-level DELETE/UPDATE (delta, iceberg, hudi) replace; plain formats
  (parquet, the session catalog's default, orc, csv ...) append. The format is the target's
  `file_format` if its profile has one, else the project var `dbt_intacct_file_format`, else parquet.
-#}
{% macro spark__state_writes() -%}
  {%- set file_format = var('dbt_intacct_file_format', target.get('file_format', none) or 'parquet') -%}
  {%- if file_format | lower in ('delta', 'iceberg', 'hudi') -%}
    {{ return('replace') }}
  {%- endif -%}
  {{ return('append') }}
{%- endmacro %}

{#-
  Rename a table within its schema (compaction's swap, carrying a table over to append mode). Postgres
  and DuckDB take the new name alone; Spark (and Snowflake, macros/dialects/) take it qualified.
-#}
{% macro dbt_intacct__rename_table_sql(relation, new_relation) -%}
  {{ return(adapter.dispatch('rename_table_sql', 'dbt_intacct')(relation, new_relation)) }}
{%- endmacro %}

{% macro default__rename_table_sql(relation, new_relation) -%}
alter table {{ relation }} rename to {{ adapter.quote(new_relation.identifier) }}
{%- endmacro %}

{% macro spark__rename_table_sql(relation, new_relation) -%}
alter table {{ relation }} rename to {{ new_relation }}
{%- endmacro %}

{#-
  A view of the current rows of an append-only table: the latest row per key (highest `seq`; a row
  written before the table was carried over to append mode has none and counts as the oldest), unless
  that row is a tombstone (`tombstone`: a condition on the row). `columns` are the columns shown.
-#}
{% macro dbt_intacct__current_view_sql(view, relation, keys, columns, tombstone) -%}
create view {{ view }} as
{{ dbt_intacct__current_rows_sql(relation, keys, columns, tombstone) }}
{%- endmacro %}

{% macro dbt_intacct__current_rows_sql(relation, keys, columns, tombstone) -%}
select {{ columns | join(', ') }}
from (
  select history.*,
    row_number() over (partition by {{ keys | join(', ') }} order by coalesce(seq, 0) desc) as latest__
  from {{ relation }} history
) ranked
where latest__ = 1 and not ({{ tombstone }})
{%- endmacro %}

{#- A new table of a query's rows (compaction, retention, back to replace mode). -#}
{% macro dbt_intacct__create_table_as_sql(relation, sql) -%}
  {{ return(adapter.dispatch('create_table_as_sql', 'dbt_intacct')(relation, sql)) }}
{%- endmacro %}

{% macro default__create_table_as_sql(relation, sql) -%}
create table {{ relation }} as {{ sql }}
{%- endmacro %}
