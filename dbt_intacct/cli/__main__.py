"""`python -m dbt_intacct.cli`, the same as the `dbt-intacct` command."""

from dbt_intacct.cli import main

main()
