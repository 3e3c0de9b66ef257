{#-
  The warehouse side of dbt-intacct. Every macro here returns SQL text; the Python side runs it through
  the adapter's cursor. Types come from dbt's cross-database macros. The tables and their columns are
  listed in dbt_intacct/sync/state.py (TABLES).
-#}

{#- A column type by kind, through dbt's cross-database type macros. -#}
{% macro dbt_intacct__column_type(kind) -%}
  {#- Dispatched: the warehouses written from documentation name their own types (macros/dialects/). -#}
  {{ return(adapter.dispatch('column_type', 'dbt_intacct')(kind)) }}
{%- endmacro %}

{% macro default__column_type(kind) -%}
  {%- if kind == 'string' -%}{{ dbt.type_string() }}
  {%- elif kind == 'int' -%}{{ dbt.type_int() }}
  {%- elif kind == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif kind == 'float' -%}{{ dbt.type_float() }}
  {%- elif kind == 'timestamp' -%}{{ dbt.type_timestamp() }}
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{#- columns: a list of [name, kind, not_null]. Dispatched: Spark and Databricks name a table format. -#}
{% macro dbt_intacct__create_table_sql(relation, columns) -%}
  {{ return(adapter.dispatch('create_table_sql', 'dbt_intacct')(relation, columns)) }}
{%- endmacro %}

{% macro default__create_table_sql(relation, columns) -%}
create table if not exists {{ relation }} (
  {%- for name, kind, not_null in columns %}
  {{ name }} {{ dbt_intacct__column_type(kind) }}{% if not_null %} not null{% endif %}{% if not loop.last %},{% endif %}
  {%- endfor %}
)
{%- endmacro %}

{#-
  An index on the state's (model_id, row_key), where a warehouse needs one: each write of the state
  deletes the rows it replaces by key, and reads a few rows by key. Postgres would scan the whole state
  for each (89 ms per batch of 50 at a million rows); DuckDB and column stores need none. Created on
  tables an older version made too.
-#}
{% macro dbt_intacct__state_index_sql(relation) -%}
  {{ return(adapter.dispatch('state_index_sql', 'dbt_intacct')(relation)) }}
{%- endmacro %}

{% macro default__state_index_sql(relation) -%}
{%- endmacro %}

{% macro postgres__state_index_sql(relation) -%}
create index if not exists {{ relation.identifier }}_model_id_row_key on {{ relation }} (model_id, row_key)
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
    cast({{ prefix }}{{ adapter.quote(columns[0]) }} as {{ dbt_intacct__column_type('string') }})
  {%- else -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
      {%- set text = "cast(" ~ prefix ~ adapter.quote(c) ~ " as " ~ dbt_intacct__column_type('string') ~ ")" -%}
      {%- do parts.append("replace(replace(" ~ text ~ ", chr(30), chr(30) || chr(30)), chr(31), chr(30) || chr(31))") -%}
      {%- if not loop.last %}{% do parts.append("chr(31)") %}{% endif -%}
    {%- endfor -%}
    {{ dbt_intacct__concat(parts) }}
  {%- endif -%}
{%- endmacro %}

{#-
  The hash of what a row sends, by `scheme` (see `dbt_intacct__hash_scheme`). `columns`: the hashed
  columns, each with its name and kind (`dbt_intacct.state.canonical.HashedColumn`).
    canonical  what every warehouse writes: 'c1:' and the md5 of the row's canonical text, the same
               for the same values on every warehouse (macros/canonical.sql, docs/row-hashes.md).
    md5        (legacy, read only to carry a state over) the md5 of the fingerprint, then each column as
               the warehouse casts it to text, after chr(30) 'n' (NULL) or chr(30) 'v' (a value), in
               the order of the columns' names: what DuckDB, and Postgres before hash64, wrote.
    hash64     (legacy, Postgres) the row's key, chr(31) and the md5 scheme's text, hashed by
               hashtextextended() with seed 0, as decimal text (at most 20 characters).
-#}
{% macro dbt_intacct__row_hash(columns, fingerprint, prefix='', key_columns=none, scheme='canonical') -%}
  {%- if scheme == 'canonical' -%}
    {{ dbt_intacct__canonical_hash(columns, fingerprint, prefix) }}
  {%- elif scheme == 'hash64' -%}
    cast({{ dbt_intacct__row_hash64(columns, fingerprint, key_columns, prefix) }} as {{ dbt_intacct__column_type('string') }})
  {%- elif scheme == 'md5' and adapter.type() == 'duckdb' -%}
    {{ dbt.hash("concat(" ~ dbt_intacct__row_text_parts(columns, fingerprint, prefix) | join(", ") ~ ")") }}
  {%- elif scheme == 'md5' -%}
    {{ dbt_intacct__md5_hex(dbt_intacct__concat(dbt_intacct__row_text_parts(columns, fingerprint, prefix))) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("unknown row hash scheme " ~ scheme) }}
  {%- endif -%}
{%- endmacro %}

{#- The legacy hash64 row hash as a bigint (Postgres), before it is written as text. -#}
{% macro dbt_intacct__row_hash64(columns, fingerprint, key_columns, prefix='') -%}
  {%- if not key_columns -%}{{ exceptions.raise_compiler_error("the hash64 row hash needs the key columns") }}{%- endif -%}
  hashtextextended(({{ dbt_intacct__row_key(key_columns, prefix) }} || chr(31) || {{ dbt_intacct__row_text_parts(columns, fingerprint, prefix) | join(" || ") }}) collate "C", 0)
{%- endmacro %}

{#- The parts of a row's legacy md5 text (`dbt_intacct__row_hash`), as a list of SQL expressions. -#}
{% macro dbt_intacct__row_text_parts(columns, fingerprint, prefix='') -%}
  {%- set parts = ["'" ~ fingerprint ~ "'"] -%}
  {%- for name in columns | map(attribute='name') | sort -%}
    {%- set column = prefix ~ adapter.quote(name) -%}
    {%- set text = "cast(" ~ column ~ " as " ~ dbt_intacct__column_type('string') ~ ")" -%}
    {%- if adapter.type() == 'duckdb' -%}
      {%- do parts.append("case when " ~ column ~ " is null then chr(30) || 'n' else chr(30) || 'v' end") -%}
      {%- do parts.append(text) -%}
    {%- else -%}
      {%- do parts.append("case when " ~ column ~ " is null then chr(30) || 'n' else chr(30) || 'v' || " ~ text ~ " end") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(parts) }}
{%- endmacro %}

{#- The row hash a new state gets: canonical on every warehouse. -#}
{% macro dbt_intacct__hash_scheme() -%}canonical{%- endmacro %}

{#-
  The row hash an older version wrote on this warehouse, which a plan compares with until a sync has
  carried the state over (`dbt_intacct__rehash_sql`): hash64 on Postgres (a Postgres state still in md5
  is carried over in the same way), md5 elsewhere.
-#}
{% macro dbt_intacct__legacy_hash_scheme() -%}
  {{ return(adapter.dispatch('legacy_hash_scheme', 'dbt_intacct')()) }}
{%- endmacro %}

{% macro default__legacy_hash_scheme() -%}md5{%- endmacro %}

{% macro postgres__legacy_hash_scheme() -%}hash64{%- endmacro %}

{#- True (SQL) for a state row's hash written by an older version: neither canonical nor the stale marker. -#}
{% macro dbt_intacct__legacy_hash_condition(column='row_hash') -%}
{{ column }} not like '{{ dbt_intacct__canonical_prefix() }}%' and {{ column }} <> '{{ dbt_intacct__stale_hash() }}'
{%- endmacro %}

{#-
  Before the diff, one row that tells whether the model can be unchanged, in one pass over the
  relation and one over the state (Postgres: each with parallel workers, about half the time of the
  full join; `dbt_intacct__diff_check_md5_sql`):

    rows, keyed_rows   the relation's rows, and those whose key has no NULL part
    relation_xor       the XOR of the 64-bit hashes of their keys and canonical row hashes (insert-only
                       models: of their keys)
    ok_rows, ok_xor    the same over the state's rows in status 'ok'
    legacy             state rows hashed by an older version (`dbt_intacct__rehash_sql`)
    attention          state rows in a status the diff always acts on: failed, rejected

    key_xor            the XOR of the relation's keys' hashes, over the keyed rows
    state_rows, state_key_xor  the same over every state row of the model, whatever its status

  When keyed_rows = rows = ok_rows, relation_xor = ok_xor and attention = 0, the full diff would find
  nothing: every row has an 'ok' state row with its hash, no key is shared (the state holds each key
  once, so a copy of a row shows in the count or, with a row missing, in the XOR: a missing row's hash
  is left an odd number of times), and no state row is left in a status the removals act on. Barring
  a 2^-64 accident of the 64-bit hashes, which the full comparison of one row's hash risks as well.
  When only the keys agree (keyed_rows = rows = state_rows, key_xor = state_key_xor), the relation holds
  exactly the state's keys, each once: no key is shared, new or gone, so the diff needs neither the key
  count nor a full join (`same_keys` in `dbt_intacct__diff_sql`), by the same argument.
  DuckDB checks the keys only (`duckdb__diff_check_sql`, compares_rows false); a warehouse with no
  64-bit hash returns no statement.
-#}
{% macro dbt_intacct__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(adapter.dispatch('diff_check_sql', 'dbt_intacct')(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{% macro default__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
{%- endmacro %}

{#-
  DuckDB: the keys alone (its state's md5 hashes would cost as much to check as its diff costs), with
  DuckDB's own 64-bit hash(), which needs to agree only within the statement. When they agree, the key
  count is skipped and the join is an inner one.
-#}
{% macro duckdb__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
{%- set keyed -%}
  {% for c in key_columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{%- endset -%}
select r.rows, r.keyed_rows, cast(null as bigint) as relation_xor, 0 as ok_rows, cast(null as bigint) as ok_xor,
  s.legacy, s.attention, r.key_xor, s.state_rows, s.state_key_xor, false as compares_rows
from (
  select
    count(*) as rows,
    count(*) filter (where {{ keyed }}) as keyed_rows,
    bit_xor(hash({{ dbt_intacct__row_key(key_columns) }})) filter (where {{ keyed }}) as key_xor
  from {{ relation }}
) r, (
  select
    {%- if send_changes %}
    count(*) filter (where {{ dbt_intacct__legacy_hash_condition() }}) as legacy,
    {%- else %}
    0 as legacy,
    {%- endif %}
    count(*) filter (where status in ('failed', 'rejected')) as attention,
    count(*) as state_rows,
    bit_xor(hash(row_key)) as state_key_xor
  from {{ state }}
  where model_id = {{ model_literal }}
) s
{%- endmacro %}

{#- Postgres: the rows' canonical hashes, by hashtextextended() (`dbt_intacct__diff_check_md5_sql`). -#}
{% macro postgres__diff_check_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes) -%}
  {{ return(dbt_intacct__diff_check_md5_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes)) }}
{%- endmacro %}

{% macro postgres__hash64(text) -%}hashtextextended(({{ text }}) collate "C", 0){%- endmacro %}

{#-
  Carries a model's row hashes written by an older version (md5, or hash64 on Postgres) over to the
  canonical hash, once, in a sync: a state row whose old hash is still the old hash of the relation's
  row for its key gets that row's canonical hash; every other old hash (the row changed, or left the
  model) becomes a marker that matches no row, as the old hash would not have either (`leftover`: the
  second statement, for the keys the relation lacks). Nothing is sent for it; a changed row is sent by
  the diff that follows. Which old scheme a hash is in shows in its length: md5 has 32 hex digits,
  hash64 at most 20 decimal ones.
-#}
{% macro dbt_intacct__rehash_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, leftover=false) -%}
{%- set legacy = dbt_intacct__legacy_hash_scheme() | trim -%}
{%- if leftover -%}
update {{ state }}
set row_hash = '{{ dbt_intacct__stale_hash() }}'
where model_id = {{ model_literal }} and {{ dbt_intacct__legacy_hash_condition() }}
{%- else -%}
update {{ state }} as st
set row_hash = case
    when length(st.row_hash) = 32 and st.row_hash = {{ dbt_intacct__row_hash(hash_columns, fingerprint, 'src.', scheme='md5') }}
    then {{ dbt_intacct__row_hash(hash_columns, fingerprint, 'src.', scheme='canonical') }}
    {%- if legacy == 'hash64' %}
    when length(st.row_hash) <= 20 and st.row_hash = {{ dbt_intacct__row_hash(hash_columns, fingerprint, 'src.', key_columns=key_columns, scheme='hash64') }}
    then {{ dbt_intacct__row_hash(hash_columns, fingerprint, 'src.', scheme='canonical') }}
    {%- endif %}
    else '{{ dbt_intacct__stale_hash() }}'
  end
from {{ relation }} src
where st.model_id = {{ model_literal }}
  and {{ dbt_intacct__legacy_hash_condition('st.row_hash') }}
  and st.row_key = {{ dbt_intacct__row_key(key_columns, 'src.') }}
  {%- for c in key_columns %}
  and src.{{ adapter.quote(c) }} is not null
  {%- endfor %}
{%- endif -%}
{%- endmacro %}

{#- A row hash no row has: neither canonical ('c1:' and 32 characters) nor an older version's. -#}
{% macro dbt_intacct__stale_hash() -%}md5 hash not carried over{%- endmacro %}

{#-
  The diff of one model in one pass over the relation and the state: each row's key (and, unless the
  model is insert-only, its hash) fully joined to the state's key, hash and status. Materialised as a
  temporary table of the keys that need something, by `__diff`:

    candidate  a row to send, unless its key is shared (new, changed, retried, pending, cleared: the
               change set, see below)
    gone       a key of the state that left the relation, in a status the delete behaviour acts on or
               that may have to be dropped (the removals, see below)
    duplicate  a key shared by several rows (`__copies`): reported, never sent
    null       the rows whose key has a NULL part, one row for all of them (`__key` NULL, `__copies`)

  Unchanged rows, the bulk of a resync, leave nothing. The join holds narrow columns only (key and hash;
  key, hash and status), so memory does not grow with the model's width; the candidates' columns and
  the rest of the state are read afterwards for the few keys that need them. The keys are counted by
  the next statement (`dbt_intacct__diff_keys_sql`; on Postgres `dbt_intacct__diff_keys_select_sql`, run
  on a second connection at the same time as this one) in a narrow scan of the key columns alone: grouping
  every row with its hash before the join costs more than that scan (DuckDB and Postgres alike), and
  counting in the same statement (union all) kept both hash tables in memory at once (DuckDB, a million
  rows: +58 MB).
  `send_changes` false (insert-only models): rows are not hashed here; only the candidates are, later.
  `send_all` (--full-refresh) makes every present row a candidate. `scheme`: the row hash
  (`dbt_intacct__row_hash`). `unchanged`: the check before the diff (`dbt_intacct__diff_check_sql`)
  proved that it would find nothing; the table is made empty, without reading the relation or the state.
  `same_keys`: the check proved that the relation holds the state's keys, each once: every row has a
  state row and every state row a relation row, so the full join is an (inner) join, which Postgres
  runs in parallel, where it never runs a full join so.
-#}
{% macro dbt_intacct__diff_sql(target_name, relation, state, model_literal, key_columns, hash_columns, fingerprint, send_changes, send_all, removal_statuses, scheme='md5', unchanged=false, same_keys=false) -%}
{%- set key_sql = dbt_intacct__row_key(key_columns) -%}
{%- set keys_not_null -%}
  {% for c in key_columns %}{{ adapter.quote(c) }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{%- endset -%}
{%- set key = adapter.quote('__key') -%}
{%- set hash = adapter.quote('__hash') -%}
{{ dbt_intacct__create_scratch_sql(target_name) }}
with keyed as (
  select
    {{ key_sql }} as {{ key }},
    {%- if send_changes %}
    {{ dbt_intacct__row_hash(hash_columns, fingerprint, key_columns=key_columns, scheme=scheme) }} as {{ hash }}
    {%- else %}
    cast(null as {{ dbt_intacct__column_type('string') }}) as {{ hash }}
    {%- endif %}
  from {{ relation }}
  where {{ keys_not_null }}
),
known as (
  select
    row_key,
    {{ dbt_intacct__hash_in_join('row_hash') }} as row_hash,
    status = 'ok' as is_ok,
    status in ({% for s in (removal_statuses + ['failed', 'rejected']) | unique %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}) as is_removable
  from {{ state }}
  where model_id = {{ model_literal }}
),
diff as (
  select
    coalesce(keyed.{{ key }}, known.row_key) as {{ key }},
    case
      when keyed.{{ key }} is null then
        case when known.is_removable then 'gone' end
      when known.row_key is null or not known.is_ok
        {%- if send_changes %} or known.row_hash <> {{ dbt_intacct__hash_in_join('keyed.' ~ hash) }}{% endif %}
        {%- if send_all %} or 1 = 1{% endif %} then 'candidate'
    end as {{ adapter.quote('__diff') }},
    cast(null as {{ dbt_intacct__column_type('bigint') }}) as {{ adapter.quote('__copies') }},
    keyed.{{ hash }}
  from keyed
  {% if same_keys %}join{% else %}full join{% endif %} known on known.row_key = keyed.{{ key }}
)
select * from diff where {{ adapter.quote('__diff') }} is not null
{%- if unchanged %} and 1 = 0{% endif %}
{%- endmacro %}

{#-
  How the diff's join compares a state row's hash with the row's (`dbt_intacct__diff_sql`). The state's
  side of the join is held in memory, so its columns are kept narrow: its status as two booleans, and on
  DuckDB its md5 (32 characters, stored out of line) as DuckDB's 64-bit hash() of it, computed on both
  sides in the same statement (a million rows: 53 MB less at the peak, no slower). Two different md5s
  taken for equal is a 2^-64 accident, the same odds the Postgres row hash (hash64) runs on every row.
  A NULL hash stays NULL (a NULL never equals), as in the comparison of the hashes themselves.
-#}
{% macro dbt_intacct__hash_in_join(column) -%}
  {{ return(adapter.dispatch('hash_in_join', 'dbt_intacct')(column)) }}
{%- endmacro %}

{% macro default__hash_in_join(column) -%}{{ column }}{%- endmacro %}

{% macro duckdb__hash_in_join(column) -%}case when {{ column }} is not null then hash({{ column }}) end{%- endmacro %}

{#- Adds the shared keys and the NULL-key rows to a diff (`dbt_intacct__diff_sql`). -#}
{% macro dbt_intacct__diff_keys_sql(target_name, relation, key_columns) -%}
insert into {{ target_name }} ({{ adapter.quote('__key') }}, {{ adapter.quote('__diff') }}, {{ adapter.quote('__copies') }}, {{ adapter.quote('__hash') }})
{{ dbt_intacct__diff_keys_select_sql(relation, key_columns) }}
{%- endmacro %}

{#- The shared keys and the NULL-key rows of a relation, as rows of a diff (key, kind, copies, hash). -#}
{% macro dbt_intacct__diff_keys_select_sql(relation, key_columns) -%}
{%- set key_sql = dbt_intacct__row_key(key_columns) -%}
{%- if key_columns | length > 1 -%}
  {#- A composite key's text can be made without a NULL part. -#}
  {%- set key_sql -%}
    case when {% for c in key_columns %}{{ adapter.quote(c) }} is null{% if not loop.last %} or {% endif %}{% endfor %} then null else {{ key_sql }} end
  {%- endset -%}
{%- endif -%}
{{ dbt_intacct__shared_keys_sql(relation, key_sql) }}
{%- endmacro %}

{#-
  The rows of a diff for keys shared by several rows (`duplicate`, with how many) and for the rows whose
  key has a NULL part (`null`, one row). `key_sql` is NULL when any part of the key is.
-#}
{% macro dbt_intacct__shared_keys_sql(relation, key_sql) -%}
  {{ return(adapter.dispatch('shared_keys_sql', 'dbt_intacct')(relation, key_sql)) }}
{%- endmacro %}

{% macro default__shared_keys_sql(relation, key_sql) -%}
{%- set key = adapter.quote('__key') -%}
select {{ key }}, case when {{ key }} is null then 'null' else 'duplicate' end, count(*), cast(null as {{ dbt_intacct__column_type('string') }})
from (select {{ key_sql }} as {{ key }} from {{ relation }}) keys
group by {{ key }}
having count(*) > 1 or {{ key }} is null
{%- endmacro %}

{#-
  Postgres groups a million text keys slowly (a sort per worker, then a merge): the keys' 64-bit hashes
  are grouped first, and only the keys whose hash is shared (almost always none) are grouped as text.
-#}
{% macro postgres__shared_keys_sql(relation, key_sql) -%}
{%- set key = adapter.quote('__key') -%}
select {{ key }}, case when {{ key }} is null then 'null' else 'duplicate' end, count(*), cast(null as {{ dbt_intacct__column_type('string') }})
from (select {{ key_sql }} as {{ key }} from {{ relation }}) keys
where {{ key }} is null or hashtextextended({{ key }}, 0) in (
  select hashtextextended({{ key }}, 0)
  from (select {{ key_sql }} as {{ key }} from {{ relation }}) keys
  group by 1
  having count(*) > 1
)
group by {{ key }}
having count(*) > 1 or {{ key }} is null
{%- endmacro %}

{#-
  Session settings of the second connection that counts the keys while the diff statement runs
  (`Warehouse.fetch_aside`). Postgres: the count runs in its own process alone, leaving the parallel
  workers to the diff statement (on two cores, workers for both slowed both down), with room to group a
  million keys' hashes in memory (at the default 4 MB they spill to disk: 1.77 s against 1.27 s).
-#}
{% macro dbt_intacct__diff_keys_aside_settings_sql() -%}
  {{ return(adapter.dispatch('diff_keys_aside_settings_sql', 'dbt_intacct')()) }}
{%- endmacro %}

{% macro default__diff_keys_aside_settings_sql() -%}
{%- endmacro %}

{% macro postgres__diff_keys_aside_settings_sql() -%}
set max_parallel_workers_per_gather = 0; set work_mem = '64MB'
{%- endmacro %}

{#-
  Session settings for the diff statement (reset=false) and their reset afterwards. Postgres: its
  planner cannot know what hashing a row costs and would hash every row in the leader, after the scan's
  rows are gathered (a full join is never parallel); with parallel plans priced as free, the workers
  hash the rows as they scan them.
-#}
{% macro dbt_intacct__diff_settings_sql(reset=false) -%}
  {{ return(adapter.dispatch('diff_settings_sql', 'dbt_intacct')(reset)) }}
{%- endmacro %}

{% macro default__diff_settings_sql(reset) -%}
{%- endmacro %}

{% macro postgres__diff_settings_sql(reset) -%}
{%- if reset -%}
reset parallel_setup_cost; reset parallel_tuple_cost
{%- else -%}
set parallel_setup_cost = 0; set parallel_tuple_cost = 0
{%- endif -%}
{%- endmacro %}

{#-
  The change set of one model, from its diff's candidates, materialised as a temporary table numbered
  1..N in key order, so that the Python side can count it and read it in bounded pages while it writes
  its state in between. Each candidate's columns are read from the relation, and the rest of its state.

  change:  new      no state for the key (or the record was deleted), so it is created or matched
           changed  synced before and its hash differs (never for insert-only models)
           retry    the last attempt failed or was rejected
           pending  an intent was recorded but no outcome (the previous run stopped mid-flight)
           cleared  it had been cleared after leaving the model and is back
           reversed its posted entry was reversed (it changed, or left and came back): posted again,
                    never adopted (the reversed entry still carries its natural ID)
  Insert-only models hash their candidates here, and only them.
-#}
{% macro dbt_intacct__diff_changes_sql(target_name, diff_name, relation, state, model_literal, key_columns, hash_columns, data_columns, fingerprint, send_changes, scheme='md5') -%}
{{ dbt_intacct__create_scratch_sql(target_name) }}
select
  row_number() over (order by d.{{ adapter.quote('__key') }}) as {{ adapter.quote('__seq') }},
  case
    when st.row_key is null or st.status in ('deleted', 'dropped') then 'new'
    when st.status = 'pending' then 'pending'
    when st.status in ('failed', 'rejected') then 'retry'
    when st.status = 'cleared' then 'cleared'
    when st.status = 'reversed' then 'reversed'
    else 'changed'
  end as {{ adapter.quote('__change') }},
  st.recordno as {{ adapter.quote('__recordno') }},
  st.intacct_id as {{ adapter.quote('__intacct_id') }},
  coalesce(st.version, 0) as {{ adapter.quote('__version') }},
  st.controlid as {{ adapter.quote('__controlid') }},
  st.line_counts as {{ adapter.quote('__line_counts') }},
  st.entity as {{ adapter.quote('__entity') }},
  d.{{ adapter.quote('__key') }},
  {%- if send_changes %}
  d.{{ adapter.quote('__hash') }}
  {%- else %}
  {{ dbt_intacct__row_hash(hash_columns, fingerprint, 'src.', key_columns=key_columns, scheme=scheme) }} as {{ adapter.quote('__hash') }}
  {%- endif %}
  {%- for c in data_columns %},
  src.{{ adapter.quote(c) }}
  {%- endfor %}
from {{ diff_name }} d
join {{ relation }} src
  on {{ dbt_intacct__row_key(key_columns, 'src.') }} = d.{{ adapter.quote('__key') }}
  {%- for c in key_columns %}
  and src.{{ adapter.quote(c) }} is not null
  {%- endfor %}
left join {{ state }} st
  on st.model_id = {{ model_literal }} and st.row_key = d.{{ adapter.quote('__key') }}
where d.{{ adapter.quote('__diff') }} = 'candidate'
  and not exists (
    select 1 from {{ diff_name }} shared
    where shared.{{ adapter.quote('__diff') }} = 'duplicate' and shared.{{ adapter.quote('__key') }} = d.{{ adapter.quote('__key') }}
  )
{%- endmacro %}

{#-
  The keys shared by several rows, from a diff's `duplicate` keys, numbered in key order: how many rows
  share each (`copies`), and what the state holds for the keys synced before.
-#}
{% macro dbt_intacct__diff_shared_sql(target_name, diff_name, state, model_literal) -%}
{{ dbt_intacct__create_scratch_sql(target_name) }}
select
  row_number() over (order by d.{{ adapter.quote('__key') }}) as {{ adapter.quote('__seq') }},
  d.{{ adapter.quote('__key') }} as row_key,
  d.{{ adapter.quote('__copies') }} as copies,
  st.version, st.recordno, st.intacct_id, st.entity
from {{ diff_name }} d
left join {{ state }} st
  on st.model_id = {{ model_literal }} and st.row_key = d.{{ adapter.quote('__key') }}
where d.{{ adapter.quote('__diff') }} = 'duplicate'
{%- endmacro %}

{#-
  Rows that have left the model, from its diff's `gone` keys, numbered in key order. `statuses` are the
  state statuses the delete behaviour acts on; rows that never reached Intacct (failed or rejected
  without a RECORDNO) are always dropped, no call needed.
-#}
{% macro dbt_intacct__diff_removals_sql(target_name, diff_name, state, model_literal, statuses) -%}
{{ dbt_intacct__create_scratch_sql(target_name) }}
select
  row_number() over (order by st.row_key) as {{ adapter.quote('__seq') }},
  st.row_key, st.status, st.recordno, st.intacct_id, st.version, st.controlid, st.entity
from {{ diff_name }} d
join {{ state }} st
  on st.model_id = {{ model_literal }} and st.row_key = d.{{ adapter.quote('__key') }}
where d.{{ adapter.quote('__diff') }} = 'gone'
  and (
    {% if statuses %}st.status in ({% for s in statuses %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}){% else %}1 = 0{% endif %}
    or (st.status in ('failed', 'rejected') and st.recordno is null and st.intacct_id is null)
  )
{%- endmacro %}

{#-
  One sync at a time per state schema and connection. Each returns a query whose single row is true
  when the lock was taken. Postgres: a session advisory lock, released by the server if the process dies.
  DuckDB: the database file is already locked by the process that has it open, so nothing more is
  needed. Other warehouses: the Python side falls back to a lock table with a heartbeat.
-#}
{% macro dbt_intacct__try_lock_sql(lock_literal) -%}
  {{ return(adapter.dispatch('try_lock_sql', 'dbt_intacct')(lock_literal)) }}
{%- endmacro %}

{% macro default__try_lock_sql(lock_literal) -%}
select null as taken
{%- endmacro %}

{% macro duckdb__try_lock_sql(lock_literal) -%}
select true as taken
{%- endmacro %}

{% macro postgres__try_lock_sql(lock_literal) -%}
select pg_try_advisory_lock(hashtext({{ lock_literal }})) as taken
{%- endmacro %}

{% macro dbt_intacct__unlock_sql(lock_literal) -%}
  {{ return(adapter.dispatch('unlock_sql', 'dbt_intacct')(lock_literal)) }}
{%- endmacro %}

{% macro default__unlock_sql(lock_literal) -%}
select null as released
{%- endmacro %}

{% macro postgres__unlock_sql(lock_literal) -%}
select pg_advisory_unlock(hashtext({{ lock_literal }})) as released
{%- endmacro %}

{#-
  A saved plan's fingerprint of one model (`dbt-intacct plan --out`): one row with the relation's row
  count and an order-independent checksum of its rows' (key, row hash), and the state's row count and a
  checksum of its rows (key, hash, status, version, RECORDNO, ID, controlid, line counts, entity). Each
  row's text is hashed with md5 and the first 64 bits are XORed, so the result does not depend on the
  order the rows are read in, on the machine or on the warehouse's version. `sync --plan` computes it
  again and sends nothing when it differs.
-#}
{% macro dbt_intacct__plan_fingerprint_sql(relation, state, model_literal, key_columns, hash_columns, fingerprint, scheme='md5') -%}
{%- set sep = "chr(31)" -%}
{%- set null = "chr(30)" -%}
{%- set row_text = "coalesce(" ~ dbt_intacct__row_key(key_columns) ~ ", " ~ null ~ ") || " ~ sep ~ " || coalesce(" ~ dbt_intacct__row_hash(hash_columns, fingerprint, key_columns=key_columns, scheme=scheme) ~ ", " ~ null ~ ")" -%}
{%- set state_parts = [] -%}
{%- for c in ["row_key", "row_hash", "status", "cast(version as " ~ dbt_intacct__column_type('string') ~ ")", "recordno", "intacct_id", "controlid", "line_counts", "entity"] -%}
  {%- do state_parts.append("coalesce(" ~ c ~ ", " ~ null ~ ")") -%}
{%- endfor -%}
select r.row_count, r.row_checksum, s.state_count, s.state_checksum
from (
  select count(*) as row_count, {{ dbt_intacct__xor64(dbt_intacct__md5_hex(row_text)) }} as row_checksum
  from {{ relation }}
) r, (
  select count(*) as state_count,
    {{ dbt_intacct__xor64(dbt_intacct__md5_hex(state_parts | join(" || " ~ sep ~ " || "))) }} as state_checksum
  from {{ state }}
  where model_id = {{ model_literal }}
) s
{%- endmacro %}

{#- The XOR of the first 64 bits of md5 hex digests, as text (NULL over no row). -#}
{% macro dbt_intacct__xor64(md5_sql) -%}
  {{ return(adapter.dispatch('xor64', 'dbt_intacct')(md5_sql)) }}
{%- endmacro %}

{% macro default__xor64(md5_sql) -%}
cast(bit_xor(cast(cast(('x' || substr({{ md5_sql }}, 1, 16)) as bit(64)) as bigint)) as {{ dbt.type_string() }})
{%- endmacro %}

{#- DuckDB reads 16 hex digits as an unsigned number: the XOR is written signed, as Postgres writes it. -#}
{% macro duckdb__xor64(md5_sql) -%}
{%- set xor = "bit_xor(cast(('0x' || substr(" ~ md5_sql ~ ", 1, 16)) as ubigint))" -%}
cast(cast({{ xor }} as hugeint) - case when {{ xor }} >= 9223372036854775808 then 18446744073709551616 else 0 end as {{ dbt.type_string() }})
{%- endmacro %}
