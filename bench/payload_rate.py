"""Issue 7: payload building and XSD validation keep up with at least 20,000 functions/s on one core.

    .venv/bin/python bench/payload_rate.py [--rows 20000] [--runs 5] [--quick]

Rows come from the warehouse as the engine gets them (a generated DuckDB model read through the dbt
adapter: Decimal, bool, None ...) and are mapped by the model's real spec. Timed, in this process, in CPU
seconds (one core: this code is single-threaded Python, and CPU time does not count the waits a busy
shared machine adds): the object builders with their checks and XSD validation, for creates and for
updates of known records (the target), and the engine's whole per-row path around them: mapping
(templates included), building, validating, serialising, the controlid (reported). Journal entries of 2
to 20 lines are reported too. The median of --runs passes over the rows is the figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree

from bench.harness import (
    CUSTOMERS,
    JOURNAL_ENTRIES,
    Figure,
    bench_project,
    report,
    rerun_command,
)
from dbt_intacct.dbt.warehouse import DbtArgs, Warehouse
from dbt_intacct.objects import RecordRef
from dbt_intacct.results import SilentProgress
from dbt_intacct.sync.mapping import MappedRow, map_row
from dbt_intacct.sync.model import prepare
from dbt_intacct.sync.planned import controlid_for
from dbt_intacct.sync.spec import SyncSpec
from dbt_intacct.sync.task import SyncOptions, SyncTask

TARGET = 20_000.0


def rows_of(root: Path, model: str, count: int) -> tuple[SyncSpec, list[dict[str, Any]]]:
    """The model's spec and `count` of its rows, read through the dbt adapter like the engine reads them."""
    args = DbtArgs(project_dir=root, profiles_dir=root)
    (spec,) = [s for s in SyncTask(SyncOptions(dbt=args), SilentProgress()).load_specs() if s.name == model]
    with Warehouse(args).open() as warehouse:
        (prepared,), problems = prepare(warehouse, [spec])
        if problems:
            raise SystemExit("\n".join(problems))
        rows = warehouse.read_page(f"select * from {prepared.relation} limit {count}", count)
    return prepared.spec, rows


def rate(step: Callable[[int], object], count: int, runs: int) -> tuple[float, ...]:
    """Functions per CPU second of `step(i)` for i in 0..count-1, once per run."""
    rates = []
    for _ in range(runs):
        started = time.process_time()
        for i in range(count):
            step(i)
        rates.append(count / (time.process_time() - started))
    return tuple(rates)


def whole_path(spec: SyncSpec, rows: Sequence[dict[str, Any]], update: bool) -> Callable[[int], object]:
    """What the engine does per row: map, build (checked and validated), serialise, derive the controlid."""
    obj = spec.object

    def step(i: int) -> object:
        values = map_row(spec, rows[i], {})
        if update:
            body = obj.build_update(RecordRef(recordno=str(i + 1)), values.values, values.custom_fields)
        else:
            body = obj.build_create(values.values, values.custom_fields)
        payload = etree.tostring(body, encoding="unicode")
        return controlid_for(spec.model_id, str(i), "update" if update else "create", 1, payload)

    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="customer rows (journal entries: a tenth)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 rows, three runs")
    args = parser.parse_args()
    count, runs = (2_000, 3) if args.quick else (args.rows, args.runs)
    entries = max(1, count // 10)
    with bench_project("duckdb", [CUSTOMERS, JOURNAL_ENTRIES]) as project:
        project.build(CUSTOMERS, count)
        project.build(JOURNAL_ENTRIES, entries)
        spec, rows = rows_of(project.root, CUSTOMERS, count)
        journal_spec, journal_rows = rows_of(project.root, JOURNAL_ENTRIES, entries)
    obj, journal = spec.object, journal_spec.object
    mapped: list[MappedRow] = [map_row(spec, row, {}) for row in rows]
    journal_mapped = [map_row(journal_spec, row, {}) for row in journal_rows]
    refs = [RecordRef(recordno=str(i + 1)) for i in range(count)]
    figures = [
        Figure(
            "customer creates: build + checks + XSD",
            rate(lambda i: obj.build_create(mapped[i].values, mapped[i].custom_fields), count, runs),
            "functions/s",
            TARGET,
            at_most=False,
        ),
        Figure(
            "customer updates: build + checks + XSD",
            rate(lambda i: obj.build_update(refs[i], mapped[i].values, mapped[i].custom_fields), count, runs),
            "functions/s",
            TARGET,
            at_most=False,
        ),
        Figure(
            "customer creates, whole per-row path (map, build, XSD, serialise, controlid)",
            rate(whole_path(spec, rows, update=False), count, runs),
            "functions/s",
            None,
        ),
        Figure(
            "customer updates, whole per-row path",
            rate(whole_path(spec, rows, update=True), count, runs),
            "functions/s",
            None,
        ),
        Figure(
            "journal entries (2-20 lines): build + checks + balance + XSD",
            rate(
                lambda i: journal.build_create(journal_mapped[i].values, journal_mapped[i].custom_fields),
                entries,
                runs,
            ),
            "functions/s",
            None,
        ),
    ]
    argv = ["--quick"] if args.quick else ["--rows", str(count), "--runs", str(runs)]
    fields = statistics.median(len(m.values) for m in mapped)
    ok = report(
        f"Payload building and validation on one core (CPU time; {count:,} customers, {entries:,} entries)",
        figures,
        rerun_command("payload_rate.py", argv),
        [f"medians of {runs} passes; {fields:.0f} mapped fields a customer"],
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
