{#-
  intacct_required: the column has a value on every row (not NULL, not blank), as an Intacct field marked
  required needs. dbt's own not_null lets '' and '   ' through; Intacct does not.
  Failing rows: every column of the row, plus intacct_problem saying which column is empty.
-#}
{% test intacct_required(model, column_name) %}
select
  {{ dbt_intacct.intacct_problem_text(column_name ~ " is empty (NULL or blank): Intacct requires a value") }} as intacct_problem,
  *
from {{ model }}
where {{ column_name }} is null
   or trim(cast({{ column_name }} as {{ dbt.type_string() }})) = ''
{% endtest %}
