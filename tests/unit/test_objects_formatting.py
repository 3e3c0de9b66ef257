"""How values are written: dates in both styles, money rounding, booleans, statuses, multiselects, and
Unicode that must come back exactly after a trip through the serialized XML."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from dbt_intacct.objects import get_object

CUSTOMER = get_object("customer")
JOURNAL = get_object("journal_entry")
INVOICE = get_object("invoice")


def customer_field(path: str, value: Any) -> etree._Element | None:
    body = CUSTOMER.build_create({"CUSTOMERID": "C1", "NAME": "Acme", path: value}, {})
    return body.find("CUSTOMER/" + path.replace(".", "/"))


def customer_text(path: str, value: Any) -> str | None:
    element = customer_field(path, value)
    assert element is not None
    return element.text


def journal(batch_date: Any, amounts: tuple[Any, ...] = ("10", "-10")) -> etree._Element:
    lines = [{"ACCOUNTNO": "6000", "AMOUNT": amount} for amount in amounts]
    return JOURNAL.build_create(
        {"JOURNAL": "GJ", "BATCH_DATE": batch_date, "BATCH_TITLE": "t", "ENTRIES": lines}, {}
    )


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        date(2024, 5, 1),
        datetime(2024, 5, 1, 23, 59, 59),
        datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=-7))),
        "2024-05-01",
        "2024-05-01T10:00:00",
        "2024-05-01 10:00:00+02:00",
        " 2024-05-01 ",
        "05/01/2024",
    ],
)
def test_generic_dates_are_mm_dd_yyyy(value: Any) -> None:
    assert journal(value).findtext("GLBATCH/BATCH_DATE") == "05/01/2024"


@pytest.mark.parametrize("value", [date(2024, 1, 9), "2024-01-09", datetime(2024, 1, 9, 12, 30)])
def test_legacy_dates_are_split_and_zero_padded(value: Any) -> None:
    body = INVOICE.build_create(
        {
            "customerid": "C1",
            "datecreated": value,
            "termname": "N30",
            "invoiceitems": [{"glaccountno": "4000", "amount": 1}],
        },
        {},
    )
    created = body.find("datecreated")
    assert [(child.tag, child.text) for child in created] == [
        ("year", "2024"),
        ("month", "01"),
        ("day", "09"),
    ]


def test_year_before_1000_keeps_four_digits() -> None:
    assert journal(date(999, 12, 31)).findtext("GLBATCH/BATCH_DATE") == "12/31/0999"


# --- money ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1 + 0.2, "0.30"),  # no binary artefacts
        (2.675, "2.68"),  # half-up on the decimal the float prints as (float rounding would give 2.67)
        (Decimal("0.125"), "0.13"),
        (Decimal("-0.125"), "-0.13"),  # half away from zero
        (Decimal("-0.001"), "0.00"),  # never "-0.00"
        ("1234.5", "1234.5"),  # two decimals or fewer are sent as given
        ("75", "75"),
        (Decimal("1450.80"), "1450.80"),
        (Decimal("1E+3"), "1000"),  # never an exponent
        (1e-7, "0.00"),
        (100, "100"),
        (" 12.345 ", "12.35"),
    ],
)
def test_money_rounds_half_up_to_cents(value: Any, expected: str) -> None:
    assert customer_text("CREDITLIMIT", value) == expected


def test_journal_amounts_are_rounded_before_they_are_balanced() -> None:
    body = journal("2024-05-01", (0.1 + 0.2, Decimal("-0.304")))  # 0.30 and -0.30 once rounded
    amounts = [line.findtext("TRX_AMOUNT") for line in body.iterfind("GLBATCH/ENTRIES/GLENTRY")]
    directions = [line.findtext("TR_TYPE") for line in body.iterfind("GLBATCH/ENTRIES/GLENTRY")]
    assert amounts == ["0.30", "0.30"]
    assert directions == ["1", "-1"]


def test_quantities_and_prices_are_not_rounded() -> None:
    transaction = get_object("transaction")
    body = transaction.build_create(
        {
            "transactiontype": "Sales Order",
            "datecreated": "2024-05-01",
            "customerid": "C1",
            "sotransitems": [{"itemid": "WIDGET", "quantity": Decimal("2.5000"), "price": 0.12345}],
        },
        {},
    )
    assert body.findtext("sotransitems/sotransitem/quantity") == "2.5000"
    assert body.findtext("sotransitems/sotransitem/price") == "0.12345"


# --- booleans, statuses, choices, multiselects ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), ("T", "true"), ("no", "false"), (1, "true"), ("FALSE", "false")],
)
def test_booleans_are_true_or_false(value: Any, expected: str) -> None:
    assert customer_text("ONHOLD", value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "active"), (False, "inactive"), ("Active", "active"), ("INACTIVE", "inactive"), ("t", "active")],
)
def test_status_is_active_or_inactive(value: Any, expected: str) -> None:
    assert customer_text("STATUS", value) == expected


def test_choices_take_intacct_spelling() -> None:
    assert customer_text("OBJECTRESTRICTION", "rootonly") == "RootOnly"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["100", "200"], "100#~#200"),
        (("100", 200, None), "100#~#200"),
        ("100#~#200", "100#~#200"),
        ([], None),  # an empty list is an empty element
    ],
)
def test_multiselect_joins_with_separator(value: Any, expected: str | None) -> None:
    assert customer_text("RESTRICTEDLOCATIONS", value) == expected


def test_multiselect_choices_are_checked_per_value() -> None:
    assert customer_text("DELIVERYOPTIONS", ["print", "E-Mail"]) == "Print#~#E-Mail"


def test_none_omits_and_empty_string_writes_an_empty_element() -> None:
    body = CUSTOMER.build_create({"CUSTOMERID": "C1", "NAME": "Acme", "COMMENTS": None, "TERMNAME": ""}, {})
    assert body.find("CUSTOMER/COMMENTS") is None
    empty = body.find("CUSTOMER/TERMNAME")
    assert empty is not None and not empty.text and len(empty) == 0


def test_text_fields_accept_numbers_without_artefacts() -> None:
    assert customer_text("RESALENO", 123) == "123"
    assert customer_text("RESALENO", Decimal("12.50")) == "12.50"
    assert customer_text("RESALENO", 0.1 + 0.2) == "0.30000000000000004"  # text is not money: kept exact


# --- Unicode --------------------------------------------------------------------------------------

UNICODE = [
    "Zürich & Söhne <GmbH>",
    "株式会社テスト",
    "Ελληνικά \u2013 \u201cquotes\u201d \u2018and\u2019 dashes",
    "עברית ومرحبا",  # right-to-left
    "e\u0301 combining, \u00a0nbsp, \u200b zero width",
    "emoji 🧾💶 and astral \U0001d518\U0001d52b\U0001d526",
    "tab\tnew\nline\r\nreturn",
    "\ue000 private use, \ufffd replacement",
    "]]> and &amp; literally",
]


@pytest.mark.parametrize("text", UNICODE)
def test_unicode_round_trips_exactly(text: str) -> None:
    body = CUSTOMER.build_create({"CUSTOMERID": "C1", "NAME": "n", "COMMENTS": text}, {"REGION": text})
    wire = etree.tostring(body, encoding="UTF-8")
    parsed = etree.fromstring(wire)
    assert parsed.findtext("CUSTOMER/COMMENTS") == text
    assert parsed.findtext("CUSTOMER/REGION") == text


def test_unicode_round_trips_in_legacy_custom_fields() -> None:
    text = UNICODE[5]
    body = INVOICE.build_create(
        {
            "customerid": "C1",
            "datecreated": "2024-05-01",
            "termname": "N30",
            "invoiceitems": [{"glaccountno": "4000", "amount": 1, "customfields": {"NOTE": text}}],
        },
        {"PROJECT": text},
    )
    parsed = etree.fromstring(etree.tostring(body, encoding="UTF-8"))
    assert parsed.findtext("customfields/customfield/customfieldvalue") == text
    assert parsed.findtext("invoiceitems/lineitem/customfields/customfield/customfieldvalue") == text


def test_datetime_fields() -> None:
    from dbt_intacct.objects import FieldSpec, FieldType
    from dbt_intacct.objects.formatting import format_value

    spec = FieldSpec(path="WHEN", type=FieldType.DATETIME)
    assert format_value(spec, datetime(2024, 5, 1, 7, 8, 9)) == "05/01/2024 07:08:09"
    assert format_value(spec, date(2024, 5, 1)) == "05/01/2024 00:00:00"
    assert format_value(spec, "2024-05-01T23:59:58+02:00") == "05/01/2024 23:59:58"
