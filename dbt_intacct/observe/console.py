"""What a person sees in the terminal: dbt-style lines while models run, then a summary table."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dbt_intacct.observe.history import RunDetail, RunRecord
from dbt_intacct.results import PHASES, ModelResult, RunResult

MAX_ERRORS_SHOWN = 10


def _stamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


class ConsoleProgress:
    """Progress lines per model. On a terminal the rows sent, acknowledged and failed are updated in
    place; in a log (not a terminal) a line is printed at most every PLAIN_EVERY seconds."""

    PLAIN_EVERY = 10.0

    def __init__(self, console: Console, total_models: int = 0) -> None:
        self.console = console
        self.total_models = total_models
        self._index = 0
        self._sent = 0
        self._ok = 0
        self._failed = 0
        self._planned = 0
        self._last_plain = 0.0

    def notice(self, message: str) -> None:
        self.console.print(f"{_stamp()}  {message}", highlight=False, markup=False)

    def run_started(self, models: int) -> None:
        self.total_models = models

    def model_started(self, model: ModelResult, planned_rows: int) -> None:
        self._index += 1
        self._sent = self._ok = self._failed = 0
        self._planned = planned_rows
        of = f"{self._index} of {self.total_models} " if self.total_models else ""
        self.console.print(
            f"{_stamp()}  {of}START {model.name} ({model.object}, {model.mode}): "
            f"{planned_rows} row(s) to look at",
            highlight=False,
        )

    def rows_sent(self, model: ModelResult, count: int) -> None:
        self._sent += count

    def rows_done(self, model: ModelResult, ok: int, failed: int) -> None:
        self._ok += ok
        self._failed += failed
        line = (
            f"{_stamp()}    {model.name}: sent {self._sent} of {self._planned}, "
            f"acknowledged {self._ok}, failed {self._failed}"
        )
        if self.console.is_terminal:
            self.console.print(line, highlight=False, end="\r")
        elif time.monotonic() - self._last_plain >= self.PLAIN_EVERY:
            self._last_plain = time.monotonic()
            self.console.print(line, highlight=False)

    def model_finished(self, result: ModelResult) -> None:
        status, colour = model_label(result)
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
        label, colour = model_label(m)
        table.add_row(m.name, m.object, m.mode, *cells, f"[{colour}]{label}[/{colour}]")
    return table


def model_label(model: ModelResult) -> tuple[str, str]:
    """How a model ended, as the progress line and the summary table both say it, and its colour:
    OK, WARN (some rows not applied, the rest were), ERROR (the model failed), STOP (interrupted)."""
    if model.ok:
        return "OK", "green"
    if model.status == "interrupted":
        return "STOP", "red"
    if model.status == "error":
        return "ERROR", "red"
    return "WARN", "yellow"


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


class JsonProgress:
    """`--log-format json`: one JSON object per line on stdout, for machines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, event: str, **fields: object) -> None:
        record = {
            "ts": datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "event": event,
            **fields,
        }
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def notice(self, message: str) -> None:
        self.emit("notice", message=message)

    def run_started(self, models: int) -> None:
        self.emit("run_started", models=models)

    def model_started(self, model: ModelResult, planned_rows: int) -> None:
        self.emit("model_started", model=model.name, object=model.object, mode=model.mode, rows=planned_rows)

    def rows_sent(self, model: ModelResult, count: int) -> None:
        self.emit("rows_sent", model=model.name, count=count)

    def rows_done(self, model: ModelResult, ok: int, failed: int) -> None:
        self.emit("rows_done", model=model.name, ok=ok, failed=failed)

    def model_finished(self, result: ModelResult) -> None:
        self.emit(
            "model_finished",
            model=result.name,
            status="success" if result.ok else "error",
            counts={k: v for k, v in result.counts.items() if v},
            planned=dict(result.planned),
            api_transactions=result.api_transactions,
            message=result.message,
            elapsed_seconds=round(result.elapsed_seconds, 3),
            timings=result.timings_json(),
            diff=result.diff or None,
        )


