"""What a row written in an entity may do: name records it can see, stay in its record's entity."""

from __future__ import annotations

from typing import Any

import pytest

from dbt_intacct.dbt.manifest import ManifestModel
from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import RecordRef
from dbt_intacct.sync.entities import can_reference
from dbt_intacct.sync.entity_checks import check_row_entity, owned_elsewhere
from dbt_intacct.sync.mapping import ReferencedRecord, map_row
from dbt_intacct.sync.sources import ColumnSource
from dbt_intacct.sync.spec import SyncSpec, parse_specs

CUSTOMERS = "model.proj.intacct_customers"


def _model(name: str, meta: dict[str, Any]) -> ManifestModel:
    return ManifestModel(
        unique_id=f"model.proj.{name}",
        name=name,
        package_name="proj",
        database=None,
        schema="main",
        identifier=name,
        original_file_path=f"models/{name}.sql",
        meta=meta,
    )


def invoices_spec() -> SyncSpec:
    customers = _model(
        "intacct_customers",
        {
            "object": "customer",
            "primary_key": "code",
            "entity": "entity",
            "mapping": {"CUSTOMERID": "code", "NAME": "name"},
        },
    )
    invoices = _model(
        "intacct_invoices",
        {
            "object": "invoice",
            "primary_key": "number",
            "entity": "entity",
            "mapping": {
                "customerid": {"record_of": "intacct_customers", "key": "customer", "field": "id"},
                "datecreated": "day",
                "datedue": "day",
                "invoiceitems": {"array": "lines", "mapping": {"glaccountno": "account", "amount": "amount"}},
            },
        },
    )
    specs = {spec.name: spec for spec in parse_specs([customers, invoices])}
    return specs["intacct_invoices"]


ROW = {"number": "INV-1", "entity": "100", "customer": "C-1", "day": "2026-10-01", "lines": []}


def references(owner: str | None) -> dict[tuple[str, str], ReferencedRecord]:
    return {(CUSTOMERS, "C-1"): ReferencedRecord(RecordRef(recordno="7", id="C-1"), "ok", entity=owner)}


@pytest.mark.parametrize(
    ("entity", "owner", "allowed"),
    [
        ("100", "100", True),
        ("100", "", True),  # a top-level record is seen everywhere
        ("100", None, True),  # a model without entity: wrote it in the connection's entity: Intacct decides
        (None, "200", True),
        ("100", "200", False),
        ("", "200", False),  # the top level cannot name a record private to an entity either
    ],
)
def test_which_records_a_row_may_name(entity: str | None, owner: str | None, allowed: bool) -> None:
    assert can_reference(entity, owner) is allowed


@pytest.mark.parametrize("plan", [False, True], ids=["sync", "plan"])
def test_a_record_of_private_to_another_entity_rejects_the_row_naming_both(plan: bool) -> None:
    spec = invoices_spec()
    assert map_row(spec, ROW, references("100"), plan=plan, entity="100").values["customerid"] == "C-1"
    assert map_row(spec, ROW, references(""), plan=plan, entity="100").values["customerid"] == "C-1"
    with pytest.raises(RowRejected) as caught:
        map_row(spec, ROW, references("200"), plan=plan, entity="100")
    assert caught.value.field == "customerid"
    assert "'C-1' of model 'intacct_customers' is written in entity 200" in caught.value.reason
    assert "this row is written in entity 100" in caught.value.reason


def test_a_row_may_not_move_its_record_to_another_entity() -> None:
    source = ColumnSource("entity")
    synced = {"__entity": "200", "__recordno": "7", "__intacct_id": "C-1"}
    check_row_entity(source, synced, "200")
    with pytest.raises(RowRejected, match="from entity 200 to the top level") as caught:
        check_row_entity(source, synced, "")
    assert caught.value.field == "entity"
    # A row that never reached Intacct may change its entity; so may a row synced before `entity:`.
    check_row_entity(source, {**synced, "__recordno": None, "__intacct_id": None}, "100")
    check_row_entity(source, {**synced, "__entity": None}, "100")
    with pytest.raises(RowRejected, match="entity ID"):
        check_row_entity(source, synced, "2\x0100")


def test_a_duplicate_owned_by_another_entity_says_which() -> None:
    assert owned_elsewhere("100", None) == ""
    assert owned_elsewhere("100", "100") == ""
    assert "belongs to entity 200, private to it" in owned_elsewhere("100", "200")
    assert owned_elsewhere("", "200").startswith(" in the top level: ")
