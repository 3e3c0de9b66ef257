"""`dbt-intacct report`: recent runs as one self-contained HTML page.

The page carries its own CSS and a small script inline and loads nothing else: a Content-Security-Policy
that allows only those two blocks (by hash) makes the browser refuse any other fetch, so even a value
that slipped through escaping could not reach the network. Every value from the warehouse is escaped
by Jinja's autoescaping: row keys and messages are user data.

What each run shows is capped (rejected rows, API calls, XML bodies) so that fifty runs of large models
still make a page a laptop opens at once; the page says how much was left out and which command shows it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from lxml import etree

from dbt_intacct import __version__
from dbt_intacct.observe.history import ModelRecord, RowOutcomeRecord, RunDetail
from dbt_intacct.observe.report_calls import CallGroup, group_calls, groups_to_show
from dbt_intacct.secrets import redact
from dbt_intacct.xml.safe import parse_untrusted_xml

MAX_PROBLEM_ROWS_PER_RUN = 100
MAX_CHANGED_ROWS_PER_RUN = 100
MAX_CALLS_PER_RUN = 20  # lines of calls: alike consecutive calls are one line
MAX_XML_CHARS = 4_000

PROBLEM_STATUSES = frozenset({"rejected", "failed"})
# Rows that changed a record Intacct already held: listed, as problems are.
CHANGED_ACTIONS = frozenset({"update", "clear", "delete", "reverse"})
CHANGED_STATUSES = frozenset({"ok", "cleared", "deleted", "reversed"})
MODEL_COUNTS = (
    *("created", "updated", "cleared", "deleted", "reversed", "unchanged"),
    *("rejected", "failed", "pending"),
)
RUN_COUNTS = MODEL_COUNTS

_DASH = "\u2013"  # an en dash, between the first and last of a range
_ASSETS = Path(__file__).with_name("report_assets")
_BADGES = frozenset(
    {"success", "ok", "error", "failed", "rejected", "pending", "running", "transient", "ambiguous"}
    | {"terminal", "auth_failed"}
)


@dataclass(frozen=True)
class _ModelView:
    name: str
    object: str
    mode: str
    status: str
    status_class: str
    message: str | None
    counts: tuple[int, ...]
    api_transactions: int
    elapsed: str


@dataclass(frozen=True)
class _RowView:
    model: str
    row_key: str
    status: str
    action: str
    errorno: str
    message: str
    recorded: str
    recordno: str
    intacct_id: str


@dataclass(frozen=True)
class _CallView:
    """One call, or consecutive alike calls (`count` > 1: the XML is the first one's)."""

    anchor: str
    sequence: str  # "7", or "8" + an en dash + "31" for a group
    count: int
    started: str
    duration: str  # of the call, or of the group's calls together
    http_status: str
    outcome: str
    outcome_class: str
    fault: str
    model: str
    functions: str
    attempt: str
    url: str
    error: str | None
    request_xml: str
    response_xml: str | None


@dataclass(frozen=True)
class _RunView:
    anchor: str
    run_id: str
    status: str
    status_class: str
    command: str
    target: str
    started: str
    started_minute: str  # the overview's narrower column: to the minute
    duration: str
    message: str | None
    show_command: str
    models: tuple[_ModelView, ...]
    totals: tuple[int, ...]
    api_transactions: int
    problem_count: int
    problem_rows: tuple[_RowView, ...]
    problem_rows_more: int
    changed_rows: tuple[_RowView, ...]
    changed_rows_more: int
    calls: tuple[_CallView, ...]
    calls_more: int
    has_problems: bool
    search: str


def render_report(
    runs: Sequence[RunDetail],
    *,
    title: str = "dbt-intacct run report",
    generated_at: datetime,
) -> str:
    """Return the report as one HTML5 document (newest run first); the same input gives the same bytes.

    ``runs`` are shown as given apart from their order; choose how many with the query that loads them.
    Per run at most ``MAX_PROBLEM_ROWS_PER_RUN`` rejected/failed rows and ``MAX_CALLS_PER_RUN`` API calls
    are listed (calls that did not succeed first), XML bodies are cut at ``MAX_XML_CHARS`` characters,
    and the page says how many were left out.
    """
    ordered = sorted(runs, key=lambda detail: (detail.run.started_at.timestamp(), detail.run.run_id))
    views = [_run_view(detail, index) for index, detail in enumerate(reversed(ordered), start=1)]
    css = _asset("report.css")
    script = _asset("report.js")
    return _template().render(
        title=title,
        generated=_when(generated_at),
        version=__version__,
        runs=views,
        failed_runs=sum(1 for view in views if view.status == "error"),
        problem_runs=sum(1 for view in views if view.problem_count),
        count_labels=[label.capitalize() for label in RUN_COUNTS],
        model_count_labels=[label.capitalize() for label in MODEL_COUNTS],
        alert_labels=("Rejected", "Failed", "Pending"),
        csp=_content_security_policy(css, script),
        css=css,
        js=script,
    )


def _run_view(detail: RunDetail, index: int) -> _RunView:
    run = detail.run
    anchor = f"run-{index}"
    names = {model.unique_id: model.name for model in run.models}
    problems = [row for row in detail.rows if row.status in PROBLEM_STATUSES]
    shown_rows = problems[:MAX_PROBLEM_ROWS_PER_RUN]
    changed = [row for row in detail.rows if row.action in CHANGED_ACTIONS and row.status in CHANGED_STATUSES]
    changed_count = max(sum(m.updated + m.cleared + m.deleted + m.reversed for m in run.models), len(changed))
    groups = group_calls(detail.calls, names)
    shown_groups = groups_to_show(groups, MAX_CALLS_PER_RUN)
    totals = tuple(sum(_count(model, name) for model in run.models) for name in RUN_COUNTS)
    problem_count = max(run.problem_rows, len(problems))
    search = " ".join(
        [run.run_id, run.status, run.command, run.target]
        + [f"{model.name} {model.object} {model.status}" for model in run.models]
    )
    return _RunView(
        anchor=anchor,
        run_id=run.run_id,
        status=run.status,
        status_class=_badge(run.status),
        command=run.command,
        target=run.target,
        started=_when(run.started_at),
        started_minute=_when(run.started_at, seconds=False),
        duration=_duration((run.finished_at - run.started_at).total_seconds())
        if run.finished_at is not None
        else "running",
        message=run.message,
        show_command=f"dbt-intacct show {run.run_id}",
        models=tuple(_model_view(model) for model in run.models),
        totals=totals,
        api_transactions=run.api_transactions,
        problem_count=problem_count,
        problem_rows=tuple(_row_view(row, names) for row in shown_rows),
        problem_rows_more=len(problems) - len(shown_rows),
        changed_rows=tuple(_row_view(row, names) for row in changed[:MAX_CHANGED_ROWS_PER_RUN]),
        changed_rows_more=changed_count - min(len(changed), MAX_CHANGED_ROWS_PER_RUN),
        calls=tuple(_call_view(group, f"{anchor}-call-{group.first.sequence}") for group in shown_groups),
        calls_more=len(detail.calls) - sum(len(group.calls) for group in shown_groups),
        has_problems=run.status == "error" or problem_count > 0,
        search=search.lower(),
    )


def _model_view(model: ModelRecord) -> _ModelView:
    return _ModelView(
        name=model.name,
        object=model.object,
        mode=model.mode,
        status=model.status,
        status_class=_badge(model.status),
        message=model.message,
        counts=tuple(_count(model, name) for name in MODEL_COUNTS),
        api_transactions=model.api_transactions,
        elapsed=_duration(model.elapsed_seconds),
    )


def _row_view(row: RowOutcomeRecord, model_names: Mapping[str, str]) -> _RowView:
    return _RowView(
        model=model_names.get(row.model_id, row.model_id.rsplit(".", 1)[-1]),
        row_key=row.row_key if row.row_key is not None else "(no key)",
        status=row.status,
        action=row.action,
        errorno=row.errorno or "",
        message=row.message or "",
        recorded=_when(row.recorded_at),
        recordno=row.recordno or "",
        intacct_id=row.intacct_id or "",
    )


def _call_view(group: CallGroup, anchor: str) -> _CallView:
    call, calls = group.first, group.calls
    last = calls[-1]
    attempts = sorted({c.attempt for c in calls})
    return _CallView(
        anchor=anchor,
        sequence=str(call.sequence) if len(calls) == 1 else f"{call.sequence}{_DASH}{last.sequence}",
        count=len(calls),
        started=_when(call.started_at),
        duration=_duration(sum(c.duration_ms for c in calls) / 1000),
        http_status=str(call.http_status) if call.http_status is not None else "none",
        outcome=call.outcome,
        outcome_class=_badge(call.outcome),
        fault=call.fault or "",
        model=group.model,
        functions=group.functions or f"{call.function_count} function(s)",
        attempt=f"{attempts[0]}{_DASH}{attempts[-1]}" if len(attempts) > 1 else str(attempts[0]),
        url=call.url,
        error=call.error,
        request_xml=_readable_xml(call.request_xml),
        response_xml=_readable_xml(call.response_xml) if call.response_xml is not None else None,
    )


def _readable_xml(text: str) -> str:
    """Redacted (again: a report must never show a password even if a caller forgot), indented, capped."""
    body = redact(text)
    try:
        root = parse_untrusted_xml(body.encode("utf-8"))
    except ValueError:  # UnsafeXmlError, or text lxml cannot take
        pass  # a truncated or refused body is shown as it was recorded
    else:
        for element in root.iter():
            # Whitespace between elements would stop lxml from re-indenting.
            if element.text is not None and not element.text.strip() and len(element):
                element.text = None
            if element.tail is not None and not element.tail.strip():
                element.tail = None
        body = etree.tostring(root, encoding="unicode", pretty_print=True).rstrip("\n")
    if len(body) > MAX_XML_CHARS:
        left_out = len(body) - MAX_XML_CHARS
        body = f"{body[:MAX_XML_CHARS]}\n… {left_out:,} more characters not shown"
    return body


def _count(model: ModelRecord, name: str) -> int:
    counts = {
        "created": model.created,
        "updated": model.updated,
        "cleared": model.cleared,
        "deleted": model.deleted,
        "reversed": model.reversed,
        "unchanged": model.unchanged,
        "rejected": model.rejected,
        "failed": model.failed,
        "pending": model.pending,
    }
    return counts[name]


def _badge(status: str) -> str:
    return status if status in _BADGES else "other"


def _when(moment: datetime, seconds: bool = True) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    return f"{text} UTC" if not offset else f"{text} {moment.strftime('%z')}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _content_security_policy(css: str, script: str) -> str:
    # Hashes rather than 'unsafe-inline': only our own style and script blocks may run.
    return (
        "default-src 'none'; "
        f"style-src '{_sha256(css)}'; script-src '{_sha256(script)}'; "
        "base-uri 'none'; form-action 'none'"
    )


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.from_string(_asset("report.html.j2"))
