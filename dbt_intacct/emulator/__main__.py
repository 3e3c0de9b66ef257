"""``python -m dbt_intacct.emulator``: the same command as ``dbt-intacct emulator``."""

from dbt_intacct.emulator.cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="python -m dbt_intacct.emulator")
