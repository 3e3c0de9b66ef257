"""The meta.intacct block: every mistake named with model, key and what would be right."""

from __future__ import annotations

from typing import Any

import pytest

from dbt_intacct.dbt.manifest import ManifestModel, merged_meta
from dbt_intacct.sync.sources import ArraySource, ColumnSource, ConstantSource, TemplateSource
from dbt_intacct.sync.spec import SpecProblems, check_columns, parse_specs


def model(meta: dict[str, Any], name: str = "intacct_customers") -> ManifestModel:
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


CUSTOMER = {
    "object": "customer",
    "mode": "upsert",
    "primary_key": "customer_code",
    "mapping": {
        "CUSTOMERID": "customer_code",
        "NAME": "customer_name",
        "DISPLAYCONTACT.PRINTAS": "customer_name",
    },
}


def problems_of(meta: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecProblems) as caught:
        parse_specs([model(meta)])
    return caught.value.problems


def test_a_valid_block_parses_with_defaults() -> None:
    (spec,) = parse_specs([model(CUSTOMER)])
    assert spec.mode == "upsert"
    assert spec.delete == "nothing"
    assert spec.connection == "default"
    assert spec.primary_key == ("customer_code",)
    # upsert without `match` matches on the object's ID field, fed by the column mapped to it.
    assert spec.match is not None and (spec.match.column, spec.match.field) == ("customer_code", "CUSTOMERID")
    assert spec.mapping["NAME"] == ColumnSource("customer_name")
    assert len(spec.fingerprint) == 16


def test_constants_templates_and_arrays() -> None:
    meta = {
        "object": "journal_entry",
        "primary_key": "entry_id",
        "mapping": {
            "JOURNAL": {"value": "GJ"},
            "BATCH_DATE": "posting_date",
            "BATCH_TITLE": {"template": "Accrual [[ row.period ]] for [[ row['entity'] ]]"},
            "ENTRIES": {"array": "lines", "mapping": {"ACCOUNTNO": "account", "AMOUNT": "amount"}},
        },
    }
    (spec,) = parse_specs([model(meta, "je")])
    assert spec.mode == "insert"
    assert spec.mapping["JOURNAL"] == ConstantSource("GJ")
    title = spec.mapping["BATCH_TITLE"]
    assert isinstance(title, TemplateSource) and title.columns == {"period", "entity"}
    entries = spec.mapping["ENTRIES"]
    assert isinstance(entries, ArraySource) and entries.column == "lines"
    assert spec.referenced_columns() == {"entry_id", "posting_date", "period", "entity", "lines"}


def test_a_template_reading_the_whole_row_hashes_every_column() -> None:
    meta = {**CUSTOMER, "mapping": {**CUSTOMER["mapping"], "COMMENTS": {"template": "[[ row | length ]]"}}}
    (spec,) = parse_specs([model(meta)])
    assert spec.referenced_columns() is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"object": "customr"}, "key 'object': unknown object 'customr'; did you mean 'customer'?"),
        (
            {"mode": "delete"},
            "key 'mode': customer does not allow mode 'delete'; it allows: insert, update, upsert",
        ),
        (
            {"object": "journal_entry", "mode": "upsert"},
            "journal_entry does not allow mode 'upsert'; it allows: insert",
        ),
        ({"delete": "purge"}, "key 'delete': customer does not allow delete behaviour 'purge'"),
        ({"primary_key": None}, "key 'primary_key': required"),
        ({"maping": {}}, "key 'maping': unknown key; did you mean 'mapping'?"),
        ({"match": {"column": "customer_code", "field": "CUSTOMER_ID"}}, "did you mean 'CUSTOMERID'"),
        (
            {"mapping": {**CUSTOMER["mapping"], "COMMENTS": {"template": "[[ row.x "}}},
            "template syntax error",
        ),
        (
            {"mapping": {**CUSTOMER["mapping"], "COMMENTS": {"template": "[[ env.HOME ]]"}}},
            "templates see only row",
        ),
        ({"mapping": {**CUSTOMER["mapping"], "COMMENTS": 12}}, "write {value: 12} for a constant"),
        (
            {"custom_fields": {"REGION": "segment"}, "object": "contact"},
            "contact does not take custom fields",
        ),
        ({"batch_size": 0}, "key 'batch_size': must be a whole number from 1 to 500"),
    ],
)
def test_each_mistake_names_the_model_the_key_and_the_fix(change: dict[str, Any], expected: str) -> None:
    meta = {**CUSTOMER, **change}
    if change.get("primary_key", "") is None:
        del meta["primary_key"]
    problems = problems_of(meta)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("model 'intacct_customers'") for p in problems), problems


def test_an_unknown_field_suggests_the_closest_names() -> None:
    problems = problems_of({**CUSTOMER, "mapping": {**CUSTOMER["mapping"], "CUSTOMER_NAME": "customer_name"}})
    assert any("unknown field 'CUSTOMER_NAME' on customer; did you mean NAME?" in p for p in problems), (
        problems
    )


def test_an_unknown_line_field_suggests_the_closest_names() -> None:
    meta = {
        "object": "journal_entry",
        "primary_key": "entry_id",
        "mapping": {
            "JOURNAL": {"value": "GJ"},
            "BATCH_DATE": "posting_date",
            "BATCH_TITLE": "title",
            "ENTRIES": {"array": "lines", "mapping": {"ACOUNTNO": "account", "AMOUNT": "amount"}},
        },
    }
    problems = problems_of(meta)
    expected = "unknown field 'ACOUNTNO' on ENTRIES lines of journal_entry; did you mean ACCOUNTNO"
    assert any(expected in p for p in problems), problems


def test_all_problems_of_all_models_are_reported_at_once() -> None:
    with pytest.raises(SpecProblems) as caught:
        parse_specs([model({**CUSTOMER, "mode": "nope"}, "a"), model({**CUSTOMER, "delete": "x"}, "b")])
    text = str(caught.value)
    assert "2 problems" in text and "model 'a'" in text and "model 'b'" in text


def test_columns_are_checked_against_the_relation_case_insensitively() -> None:
    (spec,) = parse_specs([model(CUSTOMER)])
    fixed, problems = check_columns(spec, ["CUSTOMER_CODE", "Customer_Name"])
    assert problems == []
    assert fixed.primary_key == ("CUSTOMER_CODE",)
    assert fixed.mapping["NAME"] == ColumnSource("Customer_Name")
    _, problems = check_columns(spec, ["customer_code", "customer_nam"])
    assert problems == [
        "model 'intacct_customers', key 'mapping.NAME': column 'customer_name' is not in the relation; "
        "did you mean 'customer_nam'?",
        "model 'intacct_customers', key 'mapping.DISPLAYCONTACT.PRINTAS': column 'customer_name' is not in "
        "the relation; did you mean 'customer_nam'?",
    ]


def test_defaults_merge_under_the_model_block() -> None:
    node = {
        "config": {
            "meta": {
                "intacct_defaults": {
                    "connection": "eu",
                    "delete": "clear",
                    "mapping": {"STATUS": {"value": "active"}},
                },
                "intacct": {"object": "customer", "mapping": {"NAME": "n"}},
            }
        }
    }
    merged = merged_meta(node)
    assert merged == {
        "connection": "eu",
        "delete": "clear",
        "mapping": {"STATUS": {"value": "active"}, "NAME": "n"},
        "object": "customer",
    }
    assert merged_meta({"config": {"meta": {"other": 1}}}) is None
