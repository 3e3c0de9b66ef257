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
{#-
  A composite key's parts are joined with chr(31) after escaping (chr(30) doubles, chr(31) becomes
  chr(30) chr(31)), so that two different keys never join to the same text. `prefix` qualifies the
  columns (`src.`) where the model is joined with the state, whose own columns could share their names.
-#}
{% macro dbt_intacct__row_key(columns, prefix='') -%}
  {%- if columns | length == 1 -%}
    cast({{ prefix }}{{ adapter.quote(columns[0]) }} as {{ dbt.type_string() }})
  {%- else -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
      {%- set text = "cast(" ~ prefix ~ adapter.quote(c) ~ " as " ~ dbt.type_string() ~ ")" -%}
      {%- do parts.append("replace(replace(" ~ text ~ ", chr(30), chr(30) || chr(30)), chr(31), chr(30) || chr(31))") -%}
      {%- if not loop.last %}{% do parts.append("chr(31)") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
  {%- endif -%}
{%- endmacro %}

{#-
  The hash of what a row sends: the spec's fingerprint, then each referenced column as text, with a marker
  ('n' for NULL, 'v' before a value) so that NULL and '' differ. Columns are taken in a fixed (sorted) order.
  The text is the same on every warehouse; how it is put together is not: DuckDB builds it in one
  concat() call (a chain of || copies the growing string once per part, which doubled the cost of
  hashing a million rows), Postgres is fastest with ||, other warehouses get dbt's cross-database concat.
-#}
{% macro dbt_intacct__row_hash(columns, fingerprint, prefix='') -%}
  {%- set parts = ["'" ~ fingerprint ~ "'"] -%}
  {%- for c in columns | sort -%}
    {%- set column = prefix ~ adapter.quote(c) -%}
    {%- do parts.append("chr(30)") -%}
    {%- do parts.append("case when " ~ column ~ " is null then 'n' else 'v' || cast(" ~ column ~ " as " ~ dbt.type_string() ~ ") end") -%}
  {%- endfor -%}
  {%- if adapter.type() == 'duckdb' -%}
    {{ dbt.hash("concat(" ~ parts | join(", ") ~ ")") }}
  {%- else -%}
    {{ dbt.hash(dbt.concat(parts)) }}
  {%- endif -%}
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
  `send_all` (--full-refresh) makes every present row a candidate; the hash recorded stays the normal one.

  One pass over the relation finds the candidates: each row's key (and, unless the model is insert-only,
  its hash) against the state's key, hash and status alone, so that the join holds three narrow columns
  per state row whatever the model's width (a million rows: DuckDB's peak memory 330 -> 240 MB). An
  insert-only model hashes only its candidates. Keys shared by several rows are never sent: the relation
  is counted by key for the candidates only (a duplicate no copy of which changed is no candidate); the
  rest of the state is read for the candidates only.
-#}
{% macro dbt_intacct__change_set_sql(target_name, relation, state, model_id, key_columns, hash_columns, data_columns, fingerprint, send_changes, send_all=false) -%}
{%- set key_sql = dbt_intacct__row_key(key_columns) -%}
{%- set src_key_sql = dbt_intacct__row_key(key_columns, 'src.') -%}
{%- set hash_sql = dbt_intacct__row_hash(hash_columns, fingerprint, 'src.') -%}
{%- set keys_not_null -%}
  {% for c in key_columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{%- endset -%}
{%- set src_keys_not_null -%}
  {% for c in key_columns %}src.{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{%- endset -%}
create temporary table {{ target_name }} as
with candidates as (
  select
    {{ src_key_sql }} as {{ adapter.quote('__key') }},
    {{ hash_sql }} as {{ adapter.quote('__hash') }}
    {%- for c in data_columns %},
    src.{{ adapter.quote(c) }}
    {%- endfor %}
  from {{ relation }} src
  left join (
    select row_key, row_hash, status from {{ state }} where model_id = '{{ model_id }}'
  ) known on known.row_key = {{ src_key_sql }}
  where {{ src_keys_not_null }}
    and (
      known.row_key is null
      or known.status <> 'ok'
      {%- if send_changes %}
      or known.row_hash <> {{ hash_sql }}
      {%- endif %}
      {%- if send_all %}
      or 1 = 1
      {%- endif %}
    )
),
copies as (
  select {{ key_sql }} as {{ adapter.quote('__copy_key') }}, count(*) as {{ adapter.quote('__copies') }}
  from {{ relation }}
  where {{ keys_not_null }}
    and {{ key_sql }} in (select {{ adapter.quote('__key') }} from candidates)
  group by {{ key_sql }}
)
select
  row_number() over (order by candidates.{{ adapter.quote('__key') }}) as {{ adapter.quote('__seq') }},
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
  candidates.*
from candidates
join copies
  on copies.{{ adapter.quote('__copy_key') }} = candidates.{{ adapter.quote('__key') }}
  and copies.{{ adapter.quote('__copies') }} = 1
left join {{ state }} st
  on st.model_id = '{{ model_id }}' and st.row_key = candidates.{{ adapter.quote('__key') }}
{%- endmacro %}

{#-
  Rows that have left the model. `statuses` are the state statuses the delete behaviour acts on; rows
  that never reached Intacct (failed or rejected without a RECORDNO) are always dropped, no call needed.
-#}
{% macro dbt_intacct__removals_sql(target_name, relation, state, model_id, key_columns, statuses) -%}
create temporary table {{ target_name }} as
with src as (
  select {{ dbt_intacct__row_key(key_columns) }} as row_key
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

{#-
  One sync at a time per state schema and connection. Each returns a query whose single row is true
  when the lock was taken. Postgres: a session advisory lock, released by the server if the process dies.
  DuckDB: the database file is already locked by the process that has it open, so nothing more is
  needed. Other warehouses: the Python side falls back to a lock table with a heartbeat.
-#}
{% macro dbt_intacct__try_lock_sql(lock_name) -%}
  {{ return(adapter.dispatch('try_lock_sql', 'dbt_intacct')(lock_name)) }}
{%- endmacro %}

{% macro default__try_lock_sql(lock_name) -%}
select null as taken
{%- endmacro %}

{% macro duckdb__try_lock_sql(lock_name) -%}
select true as taken
{%- endmacro %}

{% macro postgres__try_lock_sql(lock_name) -%}
select pg_try_advisory_lock(hashtext('{{ lock_name }}')) as taken
{%- endmacro %}

{% macro dbt_intacct__unlock_sql(lock_name) -%}
  {{ return(adapter.dispatch('unlock_sql', 'dbt_intacct')(lock_name)) }}
{%- endmacro %}

{% macro default__unlock_sql(lock_name) -%}
select null as released
{%- endmacro %}

{% macro postgres__unlock_sql(lock_name) -%}
select pg_advisory_unlock(hashtext('{{ lock_name }}')) as released
{%- endmacro %}
