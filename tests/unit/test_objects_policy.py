"""What each object declares for the sync engine, checked against its own catalogue: a new object whose
policy is incomplete or names fields its create cannot carry fails here, not at run time."""

from __future__ import annotations

import pytest

from dbt_intacct.objects import OBJECTS, IntacctObject, get_object


def test_objects_sync_records_others_refer_to_first() -> None:
    order = [obj.name for obj in sorted(OBJECTS.values(), key=lambda o: o.sync_rank)]
    assert len({obj.sync_rank for obj in OBJECTS.values()}) == len(OBJECTS), "two objects share a rank"
    assert order.index("customer") < order.index("contact") < order.index("invoice")
    assert order.index("invoice") < order.index("ar_payment")
    assert order.index("ar_adjustment") < order.index("ar_payment")


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_natural_keys_are_fields_the_create_carries(name: str) -> None:
    obj = OBJECTS[name]
    for key in obj.natural_keys:
        for part in key.parts:
            assert part in obj.create.shape.paths, f"{name}: natural key {key.field} uses unknown {part}"
        assert key.field in obj.matchable_fields(), f"{name}: its query cannot find records by {key.field}"


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_adoption_and_external_references_need_a_way_to_find_the_record(name: str) -> None:
    obj = OBJECTS[name]
    if obj.adopts_existing:
        assert obj.natural_keys, f"{name} adopts existing records but has no natural key to find them by"
    if obj.external_reference_key is not None:
        assert obj.external_reference_key in obj.create.shape.paths
        assert any(obj.external_reference_key in key.parts for key in obj.natural_keys)


def _body_key(obj: IntacctObject, values: dict[str, object]) -> tuple[str, str] | None:
    return obj.natural_key_of_body(obj.build_create(values, {}, check=False))


def test_a_create_is_found_again_by_the_same_key_from_its_values_and_from_its_body() -> None:
    customer = get_object("customer")
    assert customer.natural_key_of_values({"CUSTOMERID": "C1", "NAME": "A"}) == ("CUSTOMERID", "C1")
    assert _body_key(customer, {"CUSTOMERID": "C1", "NAME": "A"}) == ("CUSTOMERID", "C1")
    assert _body_key(customer, {"NAME": "A"}) is None
    transaction = get_object("transaction")
    values = {"transactiontype": "Sales Order", "documentno": "SO-7", "externalid": "dbti-x"}
    assert transaction.natural_key_of_values(values) == ("DOCID", "Sales Order-SO-7")
    assert transaction.natural_key_of_values({"transactiontype": "Sales Order", "externalid": "dbti-x"}) == (
        "EXTERNALID",
        "dbti-x",
    )
    journal = get_object("journal_entry")
    assert _body_key(journal, {"JOURNAL": "GJ", "BATCH_TITLE": "t", "REFERENCENO": "R-1"}) == (
        "REFERENCENO",
        "R-1",
    )
    assert get_object("ar_payment").natural_key_of_values({"CUSTOMERID": "C1"}) is None


def test_the_external_reference_is_stable_and_fits_the_field() -> None:
    invoice = get_object("invoice")
    first = invoice.external_reference("model.demo.invoices", "INV-1")
    assert first == invoice.external_reference("model.demo.invoices", "INV-1")
    assert first != invoice.external_reference("model.demo.invoices", "INV-2")
    assert first.startswith("dbti-") and len(first) == 20
