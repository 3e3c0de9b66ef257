"""Issues 7 and 15: `plan` with 1% of a large model changed is quick, and its memory does not grow with it.

    .venv/bin/python bench/plan_one_percent.py [--warehouse duckdb postgres spark] [--rows 1000000]
                                               [--small-rows 10000] [--runs 3]
                                               [--model customers|journal_entries] [--quick]

Builds the model at --rows rows, seeds its state as synced (bench/seed_state.py), rebuilds it with 1%
of the rows changed (customers renamed; for journal entries, 1% new entries, since insert-only rows are
never re-sent) and runs `dbt-intacct plan` --runs times: the plain command for the wall time and the
peak memory, and through bench/phases.py for the tool's own phases. The dbt adapter's start-up (the same
loading code, nothing else) is measured on its own in the same runs. The same is done at --small-rows
rows for the memory ratio. Targets (DuckDB, 1,000,000 customers): the plan within 5 s beyond the
adapter's start-up, peak memory under 600 MB, and no more than twice the peak at 10,000 rows; Postgres's
plan within twice DuckDB's when both run (the ratio of their diffs, a part of the plan, is reported too).
On Spark (issue 15; a local SparkSession that each command starts, the state in append mode): the tool's
own peak memory (its Python process, not the JVM that runs Spark) under 600 MB, since the diff runs in
Spark and only the changed rows come back; its times, the JVM's peak and its ratios to DuckDB are
reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    CUSTOMERS,
    JOURNAL_ENTRIES,
    WAREHOUSES,
    BenchError,
    Figure,
    alternate,
    bench_project,
    change_one_percent,
    diff_breakdown,
    emulator_env,
    load_average,
    prepare_synced,
    ratio_figures,
    report,
    rerun_command,
)
from dbt_intacct.emulator import EmulatorProcess

MODELS = {"customers": CUSTOMERS, "journal_entries": JOURNAL_ENTRIES}
BEYOND_STARTUP_TARGET = 5.0
MEMORY_TARGET_MB = 600.0
MEMORY_RATIO_TARGET = 2.0
POSTGRES_RATIO_TARGET = 2.0


def measure(warehouse: str, model: str, rows: int, runs: int) -> tuple[dict[str, list[float]], list[Figure]]:
    """Plan runs (plain and phased, interleaved with start-up runs) on one warehouse at one size."""
    # A plan reads the company's object definitions from Intacct (cached in the state for a day): it
    # gets an emulator to ask, as a user's plan gets Intacct. Without one, each plan spent ~18 s on
    # connection retries before going on without them.
    with (
        EmulatorProcess(env=emulator_env()) as emulator,
        bench_project(warehouse, [model], endpoint=emulator.url) as project,
    ):
        prepare_synced(project, model, rows, real_sync=False)
        expected = change_one_percent(project, model, rows)
        found = alternate(
            runs,
            ("startup", project.adapter_startup),
            ("plain", lambda: project.intacct("plan")),
            ("phases", lambda: project.intacct("plan", phases=True)),
        )
        writes = emulator.admin.stats()["write_functions"]
    if writes:
        raise BenchError(f"the plans wrote {writes} functions to the emulator")
    for run in found["plain"] + found["phases"]:
        planned = sum(run.model(model)["planned"].values())
        if planned != expected:
            raise BenchError(f"the plan shows {planned:,} functions, not {expected:,}:\n{run.output[-3000:]}")
    startup = statistics.median(r.seconds for r in found["startup"])
    return {
        "startup": [r.seconds for r in found["startup"]],
        "plan": [r.seconds for r in found["plain"]],
        # Each run's wall time less the median start-up: the plan's own time.
        "beyond": [r.seconds - startup for r in found["plain"]],
        "tool": [r.phases["total"] - r.phases["startup"] for r in found["phases"]],
        "diff": [r.phases["diff"] for r in found["phases"]],
        "build": [r.phases["read"] + r.phases["process"] for r in found["phases"]],
        "rss": [r.max_rss_mb for r in found["plain"]],
        "own": [r.own_peak_mb for r in found["plain"]],
        "jvm": [r.jvm_peak_mb for r in found["plain"]],
        "functions": [float(expected)],
    }, diff_breakdown(found["phases"], "        ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", nargs="+", choices=WAREHOUSES, default=["duckdb"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=10_000, help="0: no memory ratio")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", choices=sorted(MODELS), default="customers")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one run, no memory ratio")
    args = parser.parse_args()
    rows, small, runs = (20_000, 0, 1) if args.quick else (args.rows, args.small_rows, args.runs)
    model = MODELS[args.model]
    argv = ["--warehouse", *args.warehouse, "--model", args.model]
    argv += (
        ["--quick"] if args.quick else ["--rows", str(rows), "--small-rows", str(small), "--runs", str(runs)]
    )
    command = rerun_command("plan_one_percent.py", argv)
    title = f"Plan with 1% of {rows:,} {args.model.replace('_', ' ')} changed"
    print(f"== {title}: {', '.join(args.warehouse)}; load average {load_average()}")
    figures: dict[str, dict[str, list[float]]] = {}
    ok = True
    for warehouse in args.warehouse:
        big, breakdown = measure(warehouse, model, rows, runs)
        figures[warehouse] = big
        targets = warehouse == "duckdb"
        spark = warehouse == "spark"
        # On Spark the figure that counts is the tool's own process (the JVM runs the diff).
        peak = "own" if spark else "rss"
        memory = []
        if small:
            little, _ = measure(warehouse, model, small, runs)
            memory = [
                Figure(f"peak memory at {small:,} rows", tuple(little[peak]), "MB", None),
                Figure(
                    f"peak memory at {rows:,} / at {small:,} rows",
                    (statistics.median(big[peak]) / statistics.median(little[peak]),),
                    "x",
                    MEMORY_RATIO_TARGET if targets else None,
                ),
            ]
        ok &= report(
            f"{title} on {warehouse} ({int(big['functions'][0]):,} functions planned)",
            [
                Figure("dbt adapter start-up (its own line)", tuple(big["startup"]), "s", None),
                Figure("plan, whole command", tuple(big["plan"]), "s", None),
                Figure(
                    "plan beyond the adapter's start-up",
                    tuple(big["beyond"]),
                    "s",
                    BEYOND_STARTUP_TARGET if targets else None,
                ),
                Figure("  the same, timed inside the tool", tuple(big["tool"]), "s", None),
                Figure("    of which the diff", tuple(big["diff"]), "s", None),
                *breakdown,
                Figure("    of which reading, mapping, building, validating", tuple(big["build"]), "s", None),
                Figure(
                    "peak memory (max RSS)", tuple(big["rss"]), "MB", MEMORY_TARGET_MB if targets else None
                ),
                Figure(
                    "  the tool's own process (VmHWM)",
                    tuple(big["own"]),
                    "MB",
                    MEMORY_TARGET_MB if spark else None,
                ),
                *([Figure("  Spark's JVM, reported", tuple(big["jvm"]), "MB", None)] if spark else []),
                *memory,
            ],
            command,
        )
    if "duckdb" in figures and "postgres" in figures:
        # The target is the plan's (the diff is a part of it, with no target of its own in the issue);
        # the diff's ratio is reported beside it.
        rows = [("plan beyond start-up", "beyond", POSTGRES_RATIO_TARGET), ("  its diff", "diff", None)]
        ratios = ratio_figures(figures, "postgres", "duckdb", rows)
        ok &= report(f"{title}: Postgres against DuckDB", ratios, command)
    if "duckdb" in figures and "spark" in figures:
        # No time target on Spark: its ratios to DuckDB are reported, from the same run.
        spark_rows: list[tuple[str, str, float | None]] = [
            ("plan, whole command", "plan", None),
            ("plan beyond start-up", "beyond", None),
            ("  its diff", "diff", None),
            ("tool's own peak", "own", None),
        ]
        ratios = ratio_figures(figures, "spark", "duckdb", spark_rows)
        ok &= report(f"{title}: Spark against DuckDB", ratios, command)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
