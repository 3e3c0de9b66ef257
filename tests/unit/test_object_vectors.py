"""Every object vector from the official SDKs' unit tests, rebuilt through the public builders from the
vector's neutral `fields`, compared with the SDK's XML as parsed trees (element order included).

The vectors sometimes carry empty required elements (`<glaccountno/>`, empty `TRX_AMOUNT`) that a real row
would be rejected for: those are rendered with `check=False`, and the same input with the checks on must be
rejected naming that field. Every other vector must also come out identical with the checks (and the XSD)
on.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from dbt_intacct.errors import RowRejected
from dbt_intacct.objects import OBJECTS, IntacctObject, RecordRef

VECTORS = Path(os.environ.get("INTACCT_VECTORS", "/work/shared/intacct/vectors"))
OBJECT_PREFIXES = (
    "customer_",
    "contact_",
    "invoice_",
    "ar_adjustment_",
    "ar_payment_",
    "journal_entry_",
    "transaction_",
)
BY_INTACCT_NAME = {obj.intacct_object: obj for obj in OBJECTS.values()}

# Vectors whose XML holds an empty required element: with the checks on, the row is refused there.
REJECTED_WITH_CHECKS = {
    "ar_adjustment_create_full": "aradjustmentitems[0].glaccountno",
    "invoice_create_full": "invoiceitems[0].glaccountno",
    "invoice_update_full": "invoiceitems[1].glaccountno",
    "journal_entry_create_header": "ENTRIES[0].ACCOUNTNO",
    "journal_entry_line_credit": "ENTRIES[0].ACCOUNTNO",
}

_SEGMENT = re.compile(r"^([^\[\]]+)(?:\[(\d+)\])?$")


def vector_names() -> list[str]:
    names = sorted(p.stem for p in VECTORS.glob("*.json") if p.stem.startswith(OBJECT_PREFIXES))
    assert len(names) >= 20, f"object vectors missing from {VECTORS}"
    return names


def load(name: str) -> tuple[dict[str, Any], etree._Element]:
    spec = json.loads((VECTORS / f"{name}.json").read_text())
    xml = etree.parse(str(VECTORS / f"{name}.xml")).getroot()
    expected = xml[0] if xml.tag == "function" else xml  # fragments (one GLENTRY, one lineitem) are bare
    return spec, expected


def canonical(element: etree._Element) -> Any:
    """Tag, attributes, stripped text (None == ""), children in order."""
    return (
        element.tag,
        dict(element.attrib),
        (element.text or "").strip(),
        [canonical(child) for child in element if isinstance(child.tag, str)],
    )


# --- from the vectors' neutral form to builder input ----------------------------------------------


def nest(fields: dict[str, Any]) -> dict[str, Any]:
    """`a/b[0]/c` paths into nested dicts and lists (lists keyed by `name[]` until resolved)."""
    root: dict[str, Any] = {}
    for path, value in fields.items():
        node = root
        segments = path.split("/")
        for position, segment in enumerate(segments):
            match = _SEGMENT.match(segment)
            assert match, segment
            name, index = match[1], match[2]
            last = position == len(segments) - 1
            if index is None:
                if last:
                    node[name] = value
                else:
                    node = node.setdefault(name, {})
            else:
                items = node.setdefault(f"{name}[]", [])
                while len(items) <= int(index):
                    items.append({})
                node = items[int(index)]
                assert not last
    return root


def to_values(node: dict[str, Any]) -> dict[str, Any]:
    """Nested vector dict -> builder values: line wrappers become the array key, one dict per line."""
    values: dict[str, Any] = {}
    for key, value in node.items():
        if key.endswith("[]"):
            # a bare repeated element (arpaymentitem): the array key is the element itself
            values[key[:-2]] = [to_values(item) for item in value]
        elif isinstance(value, dict) and len(value) == 1 and next(iter(value)).endswith("[]"):
            # <wrapper><item/>...</wrapper>: the mapping key is the wrapper
            (items,) = value.values()
            values[key] = [to_values(item) for item in items]
        elif isinstance(value, dict) and key != "customfields":
            for inner, inner_value in to_values(value).items():
                values[f"{key}.{inner}"] = inner_value
        else:
            values[key] = value
    return values


def split_custom(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for name in spec.get("generic_custom_fields", []):
        custom[name] = values.pop(name)
    if "customfields" in spec.get("legacy_custom_fields_at", []) and "customfields" in values:
        custom.update(values.pop("customfields"))
    return custom


def build_from_vector(obj: IntacctObject, spec: dict[str, Any], *, check: bool) -> etree._Element:
    fields = dict(spec["fields"])
    function = spec["function"]
    if function.startswith("delete"):
        return obj.build_delete(delete_ref(spec, fields))
    attributes = {k[1:]: fields.pop(k) for k in list(fields) if k.startswith("@")}
    nested = nest(fields)
    existing_lines: dict[str, int] = {}
    for wrapper, key, update_item, new_item in (
        ("updateinvoiceitems", "invoiceitems", "updatelineitem[]", "lineitem[]"),
        ("updatesotransitems", "sotransitems", "updatesotransitem[]", "sotransitem[]"),
        ("updatesubtotals", "subtotals", "updatesubtotal[]", None),
    ):
        if wrapper in nested:
            group = nested.pop(wrapper)
            updates = group.get(update_item, [])
            for position, line in enumerate(updates, start=1):
                assert line.pop("@line_num", str(position)) == str(position)
            if new_item is not None:
                existing_lines[key] = len(updates)
            nested[key] = {"line[]": updates + (group.get(new_item, []) if new_item else [])}
    values = to_values(nested)
    for line in values.get("ENTRIES", []):
        # GLENTRY lines are mapped with a signed AMOUNT; TR_TYPE and TRX_AMOUNT are derived from it.
        direction, amount = line.pop("TR_TYPE"), line.pop("TRX_AMOUNT")
        line["AMOUNT"] = amount if amount == "" else ("-" if direction == "-1" else "") + amount
    custom = split_custom(spec, values)
    if spec["operation"] == "update":
        ref = update_ref(spec, attributes)
        return obj.build_update(ref, values, custom, existing_lines=existing_lines or None, check=check)
    return obj.build_create(values, custom, check=check)


def update_ref(spec: dict[str, Any], attributes: dict[str, str]) -> RecordRef:
    if attributes.get("externalkey") == "true":
        return RecordRef(external_id=attributes["key"])
    if "key" in attributes:
        return (
            RecordRef(id=attributes["key"])
            if spec["key_field"].startswith("DOCID")
            else RecordRef(recordno=attributes["key"])
        )
    return RecordRef(id=spec["fields"][spec["key_field"]])


def delete_ref(spec: dict[str, Any], fields: dict[str, Any]) -> RecordRef:
    if spec["function"] == "delete":
        return RecordRef(recordno=fields["keys"])
    (attribute,) = [k for k in fields if k.startswith("@")]
    key = fields[attribute]
    return RecordRef(recordno=key) if spec["key_field"] == "RECORDNO" else RecordRef(id=key)


def build_fragment(obj: IntacctObject, spec: dict[str, Any], *, check: bool) -> etree._Element:
    """A one-line vector built inside a whole function; the line element is returned."""
    line = to_values(nest(spec["fields"]))
    if spec["object"] == "GLBATCH.GLENTRY":
        line.pop("TR_TYPE")
        line.pop("TRX_AMOUNT")
        line["AMOUNT"] = spec["signed_amount"]
        custom = {name: line.pop(name) for name in spec.get("generic_custom_fields", [])}
        if custom:
            line["customfields"] = custom
        balancing = {"ACCOUNTNO": "1000", "AMOUNT": -spec["signed_amount"]}
        body = obj.build_create(
            {"JOURNAL": "GJ", "BATCH_DATE": "2016-06-30", "BATCH_TITLE": "t", "ENTRIES": [line, balancing]},
            {},
            check=check,
        )
        return body.find("GLBATCH/ENTRIES/GLENTRY")
    assert spec["object"] == "ARINVOICE.lineitem"
    body = obj.build_create(
        {"customerid": "C1", "datecreated": "2016-06-30", "termname": "N30", "invoiceitems": [line]},
        {},
        check=check,
    )
    return body.find("invoiceitems/lineitem")


def build(name: str, *, check: bool) -> tuple[etree._Element, etree._Element]:
    spec, expected = load(name)
    obj = BY_INTACCT_NAME[spec["object"].split(".")[0]]
    if "." in spec["object"]:
        return build_fragment(obj, spec, check=check), expected
    return build_from_vector(obj, spec, check=check), expected


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", vector_names())
def test_vector_renders_exactly(name: str) -> None:
    built, expected = build(name, check=False)
    assert canonical(built) == canonical(expected)


@pytest.mark.parametrize("name", vector_names())
def test_vector_with_checks_on(name: str) -> None:
    if name in REJECTED_WITH_CHECKS:
        with pytest.raises(RowRejected) as caught:
            build(name, check=True)
        assert caught.value.field == REJECTED_WITH_CHECKS[name]
        assert "missing required field" in caught.value.reason
    else:
        built, expected = build(name, check=True)
        assert canonical(built) == canonical(expected)


def test_every_object_has_vectors() -> None:
    covered: dict[str, int] = defaultdict(int)
    for name in vector_names():
        spec, _ = load(name)
        covered[BY_INTACCT_NAME[spec["object"].split(".")[0]].name] += 1
    assert set(covered) == set(OBJECTS)
