{#-
  The canonical serialisation of a row, hashed into the row hash kept in the state (`dbt_intacct__row_hash`,
  scheme `canonical`). The same logical values give the same text, and so the same hash, on every
  warehouse, whatever the column's type width, decimal scale, float formatting, timestamp text, boolean
  spelling or hex case. docs/row-hashes.md describes it for users.

    text       the spec's fingerprint, then for each hashed column in the order of its name:
               chr(31), then 'N' for NULL, or the value's length in characters, ':' and the value's text.
               The length makes the text unambiguous: no value can end early or pass for a NULL.
    values     by the column's kind (`dbt_intacct.state.canonical.column_kind`, from the type the
               warehouse reports):
                 int        decimal digits, '-' when negative ('42', '-7')
                 decimal    digits without trailing zeros after the point, and without the point when
                            nothing is left after it ('12.5', '100', '-0.25'): also for an integer kept
                            in a decimal or NUMBER column
                 float      as a decimal rounded to 9 places, then as a decimal ('12.5', '0.1'); a value
                            of 10^28 or more as the warehouse writes it (engine-specific)
                 bool       'true' or 'false'
                 date       'YYYY-MM-DD'
                 timestamp  'YYYY-MM-DDTHH:MM:SS.ffffff' (microseconds, always 6 digits); a timestamp
                            with a time zone is taken in UTC first
                 json       an array of objects (line arrays: a DuckDB LIST of STRUCT, a Postgres
                            json or jsonb array, a Spark ARRAY<STRUCT>), as JSON: for each element
                            chr(29), then its fields in the order of their names, each as chr(31),
                            the name's length, ':' and the name, then chr(31) and 'N' for null or the
                            value's length, ':' and its text (a number as a decimal, see above; a
                            string as it is; true or false; a nested array or object as its JSON
                            text). JSON that is not an array: its JSON text (engine-specific).
                 text       the text as stored (no Unicode normalisation); any other type as the
                            warehouse casts it to text
    hash       the md5 of the text's UTF-8 bytes, 32 lower-case hex digits, after the prefix
               `dbt_intacct__canonical_prefix` ('c1:'), which tells a canonical row hash from those an
               older version wrote (md5 of another text, or Postgres's hash64).
-#}

{% macro dbt_intacct__canonical_prefix() -%}c1:{%- endmacro %}

{#- The canonical row text's parts (SQL expressions whose concatenation is the text); NULLs are never parts. -#}
{% macro dbt_intacct__canonical_parts(columns, fingerprint, prefix='') -%}
  {%- set parts = ["'" ~ fingerprint ~ "'"] -%}
  {%- for c in columns | sort(attribute='name') -%}
    {%- set column = prefix ~ adapter.quote(c.name) -%}
    {%- set text = dbt_intacct__canonical_text(column, c.kind) -%}
    {%- if c.kind == 'bool' -%}
      {%- do parts.append(dbt_intacct__canonical_bool_part(column)) -%}
    {%- else -%}
      {%- do parts.append("case when " ~ column ~ " is null then chr(31) || 'N' else " ~ dbt_intacct__concat(["chr(31)", dbt_intacct__length_text(text), "':'", text]) ~ " end") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(parts) }}
{%- endmacro %}

{#-
  DuckDB's parts: one concat() call skips NULL arguments, so a value is an argument of its own (a chain
  of || copies the growing string once per part, which doubled the cost of hashing a million rows).
-#}
{% macro dbt_intacct__canonical_parts_duckdb(columns, fingerprint, prefix='') -%}
  {%- set parts = ["'" ~ fingerprint ~ "'"] -%}
  {%- for c in columns | sort(attribute='name') -%}
    {%- set column = prefix ~ adapter.quote(c.name) -%}
    {%- set text = dbt_intacct__canonical_text(column, c.kind) -%}
    {%- if c.kind == 'bool' -%}
      {%- do parts.append(dbt_intacct__canonical_bool_part(column)) -%}
    {%- else -%}
      {%- do parts.append("case when " ~ column ~ " is null then chr(31) || 'N' else chr(31) || cast(length(" ~ text ~ ") as varchar) || ':' end") -%}
      {%- do parts.append(text) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(parts) }}
{%- endmacro %}

