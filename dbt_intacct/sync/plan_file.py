"""A saved plan (`dbt-intacct plan --out PATH`): every function a sync would send, with what it was
computed from, in a JSON file that `dbt-intacct sync --plan PATH` applies exactly.

The file is `{"format": "dbt-intacct-plan/1", ..., "checksum": "sha256:<hex>"}`; the checksum is over
the rest of the document as canonical JSON (sorted keys, no spaces), so an edited file is refused. The
checksum is also the plan's id, recorded in `intacct_runs.plan_id` by the run that applies it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from dbt_intacct.errors import ConfigError
from dbt_intacct.objects import RecordRef
from dbt_intacct.state.fingerprint import Fingerprint
from dbt_intacct.sync.planned import PlannedFunction, controlid_for
from dbt_intacct.xml.request import Function

FORMAT = "dbt-intacct-plan/1"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)


class PlanFileError(ConfigError):
    """The plan file cannot be applied as it is (missing, edited, another format)."""


@dataclass
class PlanCapture:
    """What `plan --out` keeps of one model while it is planned: its functions and its change set."""

    functions: list[PlannedFunction] = field(default_factory=list)
    changes: dict[str, str | None] = field(default_factory=dict)  # row key -> row hash
    removals: list[str] = field(default_factory=list)
    # A changed entry's new posting, by row key: sent once its reversal is applied (`reposts`)
    reposts: dict[str, PlannedFunction] = field(default_factory=dict)


@dataclass
class PlannedModel:
    """One model of a saved plan: what it was computed from and what it would do."""

    unique_id: str
    name: str
    object: str
    mode: str
    connection: str
    spec_fingerprint: str  # the meta.intacct block's fingerprint: a changed block refuses the plan
    fingerprint: Fingerprint
    status: str  # success | error | held (held: nothing of it is in the plan)
    message: str | None
    counts: dict[str, int]  # planned functions by action, and unchanged / rejected / failed rows
    api_transactions: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, str | None] = field(default_factory=dict)  # change-set row key -> its row hash
    removals: list[str] = field(default_factory=list)  # row keys that left the model

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["fingerprint"] = self.fingerprint.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedModel:
        return cls(**{**data, "fingerprint": Fingerprint.from_json(data["fingerprint"])})


@dataclass
class SavedPlan:
    target: str
    state_schema: str
    created_at: str
    allow_large_changes: bool
    full_refresh: bool
    models: list[PlannedModel]
    functions: list[dict[str, Any]]  # in sending order, each with its model's unique_id
    checksum: str = ""

    @property
    def api_transactions(self) -> int:
        return sum(m.api_transactions for m in self.models)

    def document(self) -> dict[str, Any]:
        """The file's content, its checksum left out."""
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "target": self.target,
            "state_schema": self.state_schema,
            "allow_large_changes": self.allow_large_changes,
            "full_refresh": self.full_refresh,
            "api_transactions": self.api_transactions,
            "counts": _totals(self.models),
            "models": [m.to_json() for m in self.models],
            "functions": self.functions,
        }

    def write(self, path: Path) -> None:
        """Write the plan (and its checksum) to `path`."""
        document = self.document()
        self.checksum = content_checksum(document)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**document, "checksum": self.checksum}, indent=1) + "\n")

    def functions_of(self, model_id: str) -> list[PlannedFunction]:
        """The model's planned functions, rebuilt as a sync sends them (controlids checked); a changed
        entry's new posting is not among them (`reposts_of`)."""
        return [decode_function(f) for f in self.functions if f["model"] == model_id and not f.get("after")]

    def reposts_of(self, model_id: str) -> dict[str, PlannedFunction]:
        """The new postings of changed entries, by row key: each sent once its reversal is applied."""
        return {
            str(f["row_key"]): decode_function(f)
            for f in self.functions
            if f["model"] == model_id and f.get("after")
        }


def summary_path(path: Path) -> Path:
    """Where the readable summary goes: next to the plan, with `.md`."""
    return path.with_suffix(".md") if path.suffix != ".md" else path.with_name(path.name + ".md")


def content_checksum(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_function(
    model_id: str, object_name: str, p: PlannedFunction, after: str | None = None
) -> dict[str, Any]:
    """A function as the plan file holds it; `after`: the control ID of the reversal it follows."""
    return {
        "model": model_id,
        "row_key": p.row_key,
        "action": p.action,
        "object": object_name,
        "controlid": p.controlid,
        "entity": p.entity,
        "version": p.version,
        "row_hash": p.row_hash,
        "recordno": p.ref.recordno if p.ref else None,
        "intacct_id": p.ref.id if p.ref else None,
        "external_id": p.ref.external_id if p.ref else None,
        "match_value": None if p.match_value is None else str(p.match_value),
        "line_counts": p.line_counts,
        "previous_line_counts": p.previous_line_counts,
        "body": p.payload,
        "reposts": p.reposts,
        "after": after,
    }


def decode_function(data: dict[str, Any]) -> PlannedFunction:
    """A function of the file as the sender takes it; its controlid must be the one its content gives."""
    payload = str(data["body"])
    expected = controlid_for(
        data["model"], data["row_key"], data["action"], int(data["version"]), payload, data.get("entity")
    )
    if expected != data["controlid"]:
        raise PlanFileError(
            f"the plan's function for model {data['model']}, row key {data['row_key']!r} does not match its "
            "control ID; the file was changed after it was written. Nothing was sent"
        )
    body = etree.fromstring(payload.encode("utf-8"), _PARSER)
    known = {k: data.get(k) for k in ("recordno", "intacct_id", "external_id")}
    ref = (
        RecordRef(recordno=known["recordno"], id=known["intacct_id"], external_id=known["external_id"])
        if any(known.values())
        else None
    )
    return PlannedFunction(
        row_key=str(data["row_key"]),
        row_hash=data.get("row_hash"),
        action=str(data["action"]),
        ref=ref,
        version=int(data["version"]),
        function=Function(controlid=str(data["controlid"]), body=body),
        payload=payload,
        match_value=data.get("match_value"),
        line_counts=data.get("line_counts"),
        previous_line_counts=data.get("previous_line_counts"),
        entity=data.get("entity"),
        reposts=bool(data.get("reposts")),
    )


def load_plan(path: Path) -> SavedPlan:
    """Read and check a plan file; raises PlanFileError (exit 2, nothing sent) when it cannot be applied."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise PlanFileError(f"cannot read the plan file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PlanFileError(f"the plan file {path} is not JSON ({exc}); nothing was sent") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise PlanFileError(
            f"{path} is not a dbt-intacct plan of format {FORMAT} (format: {found!r}); make it with "
            "`dbt-intacct plan --out`. Nothing was sent"
        )
    checksum = data.pop("checksum", None)
    if checksum != content_checksum(data):
        raise PlanFileError(
            f"the plan file {path} was changed after it was written (its checksum does not match its "
            "content); nothing was sent. Make a new plan with `dbt-intacct plan --out`"
        )
    try:
        return SavedPlan(
            target=str(data["target"]),
            state_schema=str(data["state_schema"]),
            created_at=str(data["created_at"]),
            allow_large_changes=bool(data["allow_large_changes"]),
            full_refresh=bool(data["full_refresh"]),
            models=[PlannedModel.from_json(m) for m in data["models"]],
            functions=list(data["functions"]),
            checksum=str(checksum),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"the plan file {path} is incomplete ({exc}); nothing was sent") from None


def _totals(models: list[PlannedModel]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for model in models:
        for key, value in model.counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals
