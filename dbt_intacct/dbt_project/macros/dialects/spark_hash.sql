{#-
  Spark's pieces of the canonical row text (macros/canonical.sql), which dbt-databricks inherits
  (Databricks SQL has the same functions). Checked on a local SparkSession (pyspark 3.5) by
  tests/unit/test_canonical_engines.py, which compares the text with DuckDB's and Postgres's for the
  same values. Where Spark differs from the default:
    rtrim      rtrim(a, b) is rtrim(trimStr, str) on Spark 3, so trailing zeros are cut with
               TRIM(TRAILING ... FROM ...), the standard form.
    decimals   cast(decimal as string) writes a zero of scale 9 as '0E-9' and values below 10^-6 as
               '1.00E-7' (Java's BigDecimal.toString), and format_string('%f') refuses Spark's decimals;
               format_number with the pattern '0.###...' (38 places: Java's DecimalFormat, exact for a
               BigDecimal, in Locale.US, without grouping) writes the digits in full, without trailing
               zeros after the point nor a bare point.
    date/time  date_format with Java's patterns.
    timezone   Spark's TIMESTAMP is shown in the session's time zone: to_utc_timestamp(...,
               current_timezone()) gives the UTC wall time (TIMESTAMP_NTZ columns are naive, kind
               timestamp, and written as they are).
    catalogue  no information_schema on Spark 3: DESCRIBE gives (col_name, data_type, comment).
-#}

{% macro spark__canonical_text(column, kind) -%}
  {%- set string = dbt_intacct__column_type('string') -%}
  {%- set plain = "'0." ~ "#" * 38 ~ "'" -%}
  {%- if kind == 'decimal' -%}
    format_number({{ column }}, {{ plain }})
  {%- elif kind == 'float' -%}
    case when abs({{ column }}) < 1e28 then format_number(cast({{ column }} as {{ dbt_intacct__canonical_decimal_type() }}), {{ plain }}) else cast({{ column }} as {{ string }}) end
  {%- else -%}
    {{ default__canonical_text(column, kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro spark__trim_decimal(text) -%}
case when {{ text }} like '%.%' then trim(trailing '.' from trim(trailing '0' from {{ text }})) else {{ text }} end
{%- endmacro %}

{% macro spark__format_date(column) -%}date_format({{ column }}, 'yyyy-MM-dd'){%- endmacro %}

{% macro spark__format_timestamp(column) -%}date_format({{ column }}, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"){%- endmacro %}

{% macro spark__in_utc(column) -%}to_utc_timestamp({{ column }}, current_timezone()){%- endmacro %}

{% macro spark__column_types_sql(relation, names) -%}describe {{ relation }}{%- endmacro %}

{#-
  A json kind's canonical text (macros/canonical.sql) from an ARRAY<STRUCT<...>> (or any column
  to_json writes as an array of objects): each element's JSON text (from_json as array<string> keeps
  it raw), its fields in name order (array_sort: by bytes, as the other warehouses sort them), each
  value as text (from_json as map<string,string>), a number (a value that is no JSON string and reads
  as a number) as a decimal without trailing zeros. A JSON string value shows in the element's text
  as `"name":"`, which the text cannot hold anywhere else (a quote inside a string is escaped).
  NULL fields are written (ignoreNullFields false), as DuckDB's to_json and Postgres's jsonb write them.
-#}
{% macro spark__canonical_json(column) -%}
{%- set plain = "'0." ~ "#" * 38 ~ "'" -%}
{%- set fields = "from_json(e, 'map<string,string>')" -%}
{%- set v = fields ~ "[k]" -%}
{%- set as_string = "concat(substr(to_json(map(k, '')), 2, length(to_json(map(k, ''))) - 3), '\"')" -%}
{%- set number = "format_number(cast(" ~ v ~ " as decimal(38, 9)), " ~ plain ~ ")" -%}
{%- set json = "to_json(" ~ column ~ ", map('ignoreNullFields', 'false'))" -%}
case when {{ json }} like '[%' then
  concat_ws('', transform(from_json({{ json }}, 'array<string>'), e ->
    concat(chr(29), concat_ws('', transform(array_sort(map_keys({{ fields }})), k ->
      concat(chr(31), cast(length(k) as string), ':', k, chr(31), case
        when {{ v }} is null then 'N'
        when instr(e, {{ as_string }}) = 0 and cast({{ v }} as decimal(38, 9)) is not null
          then concat(cast(length({{ number }}) as string), ':', {{ number }})
        else concat(cast(length({{ v }}) as string), ':', {{ v }})
      end))))))
else {{ json }} end
{%- endmacro %}
