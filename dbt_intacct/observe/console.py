"""What a person sees in the terminal: dbt-style lines while models run, then a summary table."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dbt_intacct.sync.results import ModelResult, RunResult
from dbt_intacct.sync.spec import SyncSpec

MAX_ERRORS_SHOWN = 10


def _stamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


class ConsoleProgress:
    """Progress lines per model; on a terminal, rows sent and acknowledged are updated in place."""

    def __init__(self, console: Console, total_models: int = 0) -> None:
        self.console = console
        self.total_models = total_models
        self._index = 0
        self._sent = 0
        self._ok = 0
        self._failed = 0
        self._planned = 0

    def run_started(self, models: int) -> None:
        self.total_models = models

    def model_started(self, spec: SyncSpec, planned_rows: int) -> None:
        self._index += 1
        self._sent = self._ok = self._failed = 0
        self._planned = planned_rows
        of = f"{self._index} of {self.total_models} " if self.total_models else ""
        self.console.print(
            f"{_stamp()}  {of}START {spec.name} ({spec.object.name}, {spec.mode}): "
            f"{planned_rows} row(s) to look at",
            highlight=False,
        )

    def rows_sent(self, spec: SyncSpec, count: int) -> None:
        self._sent += count

    def rows_done(self, spec: SyncSpec, ok: int, failed: int) -> None:
        self._ok += ok
        self._failed += failed
        if self.console.is_terminal:
            self.console.print(
                f"{_stamp()}    {spec.name}: sent {self._sent}/{self._planned}, "
                f"acknowledged {self._ok}, failed {self._failed}",
                highlight=False,
                end="\r",
            )

    def model_finished(self, result: ModelResult) -> None:
        status = "OK" if result.ok else "ERROR" if result.status == "error" else "WARN"
        colour = {"OK": "green", "ERROR": "red", "WARN": "yellow"}[status]
        planned = [f"{n} to {action}" for action, n in sorted(result.planned.items()) if n]
        done = [f"{n} {k}" for k, n in result.counts.items() if n]
        counts = ", ".join(planned + done) or "nothing to do"
        line = Text(f"{_stamp()}  {status:<5} {result.name}: {counts} [{result.elapsed_seconds:.1f}s]")
        line.stylize(colour, 10, 10 + len(status))
        self.console.print(line, highlight=False)
        if result.message:
            self.console.print(f"          {result.message}", style="red", highlight=False)


def summary_table(run: RunResult, plan: bool) -> Table:
    table = Table(title="dbt-intacct plan" if plan else "dbt-intacct sync", title_justify="left")
    table.add_column("model")
    table.add_column("object")
    table.add_column("mode")
    if plan:
        columns = ("create", "update", "clear", "delete")
        for name in columns:
            table.add_column(name, justify="right")
        table.add_column("unchanged", justify="right")
        table.add_column("rejected", justify="right")
        table.add_column("API txns", justify="right")
        for m in run.models:
            table.add_row(
                m.name,
                m.object,
                m.mode,
                *(str(m.planned[c]) for c in columns),
                str(m.counts["unchanged"]),
                _red(m.counts["rejected"]),
                str(m.api_transactions),
            )
        return table
    counters = ("created", "updated", "cleared", "deleted", "unchanged", "rejected", "failed", "pending")
    for name in counters:
        table.add_column(name, justify="right")
    table.add_column("status")
    for m in run.models:
        cells = [
            str(m.counts[c]) if c not in {"rejected", "failed", "pending"} else _red(m.counts[c])
            for c in counters
        ]
        status = "[green]OK[/green]" if m.ok else "[red]ERROR[/red]"
        table.add_row(m.name, m.object, m.mode, *cells, status)
    return table


def _red(n: int) -> str:
    return f"[red]{n}[/red]" if n else "0"


def print_errors(console: Console, run: RunResult) -> None:
    for model in run.models:
        if not model.errors:
            continue
        shown = model.errors[:MAX_ERRORS_SHOWN]
        console.print(f"\n[bold]{model.name}[/bold]: rows not applied", highlight=False)
        for e in shown:
            where = f"key {e.row_key!r}" if e.row_key is not None else "rows"
            field = f", field {e.field}" if e.field else ""
            code = f" [{e.errorno}]" if e.errorno else ""
            console.print(f"  - {where}{field}: {e.message}{code}", highlight=False, markup=False)
        more = (model.counts["rejected"] + model.counts["failed"]) - len(shown)
        if more > 0:
            console.print(f"  ... and {more} more (see target/intacct_run_results.json)", highlight=False)


def print_samples(console: Console, run: RunResult, per_action: int) -> None:
    if per_action <= 0:
        return
    for model in run.models:
        for action, samples in model.samples.items():
            for sample in samples[:per_action]:
                console.print(f"\n[bold]{model.name}[/bold] sample {action}:", highlight=False)
                console.print(sample.rstrip(), highlight=False, markup=False)


def stderr_console() -> Console:
    return Console(file=sys.stderr)


def stdout_console(file: TextIO | None = None) -> Console:
    stream = file or sys.stdout
    # Off a terminal (CI logs, pipes) rich would assume 80 columns and squeeze the summary table.
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, width=width)
