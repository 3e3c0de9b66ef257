{#-
  intacct_valid_xml_text: the column's text holds no character that XML 1.0 cannot carry: the control
  characters U+0000-U+001F other than tab, line feed and carriage return, and U+FFFE/U+FFFF. Such a
  value cannot be sent to Intacct at all; dbt-intacct rejects its row before sending.
  Failing rows: every column of the row, plus intacct_problem naming the first bad character and where.
-#}
{% test intacct_valid_xml_text(model, column_name) %}
{%- set text_sql = "cast(" ~ column_name ~ " as " ~ dbt.type_string() ~ ")" -%}
select
  {{ dbt.concat([
      dbt_intacct.intacct_problem_text(column_name ~ " contains "),
      dbt_intacct.intacct_first_non_xml_character(text_sql),
      dbt_intacct.intacct_problem_text(", a character XML 1.0 cannot carry, at position "),
      "cast(" ~ dbt_intacct.intacct_non_xml_position(text_sql) ~ " as " ~ dbt.type_string() ~ ")"
  ]) }} as intacct_problem,
  *
from {{ model }}
where {{ dbt_intacct.intacct_has_non_xml_character(text_sql) }}
{% endtest %}
