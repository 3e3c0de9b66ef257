"""``python -m dbt_intacct.objects``: regenerate the committed XSDs from the catalogue."""

from dbt_intacct.objects.schema import write_all

for path in write_all():
    print(path)
