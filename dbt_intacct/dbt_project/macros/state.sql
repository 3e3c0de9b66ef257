{#-
  The warehouse side of dbt-intacct. Every macro here returns SQL text; the Python side runs it through
  the adapter's cursor. Types come from dbt's cross-database macros. The tables and their columns are
  listed in dbt_intacct/sync/state.py (TABLES).
-#}

{#- A column type by kind, through dbt's cross-database type macros. -#}
{% macro dbt_intacct__column_type(kind) -%}
  {%- if kind == 'string' -%}{{ dbt.type_string() }}
  {%- elif kind == 'int' -%}{{ dbt.type_int() }}
  {%- elif kind == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif kind == 'float' -%}{{ dbt.type_float() }}
  {%- elif kind == 'timestamp' -%}{{ dbt.type_timestamp() }}
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{#- columns: a list of [name, kind, not_null]. -#}
{% macro dbt_intacct__create_table_sql(relation, columns) -%}
create table if not exists {{ relation }} (
  {%- for name, kind, not_null in columns %}
  {{ name }} {{ dbt_intacct__column_type(kind) }}{% if not_null %} not null{% endif %}{% if not loop.last %},{% endif %}
  {%- endfor %}
)
{%- endmacro %}

{#- Tables created by an older version gain the columns added since (nullable, so old rows stay valid). -#}
{% macro dbt_intacct__add_column_sql(relation, name, kind) -%}
alter table {{ relation }} add column {{ name }} {{ dbt_intacct__column_type(kind) }}
{%- endmacro %}

{#- The key of a row: its primary-key columns as text, joined with the unit separator. -#}
{% macro dbt_intacct__row_key(columns) -%}
  {%- if columns | length == 1 -%}
    cast({{ adapter.quote(columns[0]) }} as {{ dbt.type_string() }})
  {%- else -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
      {%- do parts.append("cast(" ~ adapter.quote(c) ~ " as " ~ dbt.type_string() ~ ")") -%}
      {%- if not loop.last %}{% do parts.append("chr(31)") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
  {%- endif -%}
{%- endmacro %}

{#-
  The hash of what a row sends: the spec's fingerprint, then each referenced column as text, with a marker
  ('n' for NULL, 'v' before a value) so that NULL and '' differ. Columns are taken in a fixed (sorted) order.
-#}
{% macro dbt_intacct__row_hash(columns, fingerprint) -%}
  {%- set parts = ["'" ~ fingerprint ~ "'"] -%}
  {%- for c in columns | sort -%}
    {%- do parts.append("chr(30)") -%}
    {%- do parts.append("case when " ~ adapter.quote(c) ~ " is null then 'n' else 'v' || cast(" ~ adapter.quote(c) ~ " as " ~ dbt.type_string() ~ ") end") -%}
  {%- endfor -%}
  {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- Rows whose primary key is NULL or shared by several rows: reported, never sent. -#}
{% macro dbt_intacct__key_problems_sql(relation, key_columns, limit) -%}
with keyed as (
  select {{ dbt_intacct__row_key(key_columns) }} as row_key,
         case when {% for c in key_columns %}{{ adapter.quote(c) }} is null{% if not loop.last %} or {% endif %}{% endfor %} then 1 else 0 end as null_key
  from {{ relation }}
)
select 'null' as problem, cast(null as {{ dbt.type_string() }}) as row_key, count(*) as row_count
from keyed where null_key = 1
having count(*) > 0
union all
select * from (
  select 'duplicate' as problem, row_key, count(*) as row_count
  from keyed where null_key = 0
  group by row_key
  having count(*) > 1
  order by row_key
  limit {{ limit }}
) duplicates
{%- endmacro %}

{#-
  The change set of one model, materialised as a temporary table numbered 1..N in key order, so that the
  Python side can count it and read it in bounded pages while it writes its state in between.

  change:  new      no state for the key (or the record was deleted), so it is created or matched
           changed  synced before and its hash differs (never for insert-only models)
           retry    the last attempt failed or was rejected
           pending  an intent was recorded but no outcome (the previous run stopped mid-flight)
           cleared  it had been cleared after leaving the model and is back
-#}
{% macro dbt_intacct__change_set_sql(target_name, relation, state, model_id, key_columns, hash_columns, data_columns, fingerprint, send_changes) -%}
create temporary table {{ target_name }} as
with src as (
  select
    {{ dbt_intacct__row_key(key_columns) }} as {{ adapter.quote('__key') }},
    {{ dbt_intacct__row_hash(hash_columns, fingerprint) }} as {{ adapter.quote('__hash') }}
    {%- for c in data_columns %},
    {{ adapter.quote(c) }}
    {%- endfor %}
  from {{ relation }}
  where {% for c in key_columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
),
dup as (
  select {{ adapter.quote('__key') }} as dup_key from src group by {{ adapter.quote('__key') }} having count(*) > 1
),
st as (
  select row_key, row_hash, status, recordno, intacct_id, version, controlid, line_counts
  from {{ state }}
  where model_id = '{{ model_id }}'
),
changes as (
  select
    case
      when st.row_key is null or st.status in ('deleted', 'dropped') then 'new'
      when st.status = 'pending' then 'pending'
      when st.status in ('failed', 'rejected') then 'retry'
      when st.status = 'cleared' then 'cleared'
      else 'changed'
    end as {{ adapter.quote('__change') }},
    st.recordno as {{ adapter.quote('__recordno') }},
    st.intacct_id as {{ adapter.quote('__intacct_id') }},
    coalesce(st.version, 0) as {{ adapter.quote('__version') }},
    st.controlid as {{ adapter.quote('__controlid') }},
    st.line_counts as {{ adapter.quote('__line_counts') }},
    src.*
  from src
  left join st on st.row_key = src.{{ adapter.quote('__key') }}
  where src.{{ adapter.quote('__key') }} not in (select dup_key from dup)
    and (
      st.row_key is null
      or st.status not in ('ok')
      {%- if send_changes %}
      or st.row_hash <> src.{{ adapter.quote('__hash') }}
      {%- endif %}
    )
)
select row_number() over (order by {{ adapter.quote('__key') }}) as {{ adapter.quote('__seq') }}, changes.*
from changes
{%- endmacro %}

{#-
  Rows that have left the model. `statuses` are the state statuses the delete behaviour acts on; rows
  that never reached Intacct (failed or rejected without a RECORDNO) are always dropped, no call needed.
-#}
{% macro dbt_intacct__removals_sql(target_name, relation, state, model_id, key_columns, statuses) -%}
create temporary table {{ target_name }} as
with src as (
  select distinct {{ dbt_intacct__row_key(key_columns) }} as row_key
  from {{ relation }}
  where {% for c in key_columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
),
gone as (
  select st.row_key, st.status, st.recordno, st.intacct_id, st.version, st.controlid
  from {{ state }} st
  where st.model_id = '{{ model_id }}'
    and st.status not in ('deleted', 'dropped', 'cleared')
    and not exists (select 1 from src where src.row_key = st.row_key)
    and (
      {% if statuses %}st.status in ({% for s in statuses %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}){% else %}1 = 0{% endif %}
      or (st.status in ('failed', 'rejected') and st.recordno is null and st.intacct_id is null)
    )
)
select row_number() over (order by row_key) as {{ adapter.quote('__seq') }}, gone.*
from gone
{%- endmacro %}
