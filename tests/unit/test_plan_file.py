"""The saved plan file: functions round-trip as the sender takes them; an edited file is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from dbt_intacct.objects import RecordRef
from dbt_intacct.state.fingerprint import Fingerprint
from dbt_intacct.sync.plan_file import (
    PlanFileError,
    PlannedModel,
    SavedPlan,
    decode_function,
    encode_function,
    load_plan,
    summary_path,
)
from dbt_intacct.sync.plan_summary import write_plan
from dbt_intacct.sync.planned import plan_function

MODEL = "model.proj.intacct_customers"


def function(row_key: str, action: str, ref: RecordRef | None) -> dict:
    body = etree.fromstring(
        f"<{action}><CUSTOMER><CUSTOMERID>{row_key}</CUSTOMERID><NAME>A &amp; B</NAME></CUSTOMER></{action}>"
    )
    planned = plan_function(MODEL, row_key, "h1", action, ref, 2, body, match_value=row_key, line_counts=None)
    return encode_function(MODEL, "customer", planned)


def saved_plan() -> SavedPlan:
    model = PlannedModel(
        unique_id=MODEL,
        name="intacct_customers",
        object="customer",
        mode="upsert",
        connection="default",
        spec_fingerprint="abc",
        fingerprint=Fingerprint(rows=4, rows_checksum="123", state_rows=3, state_checksum="-9"),
        status="success",
        message=None,
        counts={"create": 1, "update": 1, "unchanged": 2},
        api_transactions=3,
        changes={"C2": "h1", "C4": "h1"},
    )
    return SavedPlan(
        target="dev",
        state_schema="main_intacct",
        created_at="2026-12-05T08:00:00+00:00",
        allow_large_changes=False,
        full_refresh=False,
        models=[model],
        functions=[
            function("C4", "create", None),
            function("C2", "update", RecordRef(recordno="7", id="C2")),
        ],
    )


def test_a_plan_round_trips_and_its_functions_are_those_planned(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    summary = write_plan(saved_plan(), path)
    assert summary == tmp_path / "plan.md" and "| intacct_customers |" in summary.read_text()
    loaded = load_plan(path)
    assert loaded.checksum.startswith("sha256:") and loaded.api_transactions == 3
    created, updated = loaded.functions_of(MODEL)
    assert (created.action, created.ref, created.version) == ("create", None, 2)
    assert updated.ref == RecordRef(recordno="7", id="C2")
    original = function("C2", "update", RecordRef(recordno="7", id="C2"))
    assert updated.controlid == original["controlid"]
    assert etree.tostring(updated.function.body, encoding="unicode") == original["body"]
    assert loaded.models[0].fingerprint == Fingerprint(4, "123", 3, "-9")


def test_an_edited_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_plan(saved_plan(), path)
    path.write_text(path.read_text().replace("A &amp; B", "A &amp; C"))
    with pytest.raises(PlanFileError, match="changed after it was written"):
        load_plan(path)


def test_a_function_whose_body_does_not_give_its_control_id_is_refused() -> None:
    data = function("C4", "create", None)
    with pytest.raises(PlanFileError, match="does not match its control ID"):
        decode_function({**data, "body": data["body"].replace("A &amp; B", "Z")})


def test_a_file_of_another_format_or_missing_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something/2"}))
    with pytest.raises(PlanFileError, match="not a dbt-intacct plan of format dbt-intacct-plan/1"):
        load_plan(other)
    with pytest.raises(PlanFileError, match="cannot read the plan file"):
        load_plan(tmp_path / "missing.json")
    assert summary_path(tmp_path / "p.json") == tmp_path / "p.md"
    assert summary_path(tmp_path / "p.md") == tmp_path / "p.md.md"
