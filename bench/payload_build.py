"""Payload build throughput: rows -> checked, XSD-validated Intacct function bodies, on one core.

    PYTHONPATH=. .venv/bin/python bench/payload_build.py [--rows N] [--runs K]

Prints the median of K runs for customers (target: 20,000 functions/s) and for journal entries of 2 to 20
lines (reported, no target). Exits 1 when the customer figure misses the target.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from dbt_intacct.objects import get_object

TARGET_CUSTOMERS_PER_SECOND = 20_000
COMMAND = "PYTHONPATH=. .venv/bin/python bench/payload_build.py"


def customer_rows(count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Customers as the sync engine hands them over: every mapped key, NULLs as None."""
    rng = random.Random(7)
    rows = []
    for i in range(count):
        values: dict[str, Any] = {
            "CUSTOMERID": f"C{i:06d}",
            "NAME": f"Customer {i} & Sons",
            "DISPLAYCONTACT.EMAIL1": f"billing{i}@example.com",
            "DISPLAYCONTACT.PHONE1": f"+1 555 {i % 10000:04d}",
            "DISPLAYCONTACT.MAILADDRESS.ADDRESS1": f"{i} Main Street",
            "DISPLAYCONTACT.MAILADDRESS.CITY": rng.choice(["San Jose", "Zürich", "Paris", None]),
            "DISPLAYCONTACT.MAILADDRESS.STATE": "CA",
            "DISPLAYCONTACT.MAILADDRESS.ZIP": f"{95000 + i % 1000}",
            "DISPLAYCONTACT.MAILADDRESS.COUNTRY": "United States",
            "STATUS": rng.choice([True, "active", "inactive"]),
            "CREDITLIMIT": Decimal(rng.randint(0, 10_000_00)) / 100,
            "TERMNAME": "N30",
            "COMMENTS": None,
        }
        rows.append((values, {"REGION": rng.choice(["EMEA", "AMER", None])}))
    return rows


def journal_rows(count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Journal entries of 2 to 20 balanced lines."""
    rng = random.Random(11)
    rows = []
    for i in range(count):
        amounts = [Decimal(rng.randint(1, 500_000)) / 100 for _ in range(rng.randint(1, 19))]
        lines = [
            {
                "ACCOUNTNO": rng.choice(["6000", "6100", "6200"]),
                "AMOUNT": amount,
                "DESCRIPTION": f"accrual {i}.{n}",
                "DEPARTMENT": "ADMIN",
                "LOCATION": None,
            }
            for n, amount in enumerate(amounts)
        ]
        lines.append({"ACCOUNTNO": "2000", "AMOUNT": -sum(amounts), "DESCRIPTION": "offset"})
        values = {
            "JOURNAL": "GJ",
            "BATCH_DATE": date(2024, 5, 1 + i % 28),
            "BATCH_TITLE": f"Accrual {i}",
            "REFERENCENO": None,
            "ENTRIES": lines,
        }
        rows.append((values, {}))
    return rows


def rate(build: Callable[[dict[str, Any], dict[str, Any]], Any], rows: list[Any], runs: int) -> float:
    """Median functions per second over `runs` passes over `rows`."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        for values, custom in rows:
            build(values, custom)
        results.append(len(rows) / (time.perf_counter() - started))
    return statistics.median(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="customer rows per run (journal: a tenth)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    customers = rate(get_object("customer").build_create, customer_rows(args.rows), args.runs)
    journals = rate(
        get_object("journal_entry").build_create, journal_rows(max(1, args.rows // 10)), args.runs
    )
    ok = customers >= TARGET_CUSTOMERS_PER_SECOND
    print(
        f"customers:       {customers:10,.0f} functions/s  (target {TARGET_CUSTOMERS_PER_SECOND:,}/s: "
        f"{'met' if ok else 'MISSED'})"
    )
    print(f"journal entries: {journals:10,.0f} functions/s  (2-20 lines each; no target)")
    print(f"median of {args.runs} runs, one core; rerun with: {COMMAND}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
