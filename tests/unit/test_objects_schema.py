"""The per-object XSDs: committed files up to date with the catalogue, valid XSD 1.0 under a strict
processor, and failures turned into readable rejections that name the mapping path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import OBJECTS, RecordRef, get_object
from dbt_intacct.objects.schema import xsd_text

XSD_DIR = Path(__file__).resolve().parents[2] / "dbt_intacct" / "objects" / "xsd"
INVOICE = get_object("invoice")
JOURNAL = get_object("journal_entry")
CUSTOMER = get_object("customer")


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_committed_xsd_is_what_the_catalogue_generates(name: str) -> None:
    committed = (XSD_DIR / f"{name}.xsd").read_text(encoding="utf-8")
    assert committed == OBJECTS[name].render_xsd(), (
        f"{name}.xsd is stale: run `PYTHONPATH=. .venv/bin/python -m dbt_intacct.objects` and commit it"
    )
    assert xsd_text(name) == committed.encode("utf-8")  # what the package loads at run time


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_xsd_is_valid_xsd_1_0_with_one_root_per_function(name: str) -> None:
    # xmlschema checks what libxml2 lets pass: Unique Particle Attribution, Element Declarations Consistent.
    schema = xmlschema.XMLSchema10(str(XSD_DIR / f"{name}.xsd"))
    obj = OBJECTS[name]
    expected = {f.name for f in obj.functions} | {d.function for d in obj.deletes}
    assert set(schema.elements) == expected


def valid_invoice() -> etree._Element:
    return INVOICE.build_create(
        {
            "customerid": "C1",
            "datecreated": "2024-05-01",
            "datedue": "2024-05-31",
            "description": "May",
            "invoiceitems": [{"glaccountno": "4000", "amount": "10"}, {"glaccountno": "4000", "amount": "5"}],
        },
        {},
    )


def rejected_by_xsd(obj: Any, body: etree._Element) -> RowRejected:
    with pytest.raises(RowRejected) as caught:
        obj.validate(body)
    assert caught.value.reason.startswith(f"does not match the {obj.name} schema: ")
    return caught.value


def test_xsd_enforces_legacy_order() -> None:
    body = valid_invoice()
    datecreated = body.find("datecreated")
    body.remove(datecreated)
    body.insert(0, datecreated)  # datecreated before customerid
    error = rejected_by_xsd(INVOICE, body)
    assert error.field == "datecreated"
    assert "not allowed here (expected customerid)" in error.reason


def test_xsd_failures_name_the_line_and_field() -> None:
    body = valid_invoice()
    body.findall("invoiceitems/lineitem")[1].find("amount").text = "1.234"
    error = rejected_by_xsd(INVOICE, body)
    assert error.field == "invoiceitems[1].amount"
    assert error.reason.endswith("<amount>: '1.234' is not in the form Intacct expects")


@pytest.mark.parametrize(
    ("mutate", "field", "reason"),
    [
        (
            lambda b: b.find("datecreated/month").__setattr__("text", "13"),
            "datecreated",
            "'13' is not in the form",
        ),
        (
            lambda b: b.remove(b.find("customerid")),
            "datecreated",
            "<datecreated>: not allowed here (expected customerid)",
        ),
        (lambda b: etree.SubElement(b, "bogus"), None, "<bogus>: not allowed here"),
        (
            lambda b: b.find("customerid").__setattr__("text", "C" * 21),
            "customerid",
            "21 characters, the limit is 20",
        ),
        (
            lambda b: b.find("invoiceitems/lineitem/glaccountno").__setattr__("text", None),
            "invoiceitems[0].glaccountno",
            "must not be empty",
        ),
        (lambda b: b.find("invoiceitems").clear(), "invoiceitems", "missing required element lineitem"),
    ],
)
def test_xsd_rejections_are_readable(mutate: Any, field: str | None, reason: str) -> None:
    body = valid_invoice()
    mutate(body)
    error = rejected_by_xsd(INVOICE, body)
    assert error.field == field
    assert reason in error.reason


def test_xsd_checks_generic_types() -> None:
    body = CUSTOMER.build_create({"CUSTOMERID": "C1", "NAME": "n", "STATUS": True, "ONHOLD": False}, {})
    broken = copy.deepcopy(body)
    broken.find("CUSTOMER/STATUS").text = "enabled"
    error = rejected_by_xsd(CUSTOMER, broken)
    assert error.field == "STATUS"
    assert "<STATUS>: 'enabled' is not one of 'active', 'inactive'" in error.reason
    broken = copy.deepcopy(body)
    broken.find("CUSTOMER/ONHOLD").text = "1"
    assert rejected_by_xsd(CUSTOMER, broken).field == "ONHOLD"
    broken = copy.deepcopy(body)
    broken.find("CUSTOMER/NAME").text = None
    assert rejected_by_xsd(CUSTOMER, broken).field == "NAME"


def test_xsd_checks_journal_lines() -> None:
    lines = [{"ACCOUNTNO": "6000", "AMOUNT": 5}, {"ACCOUNTNO": "1000", "AMOUNT": -5}]
    body = JOURNAL.build_create(
        {"JOURNAL": "GJ", "BATCH_DATE": "2024-05-01", "BATCH_TITLE": "t", "ENTRIES": lines}, {}
    )
    body.findall("GLBATCH/ENTRIES/GLENTRY")[1].find("TRX_AMOUNT").text = "-5"  # TRX_AMOUNT is absolute
    error = rejected_by_xsd(JOURNAL, body)
    assert error.field == "ENTRIES[1].AMOUNT"
    body.find("GLBATCH/ENTRIES").remove(body.findall("GLBATCH/ENTRIES/GLENTRY")[1])
    body.findall("GLBATCH/ENTRIES/GLENTRY")[0].find("TRX_AMOUNT").text = "5"
    assert "missing required element GLENTRY" in rejected_by_xsd(JOURNAL, body).reason


def test_xsd_locates_update_lines_by_position() -> None:
    lines = [{"amount": 1}, {"amount": 2}, {"glaccountno": "4000", "amount": 3}]
    body = INVOICE.build_update(
        RecordRef(recordno="5"), {"invoiceitems": lines}, {}, existing_lines={"invoiceitems": 2}
    )
    body.find("updateinvoiceitems/lineitem/amount").text = "x"
    assert rejected_by_xsd(INVOICE, body).field == "invoiceitems[2].amount"
    body = INVOICE.build_update(
        RecordRef(recordno="5"), {"invoiceitems": lines}, {}, existing_lines={"invoiceitems": 2}
    )
    body.find("updateinvoiceitems/updatelineitem").attrib.pop("line_num")
    assert rejected_by_xsd(INVOICE, body).field == "invoiceitems[0]"


def test_unchecked_body_is_caught_by_the_xsd() -> None:
    # check=False renders what the SDK vectors hold (an empty required account); the XSD still refuses it.
    body = INVOICE.build_create(
        {
            "customerid": "C1",
            "datecreated": "2024-05-01",
            "termname": "N30",
            "invoiceitems": [{"glaccountno": "", "amount": 1}],
        },
        {},
        check=False,
    )
    error = rejected_by_xsd(INVOICE, body)
    assert (error.field, error.reason.rsplit(": ", 1)[1]) == (
        "invoiceitems[0].glaccountno",
        "must not be empty",
    )


def test_every_delete_and_key_attribute_is_in_the_xsd() -> None:
    body = INVOICE.build_update(RecordRef(recordno="5"), {}, {})
    del body.attrib["key"]
    error = rejected_by_xsd(INVOICE, body)
    assert "attribute 'key'" in error.reason or "key" in error.reason
    delete = etree.fromstring(b"<delete><object>ARINVOICE</object><keys>5</keys></delete>")
    assert rejected_by_xsd(INVOICE, delete).field is None  # invoices are deleted with delete_invoice only
