"""Issues 7 and 15: a no-op resync of a large model costs no API call, and little time.

    .venv/bin/python bench/noop_resync.py [--warehouse duckdb postgres spark] [--rows 1000000] [--runs 3]
                                          [--model customers|journal_entries] [--quick]

Builds the model at --rows rows in the warehouse, brings its state to "everything synced" (seeded in SQL
with the tool's own hash; --quick syncs every row to the emulator for real and checks the seeded hashes
against it), then runs `dbt-intacct sync` --runs times against an emulator and checks that no request
reached it. Each run is made twice, interleaved: once as the plain `dbt-intacct` command (the whole
command's figure) and once through bench/phases.py (the diff's figure). Targets (DuckDB, 1,000,000
customers): zero API calls, the whole command within 10 s, the diff within 1 s; Postgres within twice
DuckDB's figures when both run. On Spark (issue 15; a local SparkSession that each command starts, the
state in append mode): zero API calls and the tool's own peak memory (its Python process, not the JVM
that runs Spark) under 600 MB; its times, the JVM's peak and its ratios to DuckDB are reported.
"""

from __future__ import annotations

import argparse
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
WHOLE_COMMAND_TARGET = 10.0
DIFF_TARGET = 1.0
POSTGRES_RATIO_TARGET = 2.0
SPARK_OWN_MEMORY_TARGET_MB = 600.0


def measure(
    warehouse: str, model: str, rows: int, runs: int, quick: bool
) -> tuple[dict[str, list[float]], list[Figure]]:
    """The figures of one warehouse (seconds per run, peak memory, API requests) and the diff's breakdown."""
    with (
        EmulatorProcess(env=emulator_env()) as emulator,
        bench_project(warehouse, [model], endpoint=emulator.url) as project,
    ):
        setup = prepare_synced(project, model, rows, real_sync=quick)
        before = emulator.admin.stats()["requests"]
        found = alternate(
            runs,
            ("plain", lambda: project.intacct("sync")),
            ("phases", lambda: project.intacct("sync", phases=True)),
        )
        requests = emulator.admin.stats()["requests"] - before
        for run in found["plain"] + found["phases"]:
            counts = run.model(model)["counts"]
            if counts["unchanged"] != rows or run.results.get("status") != "success":
                raise BenchError(f"a no-op resync did not find {rows:,} unchanged rows: {counts}")
        print(f"   [{warehouse}] {setup}")
        return {
            "requests": [float(requests)],
            "whole": [r.seconds for r in found["plain"]],
            "diff": [r.phases["diff"] for r in found["phases"]],
            "startup": [r.phases["startup"] for r in found["phases"]],
            "rss": [r.max_rss_mb for r in found["plain"]],
            "own": [r.own_peak_mb for r in found["plain"]],
            "jvm": [r.jvm_peak_mb for r in found["plain"]],
        }, diff_breakdown(found["phases"], "    ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", nargs="+", choices=WAREHOUSES, default=["duckdb"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", choices=sorted(MODELS), default="customers")
    parser.add_argument("--quick", action="store_true", help="2,000 rows, one run, a real first sync")
    args = parser.parse_args()
    rows, runs = (2_000, 1) if args.quick else (args.rows, args.runs)
    model = MODELS[args.model]
    argv = ["--warehouse", *args.warehouse, "--model", args.model]
    argv += ["--quick"] if args.quick else ["--rows", str(rows), "--runs", str(runs)]
    title = f"No-op resync of {rows:,} {args.model.replace('_', ' ')}"
    print(f"== {title}: {', '.join(args.warehouse)}; load average {load_average()}")
    figures: dict[str, dict[str, list[float]]] = {}
    ok = True
    for warehouse in args.warehouse:
        found, breakdown = measure(warehouse, model, rows, runs, args.quick)
        figures[warehouse] = found
        # The targets are stated for DuckDB; Postgres's are relative to DuckDB's (below).
        targets = warehouse == "duckdb"
        ok &= report(
            f"{title} on {warehouse}",
            [
                Figure("API requests during the resyncs", tuple(found["requests"]), "requests", 0),
                Figure(
                    "whole command (dbt-intacct sync)",
                    tuple(found["whole"]),
                    "s",
                    WHOLE_COMMAND_TARGET if targets else None,
                ),
                Figure("  of which the diff", tuple(found["diff"]), "s", DIFF_TARGET if targets else None),
                *breakdown,
                Figure("  dbt adapter start-up, reported", tuple(found["startup"]), "s", None),
                Figure("peak memory (max RSS)", tuple(found["rss"]), "MB", None),
                Figure(
                    "  the tool's own process (VmHWM)",
                    tuple(found["own"]),
                    "MB",
                    SPARK_OWN_MEMORY_TARGET_MB if warehouse == "spark" else None,
                ),
                *(
                    [Figure("  Spark's JVM, reported", tuple(found["jvm"]), "MB", None)]
                    if warehouse == "spark"
                    else []
                ),
            ],
            rerun_command("noop_resync.py", argv),
        )
    if "duckdb" in figures and "postgres" in figures:
        rows = [("whole command", "whole", POSTGRES_RATIO_TARGET), ("diff", "diff", POSTGRES_RATIO_TARGET)]
        ratios = ratio_figures(figures, "postgres", "duckdb", rows)
        ok &= report(f"{title}: Postgres against DuckDB", ratios, rerun_command("noop_resync.py", argv))
    if "duckdb" in figures and "spark" in figures:
        # No time target on Spark: its ratios to DuckDB are reported, from the same run.
        spark_rows: list[tuple[str, str, float | None]] = [
            ("whole command", "whole", None),
            ("diff", "diff", None),
            ("tool's own peak", "own", None),
        ]
        ratios = ratio_figures(figures, "spark", "duckdb", spark_rows)
        ok &= report(f"{title}: Spark against DuckDB", ratios, rerun_command("noop_resync.py", argv))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
