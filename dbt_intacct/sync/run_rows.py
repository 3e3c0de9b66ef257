"""What a run records of itself: a model's row in the run history, the run's summary, why it stopped."""

from __future__ import annotations

import json
from typing import Any

from dbt_intacct.errors import IntacctError
from dbt_intacct.results import ModelResult, RunResult
from dbt_intacct.sync.spec import SyncSpec


def model_row(model: ModelResult) -> dict[str, Any]:
    return {
        "model_id": model.unique_id,
        "name": model.name,
        "object": model.object,
        "mode": model.mode,
        "status": model.status
        if model.status in {"interrupted", "held"}
        else "success"
        if model.ok
        else "error",
        "message": model.message,
        **{k: model.counts[k] for k in ("created", "updated", "cleared", "deleted", "reversed", "unchanged")},
        **{k: model.counts[k] for k in ("rejected", "failed", "pending", "dropped")},
        "api_transactions": model.api_transactions,
        "elapsed_seconds": round(model.elapsed_seconds, 3),
        "timings": json.dumps(model.timings_json()),
    }


def stopped_by(exc: IntacctError, connection: str, result: RunResult) -> str:
    """Why the run stopped, naming the connection, and what it leaves for the next run."""
    message = f"stopped: connection '{connection}': {exc}"
    pending = sum(m.counts["pending"] for m in result.models)
    if pending:
        return message + f"; {pending} function(s) without an answer are resolved by the next run"
    sent = sum(m.api_transactions for m in result.models)
    return message + ("" if sent else "; nothing was sent to Intacct")


def summary(result: RunResult) -> str:
    totals = result.totals()
    return ", ".join(f"{k}={v}" for k, v in sorted(totals.items()) if v) or "nothing to do"


def by_model(problems: list[str], specs: list[SyncSpec]) -> list[str]:
    """Problems grouped by model, in the models' order (each message starts `model '<name>'`)."""
    order = {f"model '{spec.name}'": index for index, spec in enumerate(specs)}
    return sorted(problems, key=lambda text: order.get(text.split(",", 1)[0].split(":", 1)[0], len(order)))
