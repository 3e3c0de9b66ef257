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
from dbt_intacct.observe.progress_file import SyncProgress
from dbt_intacct.results import PHASES, ModelResult, RunResult, outcome_label

MAX_ERRORS_SHOWN = 10
# The row counters the summary table and `show` print, in order (the rest are in the run results).
SHOWN_COUNTERS = (
    "created",
    "updated",
    "cleared",
    "deleted",
    "reversed",
    "unchanged",
    "rejected",
    "failed",
    "pending",
)
LABEL_COLOURS = {"OK": "green", "WARN": "yellow", "ERROR": "red", "STOP": "red", "HELD": "red"}


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
        self._model: str | None = None  # the model whose rows are being counted
        self._last_plain = 0.0

    def notice(self, message: str) -> None:
        self.console.print(f"{_stamp()}  {message}", highlight=False, markup=False)

    def log(self, level: str, logger: str, message: str) -> None:
        """A warning logged by Python code (observe.logs), as dbt shows one: `WARNING: message`."""
        self.notice(f"{level}: {message}")

    def run_started(self, models: int) -> None:
        self.total_models = models

    def _follow(self, model: ModelResult) -> None:
        """Start counting for `model` if its rows were not being counted yet (a model resends the
        functions an earlier run left open before it starts)."""
        if model.unique_id != self._model:
            self._model = model.unique_id
            self._sent = self._ok = self._failed = self._planned = 0

    def model_started(self, model: ModelResult, planned_rows: int) -> None:
        self._index += 1
        self._follow(model)
        # The open intents already resent count among the rows to send.
        self._planned = self._sent + planned_rows
        of = f"{self._index} of {self.total_models} " if self.total_models else ""
        self.console.print(
            f"{_stamp()}  {of}START {model.name} ({model.object}, {model.mode}): "
            f"{planned_rows} row(s) to look at",
            highlight=False,
        )

    def rows_sent(self, model: ModelResult, count: int) -> None:
        self._follow(model)
        self._sent += count

    def rows_done(self, model: ModelResult, ok: int, failed: int) -> None:
        self._follow(model)
        self._ok += ok
        self._failed += failed
        # Upserts matched again after a duplicate are sent twice: the figure never falls below the sent.
        of = max(self._planned, self._sent)
        line = (
            f"{_stamp()}    {model.name}: sent {self._sent} of {of}, "
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
        for entity, actions in sorted(result.planned_by_entity.items()):
            per_action = ", ".join(f"{n} to {action}" for action, n in sorted(actions.items()) if n)
            self.console.print(f"          {entity}: {per_action}", highlight=False)
        if result.message:
            self.console.print(f"          {result.message}", style="red", highlight=False)


def summary_table(run: RunResult, plan: bool) -> Table:
    table = Table(title="dbt-intacct plan" if plan else "dbt-intacct sync", title_justify="left")
    table.add_column("model")
    table.add_column("object")
    table.add_column("mode")
    if plan:
        columns = ("create", "update", "clear", "delete", "reverse")
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
    for name in SHOWN_COUNTERS:
        table.add_column(name, justify="right")
    table.add_column("status")
    for m in run.models:
        cells = [
            str(m.counts[c]) if c not in {"rejected", "failed", "pending"} else _red(m.counts[c])
            for c in SHOWN_COUNTERS
        ]
        label, colour = model_label(m)
        table.add_row(m.name, m.object, m.mode, *cells, f"[{colour}]{label}[/{colour}]")
    return table


def model_label(model: ModelResult) -> tuple[str, str]:
    """How a model ended, as the progress line, the summary table and `show` all say it, and its colour:
    OK, WARN (some rows not applied, the rest were), ERROR (the model failed), STOP (interrupted), HELD
    (the guard against mass changes held it: nothing sent)."""
    label = outcome_label(
        model.status, model.counts["rejected"] + model.counts["failed"] + model.counts["pending"]
    )
    return label, LABEL_COLOURS[label]


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
            code = f" [{e.errorno}]" if e.errorno and e.errorno not in e.message else ""
            console.print(f"  - {where}{field}: {e.message}{code}", highlight=False, markup=False)
        listed = ("rejected", "failed", "changed_not_sent")
        more = sum(model.counts[k] for k in listed) - len(shown)
        if more > 0:
            console.print(f"  ... and {more} more (see target/intacct_run_results.json)", highlight=False)


def print_nulls(console: Console, run: RunResult, plan: bool) -> None:
    """Say which fields updates leave unchanged in Intacct because the model's value is NULL."""
    for model in run.models:
        if not model.nulls_kept:
            continue
        fields = ", ".join(f"{name} ({n})" for name, n in sorted(model.nulls_kept.items()))
        verb = "would leave" if plan else "left"
        console.print(
            f"{model.name}: updates {verb} fields unchanged in Intacct because the model's value is NULL, "
            f"rows by field: {fields}. `nulls: clear` sends them empty.",
            style="yellow",
            highlight=False,
            markup=False,
        )


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

    def log(self, level: str, logger: str, message: str) -> None:
        """A warning logged by Python code (observe.logs): one `log` event."""
        self.emit("log", level=level.lower(), logger=logger, message=message)

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
            status="success" if result.ok else "held" if result.status == "held" else "error",
            outcome=model_label(result)[0],
            counts={k: v for k, v in result.counts.items() if v},
            planned=dict(result.planned),
            planned_by_entity={k: dict(v) for k, v in result.planned_by_entity.items()} or None,
            api_transactions=result.api_transactions,
            message=result.message,
            elapsed_seconds=round(result.elapsed_seconds, 3),
            timings=result.timings_json(),
            diff=result.diff or None,
            nulls_kept=dict(result.nulls_kept) or None,
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
    if run.budget_override:
        note = f"Sent over the monthly budget ({run.budget_override})."
        console.print(note, style="yellow", highlight=False, markup=False)


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title="dbt-intacct runs", title_justify="left")
    # The whole run id, on one line, so that it can be copied into `show`; other columns give way.
    widest = max((len(run.run_id) for run in runs), default=3)
    table.add_column("run", no_wrap=True, min_width=widest)
    for name in ("command", "target", "status", "started", "duration"):
        table.add_column(name)
    for name in ("created", "updated", "cleared", "deleted", "reversed", "rejected", "failed", "API txns"):
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
                for k in ("created", "updated", "cleared", "deleted", "reversed")
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
        f"{run.started_at:%Y-%m-%d %H:%M:%S}"
        + (" · guard lifted (--allow-large-changes)" if run.large_changes_allowed else "")
        + (f" · applied plan {run.plan_id}" if run.plan_id else ""),
        highlight=False,
    )
    if run.message:
        console.print(f"  {run.message}", style="red", highlight=False, markup=False)
    models = Table(title="models", title_justify="left")
    for name in ("model", "object", "mode", "status"):
        models.add_column(name)
    for name in (*SHOWN_COUNTERS, "API txns"):
        models.add_column(name, justify="right")
    for m in run.models:
        # The run history keeps `error` for a model with rows not applied: shown as its run showed it.
        label = outcome_label(m.status if m.message or m.status != "error" else "success", m.problem_rows)
        models.add_row(
            m.name,
            m.object,
            m.mode,
            f"[{LABEL_COLOURS[label]}]{label}[/{LABEL_COLOURS[label]}]",
            *(str(getattr(m, c)) for c in SHOWN_COUNTERS),
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
        # Indented, one element a line, never wrapped by the console (a long value runs on).
        for c in detail.calls:
            console.print(f"\n[bold]call {c.sequence} request[/bold] ({c.url})", highlight=False)
            console.print(indented_xml(c.request_xml), markup=False, highlight=False, soft_wrap=True)
            console.print(f"[bold]call {c.sequence} response[/bold]", highlight=False)
            console.print(
                indented_xml(c.response_xml) if c.response_xml else "(none)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def indented_xml(text: str) -> str:
    """A recorded request or response, indented two spaces a level; as it was when it cannot be parsed
    (a truncated or non-XML answer is shown as received)."""
    from lxml import etree

    from dbt_intacct.xml.safe import parse_untrusted_xml

    try:
        root = parse_untrusted_xml(text.encode("utf-8"))
    except (ValueError, etree.LxmlError):
        return text
    etree.indent(root, space="  ")
    return str(etree.tostring(root, encoding="unicode"))


def print_progress(console: Console, progress: SyncProgress, reason: str) -> None:
    """A sync's progress file, shown when the warehouse cannot be read (`reason`), saying so."""
    data = progress.data
    age = progress.age_seconds()
    written = f"written {age:.0f} s ago" if age is not None else "written"
    alive = "still running" if progress.running else "no longer running"
    console.print(f"{reason}.", markup=False, highlight=False)
    console.print(
        f"Showing {progress.path} instead ({written}; the sync that wrote it is {alive}):",
        markup=False,
        highlight=False,
    )
    console.print(
        f"Run {progress.run_id} · {data.get('command', 'sync')} · target {data.get('target', '')} · "
        f"{data.get('phase', '')} · {data.get('status', '')} · started {data.get('started_at', '')}",
        markup=False,
        highlight=False,
    )
    if data.get("message"):
        console.print(f"  {data['message']}", style="red", markup=False, highlight=False)
    models = data.get("models") or []
    table = Table(
        title=f"models ({len(models)} of {data.get('models_total') or len(models)} started)",
        title_justify="left",
    )
    for name in ("model", "object", "mode", "status"):
        table.add_column(name)
    for name in ("rows", "sent", "acknowledged", "failed"):
        table.add_column(name, justify="right")
    table.add_column("outcomes")
    for m in models:
        counts = ", ".join(f"{n} {k}" for k, n in sorted((m.get("counts") or {}).items()))
        table.add_row(
            str(m.get("name")),
            str(m.get("object")),
            str(m.get("mode")),
            str(m.get("status")),
            *(str(m.get(k, 0)) for k in ("rows", "sent", "acknowledged", "failed")),
            counts,
        )
    console.print(table)
