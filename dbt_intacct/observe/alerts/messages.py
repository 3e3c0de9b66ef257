"""What each channel receives: pure functions from a Notification to a payload, no I/O.

Every message names the models, their counts, the first errors (at most five) and the command that
shows the run (`dbt-intacct show RUN`). User data (row keys, messages) is escaped for the format that
carries it (Slack mrkdwn, HTML) and cut to a bounded length.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from dbt_intacct import __version__
from dbt_intacct.observe.alerts.decision import FirstError, ModelSummary, Notification

WEBHOOK_SCHEMA = "dbt-intacct/alert/v1"
SMS_MAX_CHARS = 320
_MAX_TEXT = 300  # one error message or row key in a notice
_SEVERITY = {"failure": "error", "rejected_rows": "warning", "recovery": "info"}


def _cut(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def headline(notification: Notification) -> str:
    """One line saying what happened, where, and how bad: the Slack text, email subject, PD summary."""
    n = notification
    where = f"dbt-intacct {n.command} on {n.target}"
    rows = f"{_plural(n.problem_rows, 'row')} rejected or failed"
    if n.event == "failure":
        broken = [model.name for model in n.models if model.status == "error"]
        if broken:
            cause = f"{', '.join(broken[:3])}{' and more' if len(broken) > 3 else ''} in error"
        elif n.run_message:
            cause = _cut(n.run_message, 120)
        else:
            cause = "the run failed"
        return f"{where} FAILED: {cause}; {rows}"
    if n.event == "rejected_rows":
        affected = [model.name for model in n.models if model.problem_rows]
        names = ", ".join(affected[:3]) + (" and more" if len(affected) > 3 else "")
        return f"{where}: {rows} (alert at {n.rule.rejected_rows_threshold}) in {names or 'the run'}"
    return f"{where} RECOVERED: {_plural(len(n.models), 'model')} synced, {rows}"


def _counts_text(model: ModelSummary) -> str:
    return ", ".join(f"{name} {count}" for name, count in model.counts if count) or "nothing to do"


def model_line(model: ModelSummary) -> str:
    """`name (object, mode): status; created 2, rejected 1` with only the counts that are not zero."""
    line = f"{model.name} ({model.object}, {model.mode}): {model.status}; {_counts_text(model)}"
    return f"{line} — {_cut(model.message, 200)}" if model.message else line


def error_line(error: FirstError) -> str:
    """`model row KEY: [errorno] message`, cut to a readable length."""
    where = error.model or "run"
    if error.row_key is not None:
        where += f" row {_cut(error.row_key, 80)}"
    code = f"[{error.errorno}] " if error.errorno else ""
    return f"{where}: {code}{_cut(error.message)}"


def text_body(notification: Notification) -> str:
    """The plain-text message: headline, models, first errors, the command to see the run."""
    n = notification
    lines = [
        headline(n),
        "",
        f"Run {n.run_id} ({n.run_status}), target {n.target}, started {n.started_at.isoformat()}",
    ]
    if n.run_message:
        lines.append(f"Run message: {_cut(n.run_message)}")
    lines += ["", "Models:"] + [f"  {model_line(model)}" for model in n.models]
    if not n.models:
        lines.append("  (no model results recorded)")
    if n.first_errors:
        lines += ["", "First errors:"] + [f"  {error_line(error)}" for error in n.first_errors]
    lines += ["", f"See the run: {n.show_command}"]
    return "\n".join(lines) + "\n"


# -- Slack incoming webhook ------------------------------------------------------------------------------
def _mrkdwn(text: str) -> str:
    # Slack's escaping: only &, < and > are control characters in mrkdwn text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification) -> dict[str, Any]:
    """Incoming-webhook JSON: `text` (the fallback and notification line) and Block Kit `blocks`."""
    n = notification
    emoji = {"failure": ":red_circle:", "rejected_rows": ":warning:", "recovery": ":large_green_circle:"}[
        n.event
    ]
    models = (
        "\n".join(f"• {_mrkdwn(model_line(model))}" for model in n.models) or "_no model results recorded_"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{_mrkdwn(headline(n))}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Models*\n{models}"[:3000]}},
    ]
    if n.first_errors:
        errors = "\n".join(f"• {_mrkdwn(error_line(error))}" for error in n.first_errors)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*First errors*\n{errors}"[:3000]}}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Run `{_mrkdwn(n.run_id)}` · target {_mrkdwn(n.target)} · "
                    f"see it with `{_mrkdwn(n.show_command)}`",
                }
            ],
        }
    )
    return {"text": headline(n), "blocks": blocks}


# -- generic webhook -------------------------------------------------------------------------------------
def webhook_document(notification: Notification) -> dict[str, Any]:
    """The documented, stable JSON document (docs/alerts.md) that generic webhooks receive."""
    n = notification
    return {
        "schema": WEBHOOK_SCHEMA,
        "event": n.event,
        "alert": n.rule.name,
        "state": n.state,
        "previous_state": n.previous_state,
        "summary": headline(n),
        "run": {
            "id": n.run_id,
            "command": n.command,
            "target": n.target,
            "status": n.run_status,
            "started_at": n.started_at.isoformat(),
            "finished_at": n.finished_at.isoformat() if n.finished_at else None,
            "message": n.run_message,
        },
        "models": [
            {
                "name": model.name,
                "unique_id": model.unique_id,
                "object": model.object,
                "mode": model.mode,
                "status": model.status,
                "message": model.message,
                "counts": dict(model.counts),
            }
            for model in n.models
        ],
        "problem_rows": n.problem_rows,
        "rejected_rows_threshold": n.rule.rejected_rows_threshold,
        "first_errors": [
            {"model": e.model, "row_key": e.row_key, "errorno": e.errorno, "message": e.message}
            for e in n.first_errors
        ],
        "command": n.show_command,
    }


# -- PagerDuty Events API v2 -----------------------------------------------------------------------------
def pagerduty_dedup_key(notification: Notification) -> str:
    """Stable per rule and target, so the recovery's resolve closes the incident its trigger opened."""
    return f"dbt-intacct/{notification.target}/{notification.rule.name}"


