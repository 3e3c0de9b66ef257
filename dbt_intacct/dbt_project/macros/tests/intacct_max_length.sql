{#-
  intacct_max_length: the column's text is at most `max_length` characters (characters, not bytes), the
  limit Intacct sets for the field it feeds. NULLs pass (use intacct_required for those).
  Failing rows: every column of the row, plus intacct_problem with the length found.
-#}
{% test intacct_max_length(model, column_name, max_length) %}
{%- if max_length is not number or max_length < 1 -%}
  {{ exceptions.raise_compiler_error("intacct_max_length on " ~ column_name ~ ": max_length must be a positive whole number, got " ~ max_length) }}
{%- endif -%}
{%- set length_sql = dbt.length("cast(" ~ column_name ~ " as " ~ dbt.type_string() ~ ")") -%}
select
  {{ dbt.concat([
      dbt_intacct.intacct_problem_text(column_name ~ " is "),
      "cast(" ~ length_sql ~ " as " ~ dbt.type_string() ~ ")",
      dbt_intacct.intacct_problem_text(" characters long, the Intacct limit is " ~ max_length)
  ]) }} as intacct_problem,
  *
from {{ model }}
where {{ length_sql }} > {{ max_length }}
{% endtest %}
