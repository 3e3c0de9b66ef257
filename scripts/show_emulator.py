"""Print what the local emulator holds, one table per object (used by the demo)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from dbt_intacct.emulator.admin import EmulatorAdmin

# The columns worth showing per object, as the object's read returns them.
COLUMNS = {
    "CUSTOMER": [
        "RECORDNO",
        "CUSTOMERID",
        "NAME",
        "DISPLAYCONTACT.EMAIL1",
        "DISPLAYCONTACT.MAILADDRESS.CITY",
        "STATUS",
        "REGION",
    ],
    "CONTACT": ["RECORDNO", "CONTACTNAME", "COMPANYNAME", "EMAIL1"],
    "ARINVOICE": [
        "RECORDNO",
        "RECORDID",
        "CUSTOMERID",
        "WHENCREATED",
        "WHENDUE",
        "TOTALENTERED",
        "TOTALDUE",
        "STATE",
    ],
    "ARADJUSTMENT": ["RECORDNO", "RECORDID", "CUSTOMERID", "WHENCREATED", "TOTALENTERED", "DESCRIPTION"],
    "ARPYMT": ["RECORDNO", "CUSTOMERID", "DOCNUMBER", "RECEIPTDATE", "TOTALENTERED", "STATE"],
    "GLBATCH": ["RECORDNO", "JOURNAL", "BATCH_DATE", "BATCH_TITLE", "STATE"],
    "SODOCUMENT": ["RECORDNO", "DOCID", "CUSTVENDID", "WHENCREATED", "TOTAL", "STATE"],
}


def pick(record: dict[str, Any], path: str) -> str:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("admin_url", help="the emulator's admin URL, http://HOST:PORT/_emulator")
    parser.add_argument("--stats-only", action="store_true")
    args = parser.parse_args()
    admin = EmulatorAdmin(args.admin_url)
    console = Console(width=160)
    if not args.stats_only:
        for name, records in sorted(admin.records().items()):
            if not records:
                continue
            columns = COLUMNS.get(name, ["RECORDNO"])
            table = Table(title=f"{name} ({len(records)})", title_justify="left")
            for column in columns:
                table.add_column(column.split(".")[-1])
            for record in records:
                table.add_row(*(pick(record, c) for c in columns))
            console.print(table)
    stats = admin.stats()
    console.print(
        f"Emulator counters: {stats['requests']} requests, {stats['functions']} functions, "
        f"{stats['api_transactions']} billable API transactions so far.",
        highlight=False,
    )


if __name__ == "__main__":
    main()