def pagerduty_event(notification: Notification, routing_key: str, source: str | None) -> dict[str, Any]:
    """A `trigger` for failure or rejected rows, a `resolve` for recovery."""
    n = notification
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if n.event == "recovery" else "trigger",
        "dedup_key": pagerduty_dedup_key(n),
    }
    if n.event == "recovery":
        return event
    document = webhook_document(n)
    event["payload"] = {
        "summary": headline(n)[:1024],
        "source": source or f"dbt-intacct {n.target}",
        "severity": _SEVERITY[n.event],
        "timestamp": (n.finished_at or n.started_at).isoformat(),
        "component": "dbt-intacct",
        "group": n.target,
        "class": n.event,
        "custom_details": {
            key: document[key] for key in ("run", "models", "problem_rows", "first_errors", "command")
        },
    }
    event["client"] = f"dbt-intacct {__version__}"
    return event


# -- email -----------------------------------------------------------------------------------------------
def email_message(notification: Notification, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """Plain text with a simple HTML alternative; the subject carries the status and the counts."""
    n = notification
    message = EmailMessage()
    message["Subject"] = f"[dbt-intacct] {_cut(headline(n), 200)}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(n.finished_at or n.started_at)
    message["X-dbt-intacct-event"] = n.event
    message.set_content(text_body(n))
    message.add_alternative(_email_html(n), subtype="html")
    return message


def _email_html(n: Notification) -> str:
    e = html.escape
    colour = {"failure": "#cf222e", "rejected_rows": "#9a6700", "recovery": "#1a7f37"}[n.event]
    rows = "".join(
        f"<tr><td><code>{e(model.name)}</code></td><td>{e(model.object)}</td><td>{e(model.mode)}</td>"
        f"<td>{e(model.status)}</td><td>{e(_counts_text(model))}</td></tr>"
        for model in n.models
    )
    errors = "".join(f"<li>{e(error_line(error))}</li>" for error in n.first_errors)
    return (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f'<h2 style="color: {colour}">{e(headline(n))}</h2>'
        f"<p>Run <code>{e(n.run_id)}</code> ({e(n.run_status)}), target {e(n.target)}, "
        f"started {e(n.started_at.isoformat())}</p>"
        + (f"<p>{e(_cut(n.run_message))}</p>" if n.run_message else "")
        + '<table border="1" cellpadding="4" cellspacing="0"><tr><th>Model</th><th>Object</th>'
        f"<th>Mode</th><th>Status</th><th>Counts</th></tr>{rows}</table>"
        + (f"<h3>First errors</h3><ul>{errors}</ul>" if errors else "")
        + f"<p>See the run: <code>{e(n.show_command)}</code></p></body></html>"
    )


# -- SMS -------------------------------------------------------------------------------------------------
def sms_body(notification: Notification) -> str:
    """At most SMS_MAX_CHARS characters: headline, then the first error, always ending with the command."""
    n = notification
    tail = f" See: {n.show_command}"
    parts = [headline(n)]
    if n.first_errors:
        parts.append(f"First error: {error_line(n.first_errors[0])}")
    body = ". ".join(parts)
    room = SMS_MAX_CHARS - len(tail)
    if len(body) > room:
        body = body[: room - 1] + "…"
    return body + tail