def print_budget(console: Console, run: RunResult, plan: bool) -> None:
    budget = run.budget
    spend = run.api_transactions
    if budget is None:
        console.print(f"Intacct API transactions: {spend}.", highlight=False)
        return
    after = budget.spent_this_month + (spend if plan else 0)
    share = f" ({after * 100 / budget.monthly:.1f}%)" if budget.monthly else ""
    what = "this plan would spend" if plan else "this run spent"
    over = "  [red]over budget[/red]" if budget.monthly and after > budget.monthly else ""
    console.print(
        f"Intacct API transactions: {what} {spend}; this month {after} of {budget.monthly}{share}{over}.",
        highlight=False,
    )


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title="dbt-intacct runs", title_justify="left")
    for name in ("run", "command", "target", "status", "started", "duration"):
        table.add_column(name)
    for name in ("created", "updated", "cleared", "deleted", "rejected", "failed", "API txns"):
        table.add_column(name, justify="right")
    for run in runs:
        duration = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else "running"
        )
        colour = {"success": "green", "error": "red"}.get(run.status, "yellow")
        table.add_row(
            run.run_id,
            run.command,
            run.target,
            f"[{colour}]{run.status}[/{colour}]",
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            duration,
            *(
                str(sum(getattr(m, k) for m in run.models))
                for k in ("created", "updated", "cleared", "deleted")
            ),
            _red(run.problem_rows - sum(m.failed for m in run.models)),
            _red(sum(m.failed for m in run.models)),
            str(run.api_transactions),
        )
    return table


def print_run_detail(console: Console, detail: RunDetail, *, show_xml: bool) -> None:
    run = detail.run
    console.print(
        f"Run {run.run_id} · {run.command} · target {run.target} · {run.status} · started "
        f"{run.started_at:%Y-%m-%d %H:%M:%S}",
        highlight=False,
    )
    if run.message:
        console.print(f"  {run.message}", style="red", highlight=False, markup=False)
    models = Table(title="models", title_justify="left")
    for name in ("model", "object", "mode", "status"):
        models.add_column(name)
    counters = ("created", "updated", "cleared", "deleted", "unchanged", "rejected", "failed", "pending")
    for name in (*counters, "API txns"):
        models.add_column(name, justify="right")
    for m in run.models:
        models.add_row(
            m.name,
            m.object,
            m.mode,
            m.status,
            *(str(getattr(m, c)) for c in counters),
            str(m.api_transactions),
        )
    console.print(models)
    timed = [m for m in run.models if m.timings]
    if timed:
        # Spans, not parts of a whole: in a sync, read, build, intents and outcomes happen inside send.
        times = Table(title="time (seconds)", title_justify="left")
        times.add_column("model")
        for name in ("total", *PHASES):
            times.add_column(name, justify="right")
        for m in timed:
            times.add_row(
                m.name, f"{m.elapsed_seconds:.2f}", *(f"{m.timings.get(p, 0.0):.2f}" for p in PHASES)
            )
        console.print(times)
    rows = Table(title=f"row outcomes ({len(detail.rows)})", title_justify="left")
    for name in ("model", "row key", "action", "status", "RECORDNO", "ID", "errorno", "message"):
        rows.add_column(name, overflow="fold")
    for r in detail.rows:
        rows.add_row(
            r.model_id.split(".")[-1],
            r.row_key or "",
            r.action,
            r.status,
            r.recordno or "",
            r.intacct_id or "",
            r.errorno or "",
            r.message or "",
        )
    console.print(rows)
    calls = Table(title=f"API calls ({len(detail.calls)})", title_justify="left")
    for name in ("#", "started", "ms", "HTTP", "outcome", "functions", "attempt", "fault", "error"):
        calls.add_column(name, overflow="fold")
    for c in detail.calls:
        calls.add_row(
            str(c.sequence),
            f"{c.started_at:%H:%M:%S}",
            f"{c.duration_ms:.0f}",
            str(c.http_status or ""),
            c.outcome,
            str(c.function_count),
            str(c.attempt),
            c.fault or "",
            c.error or "",
        )
    console.print(calls)
    if show_xml:
        for c in detail.calls:
            console.print(f"\n[bold]call {c.sequence} request[/bold] ({c.url})", highlight=False)
            console.print(c.request_xml, markup=False, highlight=False)
            console.print(f"[bold]call {c.sequence} response[/bold]", highlight=False)
            console.print(c.response_xml or "(none)", markup=False, highlight=False)
