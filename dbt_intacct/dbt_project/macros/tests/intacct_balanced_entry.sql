{#-
  intacct_balanced_entry: a column of journal lines (DuckDB LIST of STRUCT or JSON, Postgres json/jsonb, or
  JSON text) has at least `min_lines` lines and its signed amounts (positive = debit, negative = credit,
  each rounded half-up to the cent, as dbt-intacct sends them) sum to zero on every row.
  `amount_key` names the amount in each line (default: amount).
  Failing rows: every column of the row, plus intacct_problem, intacct_line_count, intacct_debits and
  intacct_credits.
-#}
{% test intacct_balanced_entry(model, column_name, amount_key="amount", min_lines=2) %}
{%- if min_lines is not number or min_lines < 1 -%}
  {{ exceptions.raise_compiler_error("intacct_balanced_entry on " ~ column_name ~ ": min_lines must be a positive whole number, got " ~ min_lines) }}
{%- endif -%}
with entries as (
  select
    {{ dbt_intacct.intacct_line_count(model, column_name) }} as intacct_line_count,
    {{ dbt_intacct.intacct_line_amount_sum(model, column_name, amount_key, "> 0") }} as intacct_debits,
    {{ dbt_intacct.intacct_line_amount_sum(model, column_name, amount_key, "< 0") }} as intacct_credits,
    *
  from {{ model }}
),

checked as (
  select
    case
      when intacct_line_count < {{ min_lines }} then {{ dbt.concat([
          dbt_intacct.intacct_problem_text(column_name ~ " needs at least " ~ min_lines ~ " line(s), got "),
          "cast(intacct_line_count as " ~ dbt.type_string() ~ ")"
      ]) }}
      else {{ dbt.concat([
          dbt_intacct.intacct_problem_text("the entry does not balance: debits "),
          "cast(intacct_debits as " ~ dbt.type_string() ~ ")",
          dbt_intacct.intacct_problem_text(", credits "),
          "cast(intacct_credits as " ~ dbt.type_string() ~ ")"
      ]) }}
    end as intacct_problem,
    *
  from entries
)

select * from checked
where intacct_line_count < {{ min_lines }}
   or intacct_debits <> intacct_credits
{% endtest %}