{#- A boolean's whole part, its length written out: the same text, without measuring it on every row. -#}
{% macro dbt_intacct__canonical_bool_part(column) -%}
case when {{ column }} then chr(31) || '4:true' when not {{ column }} then chr(31) || '5:false' else chr(31) || 'N' end
{%- endmacro %}

{#- The canonical row hash: the prefix, then the md5 of the canonical text as lower-case hex. -#}
{% macro dbt_intacct__canonical_hash(columns, fingerprint, prefix='') -%}
  {%- for c in columns -%}
    {%- if c.name is not defined or c.kind is not defined -%}
      {{ exceptions.raise_compiler_error("the canonical row hash needs each column's name and kind, not " ~ c) }}
    {%- endif -%}
  {%- endfor -%}
  {%- if adapter.type() == 'duckdb' -%}
    {%- set text = "concat(" ~ dbt_intacct__canonical_parts_duckdb(columns, fingerprint, prefix) | join(", ") ~ ")" -%}
  {%- else -%}
    {%- set text = dbt_intacct__concat(dbt_intacct__canonical_parts(columns, fingerprint, prefix)) -%}
  {%- endif -%}
  {{ dbt_intacct__concat(["'" ~ dbt_intacct__canonical_prefix() ~ "'", dbt_intacct__md5_hex(text)]) }}
{%- endmacro %}

{#-
  One value's canonical text, by its kind (see the top of this file). NULL stays NULL: DuckDB's concat()
  skips it after the NULL marker.
-#}
{% macro dbt_intacct__canonical_text(column, kind) -%}
  {{ return(adapter.dispatch('canonical_text', 'dbt_intacct')(column, kind)) }}
{%- endmacro %}

{% macro default__canonical_text(column, kind) -%}
  {%- set string = dbt_intacct__column_type('string') -%}
  {%- if kind == 'int' -%}cast({{ column }} as {{ string }})
  {%- elif kind == 'decimal' -%}{{ dbt_intacct__trim_decimal("cast(" ~ column ~ " as " ~ string ~ ")") }}
  {%- elif kind == 'float' -%}
    case when abs({{ column }}) < 1e28 then {{ dbt_intacct__trim_decimal("cast(cast(" ~ column ~ " as " ~ dbt_intacct__canonical_decimal_type() ~ ") as " ~ string ~ ")") }} else cast({{ column }} as {{ string }}) end
  {%- elif kind == 'bool' -%}case when {{ column }} then 'true' when not {{ column }} then 'false' end
  {%- elif kind == 'date' -%}{{ dbt_intacct__format_date(column) }}
  {%- elif kind == 'timestamp' -%}{{ dbt_intacct__format_timestamp(column) }}
  {%- elif kind == 'timestamptz' -%}{{ dbt_intacct__format_timestamp(dbt_intacct__in_utc(column)) }}
  {%- elif kind == 'json' -%}{{ dbt_intacct__canonical_json(column) }}
  {%- elif kind == 'text' -%}cast({{ column }} as {{ string }})
  {%- else -%}{{ exceptions.raise_compiler_error("unknown canonical kind " ~ kind ~ " for " ~ column) }}
  {%- endif -%}
{%- endmacro %}

{#-
  A json kind's canonical text (see the top of this file). The default is the column as text, which
  differs between warehouses: each warehouse that holds line arrays names its own.
-#}
{% macro dbt_intacct__canonical_json(column) -%}
  {{ return(adapter.dispatch('canonical_json', 'dbt_intacct')(column)) }}
{%- endmacro %}

{% macro default__canonical_json(column) -%}cast({{ column }} as {{ dbt_intacct__column_type('string') }}){%- endmacro %}

{% macro duckdb__canonical_json(column) -%}
{%- set number = "rtrim(rtrim(cast(cast(e ->> k as decimal(38, 9)) as varchar), '0'), '.')" -%}
case when json_type(to_json({{ column }})) = 'ARRAY' then
  array_to_string(list_transform(cast(json_extract(to_json({{ column }}), '$[*]') as json[]), lambda e:
    chr(29) || array_to_string(list_transform(list_sort(json_keys(e)), lambda k:
      chr(31) || cast(length(k) as varchar) || ':' || k || chr(31) || case
        when json_type(e -> k) = 'NULL' then 'N'
        when json_type(e -> k) in ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT') then cast(length({{ number }}) as varchar) || ':' || {{ number }}
        else cast(length(e ->> k) as varchar) || ':' || (e ->> k)
      end), '')), '')
else cast(to_json({{ column }}) as varchar) end
{%- endmacro %}

{% macro postgres__canonical_json(column) -%}
case when jsonb_typeof(to_jsonb({{ column }})) = 'array' then coalesce((
  select string_agg(chr(29) || coalesce((
      select string_agg(chr(31) || length(f.k) || ':' || f.k || chr(31) || case
          when jsonb_typeof(f.v) = 'null' then 'N'
          when jsonb_typeof(f.v) = 'number' then length(x.n) || ':' || x.n
          else length(f.v #>> '{}') || ':' || (f.v #>> '{}')
        end, '' order by f.k collate "C")
      from jsonb_each(case when jsonb_typeof(a.e) = 'object' then a.e end) as f(k, v)
      cross join lateral (
        select case when jsonb_typeof(f.v) = 'number'
          then rtrim(rtrim(cast(cast(f.v #>> '{}' as numeric(38, 9)) as text), '0'), '.') end as n
      ) x
    ), ''), '' order by a.n)
  from jsonb_array_elements(to_jsonb({{ column }})) with ordinality as a(e, n)
), '')
else cast(to_jsonb({{ column }}) as text) end
{%- endmacro %}

{#-
  Postgres (13 and later) drops a numeric's trailing zeros with trim_scale(), in a third of the time the
  text functions take (a million decimals: 137 ms against 271 ms).
-#}
{% macro postgres__canonical_text(column, kind) -%}
  {%- if kind == 'decimal' -%}cast(trim_scale({{ column }}) as text)
  {%- elif kind == 'float' -%}
    case when abs({{ column }}) < 1e28 then cast(trim_scale(cast({{ column }} as numeric(38, 9))) as text) else cast({{ column }} as text) end
  {%- else -%}{{ default__canonical_text(column, kind) }}
  {%- endif -%}
{%- endmacro %}

{#- The length of a text in characters (code points), as text. -#}
{% macro dbt_intacct__length_text(text) -%}
  {{ return(adapter.dispatch('length_text', 'dbt_intacct')(text)) }}
{%- endmacro %}

{% macro default__length_text(text) -%}cast(length({{ text }}) as {{ dbt_intacct__column_type('string') }}){%- endmacro %}

{#- A decimal's text without trailing zeros after the point, nor a bare point. -#}
{% macro dbt_intacct__trim_decimal(text) -%}
  {{ return(adapter.dispatch('trim_decimal', 'dbt_intacct')(text)) }}
{%- endmacro %}

{% macro default__trim_decimal(text) -%}
case when {{ text }} like '%.%' then rtrim(rtrim({{ text }}, '0'), '.') else {{ text }} end
{%- endmacro %}

{#- The decimal type a float is rounded to: 9 places, room for values below 10^28. -#}
{% macro dbt_intacct__canonical_decimal_type() -%}
  {{ return(adapter.dispatch('canonical_decimal_type', 'dbt_intacct')()) }}
{%- endmacro %}

{% macro default__canonical_decimal_type() -%}decimal(38, 9){%- endmacro %}

{#- 'YYYY-MM-DD' -#}
{% macro dbt_intacct__format_date(column) -%}
  {{ return(adapter.dispatch('format_date', 'dbt_intacct')(column)) }}
{%- endmacro %}

{% macro default__format_date(column) -%}to_char({{ column }}, 'YYYY-MM-DD'){%- endmacro %}

{% macro duckdb__format_date(column) -%}strftime({{ column }}, '%Y-%m-%d'){%- endmacro %}

{#- 'YYYY-MM-DDTHH:MM:SS.ffffff' -#}
{% macro dbt_intacct__format_timestamp(column) -%}
  {{ return(adapter.dispatch('format_timestamp', 'dbt_intacct')(column)) }}
{%- endmacro %}

{% macro default__format_timestamp(column) -%}to_char({{ column }}, 'YYYY-MM-DD"T"HH24:MI:SS.US'){%- endmacro %}

{% macro duckdb__format_timestamp(column) -%}strftime({{ column }}, '%Y-%m-%dT%H:%M:%S.%f'){%- endmacro %}

{#- A timestamp with a time zone as the UTC timestamp without one. -#}
{% macro dbt_intacct__in_utc(column) -%}
  {{ return(adapter.dispatch('in_utc', 'dbt_intacct')(column)) }}
{%- endmacro %}

{% macro default__in_utc(column) -%}({{ column }} at time zone 'UTC'){%- endmacro %}

{% macro duckdb__in_utc(column) -%}timezone('UTC', {{ column }}){%- endmacro %}

{#-
  The relation's columns and the types the warehouse gives them, as rows (name, type), for
  `dbt_intacct.state.canonical.column_kind`. `names`: string literals of the relation's name (without
  its database: `relation`), its schema and its identifier.
-#}
{% macro dbt_intacct__column_types_sql(relation, names) -%}
  {{ return(adapter.dispatch('column_types_sql', 'dbt_intacct')(relation, names)) }}
{%- endmacro %}

{% macro default__column_types_sql(relation, names) -%}
select column_name, data_type from information_schema.columns
where lower(table_schema) = lower({{ names.schema }}) and lower(table_name) = lower({{ names.identifier }})
{%- endmacro %}

{% macro duckdb__column_types_sql(relation, names) -%}
select column_name, column_type from (describe select * from {{ relation }})
{%- endmacro %}

{#- By the relation's OID: a view's columns too, whatever its name's quoting. -#}
{% macro postgres__column_types_sql(relation, names) -%}
select attname, format_type(atttypid, atttypmod) from pg_attribute
where attrelid = cast({{ names.relation }} as regclass) and attnum > 0 and not attisdropped
order by attnum
{%- endmacro %}
