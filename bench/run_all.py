"""Every benchmark (issues 7, 13 and 15), one after the other, with a PASS/FAIL line per script at the end.

    .venv/bin/python bench/run_all.py [--runs 3] [--no-postgres] [--spark]  # the full figures (20 minutes)
    .venv/bin/python bench/run_all.py --quick                      # small sizes: do the scripts still work?

--quick runs each script at small sizes on DuckDB, once: its figures say nothing about the targets. Each
script prints its own figures, targets and the command that reruns it; see docs/performance.md.

--spark adds Spark to the no-op resync and the 1% plan of the full run (side by side with DuckDB in the
same run). It is an option because Spark is slow to measure: every command starts a JVM and takes about
two minutes at a million rows, so the two scripts take about 35 minutes more. --quick stays on DuckDB.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def commands(quick: bool, runs: int, postgres: bool, spark: bool = False) -> list[tuple[str, list[str]]]:
    """(name, arguments of `python bench/...`) for every benchmark."""
    warehouses = ["--warehouse", "duckdb", *(["postgres"] if postgres else []), *(["spark"] if spark else [])]
    if quick:
        return [
            ("no-op resync", ["noop_resync.py", "--quick"]),
            ("1% plan", ["plan_one_percent.py", "--quick"]),
            ("sync throughput", ["sync_throughput.py", "--quick"]),
            ("payload building", ["payload_rate.py", "--quick"]),
            ("answer memory", ["answer_memory.py", "--quick"]),
        ]
    each = ["--runs", str(runs)]
    return [
        ("no-op resync", ["noop_resync.py", *warehouses, "--rows", "1000000", *each]),
        (
            "1% plan",
            ["plan_one_percent.py", *warehouses, "--rows", "1000000", "--small-rows", "10000", *each],
        ),
        ("sync throughput", ["sync_throughput.py", "--rows", "10000", "--baseline-rows", "200", *each]),
        ("payload building", ["payload_rate.py", "--rows", "20000", "--runs", "5"]),
        ("answer memory", ["answer_memory.py", "--megabytes", "50", *each]),
        (
            "no-op resync, journal entries",
            ["noop_resync.py", "--model", "journal_entries", "--rows", "100000", *each],
        ),
        (
            "1% plan, journal entries",
            ["plan_one_percent.py", "--model", "journal_entries", "--rows", "100000", *each],
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="no Postgres")
    parser.add_argument("--spark", action="store_true", help="Spark too (no-op, 1%% plan; not --quick)")
    args = parser.parse_args()
    summary = []
    for name, argv in commands(args.quick, args.runs, postgres=not args.no_postgres, spark=args.spark):
        started = time.perf_counter()
        code = subprocess.run(
            [sys.executable, str(REPO / "bench" / argv[0]), *argv[1:]], check=False
        ).returncode
        verdict = "PASS" if code == 0 else ("FAIL" if code == 1 else f"ERROR (exit {code})")
        summary.append(f"{verdict:5s}  {name}  ({time.perf_counter() - started:.0f} s)")
    print("\n== Summary" + (" (--quick: small sizes, the verdicts mean nothing)" if args.quick else ""))
    print("\n".join(f"   {line}" for line in summary))
    if args.quick:
        return 0 if all(not line.startswith("ERROR") for line in summary) else 2
    return 0 if all(line.startswith("PASS") for line in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
