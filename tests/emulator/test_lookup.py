"""``lookup``: the company's definition of an object, from the catalogue and the reference data."""

from __future__ import annotations

from lxml import etree

from dbt_intacct.emulator import EmulatorAdmin
from tests.emulator.support import GatewayClient


def definition(gw: GatewayClient, object_name: str) -> dict[str, dict[str, object]]:
    result = gw.one(f"<lookup><object>{object_name}</object></lookup>").ok()
    data = result.data
    assert data is not None
    types = data.findall("Type")
    assert len(types) == 1 and types[0].get("Name") == object_name
    fields: dict[str, dict[str, object]] = {}
    for field in types[0].iterfind("Fields/Field"):
        entry: dict[str, object] = {child.tag: child.text for child in field if child.tag != "VALIDVALUES"}
        entry["VALIDVALUES"] = [v.text for v in field.iterfind("VALIDVALUES/VALIDVALUE")]
        fields[str(entry["ID"])] = entry
    return fields


def test_lookup_lists_standard_fields_with_types_required_and_read_only(gw: GatewayClient) -> None:
    fields = definition(gw, "CUSTOMER")
    assert fields["NAME"]["REQUIRED"] == "true" and fields["NAME"]["ISCUSTOM"] == "false"
    assert fields["DISPLAYCONTACT.EMAIL1"]["DATATYPE"] == "TEXT"
    assert fields["DISPLAYCONTACT.MAILADDRESS.CITY"]["READONLY"] == "false"
    assert fields["RECORDNO"]["READONLY"] == "true" and fields["RECORDNO"]["DATATYPE"] == "INTEGER"
    assert fields["CREDITLIMIT"]["DATATYPE"] == "DECIMAL"
    assert fields["STATUS"]["VALIDVALUES"] == ["active", "inactive"]
    assert fields["COMMENTS"]["REQUIRED"] == "false"


def test_lookup_lists_the_custom_fields_the_reference_data_declares(
    gw: GatewayClient, admin: EmulatorAdmin
) -> None:
    assert definition(gw, "CUSTOMER")["REGION"]["ISCUSTOM"] == "true"
    assert "REGON" not in definition(gw, "CUSTOMER")
    reference = admin.reference()
    admin.set_reference({**reference, "custom_fields": {**reference["custom_fields"], "CUSTOMER": ["REGON"]}})
    fields = definition(gw, "CUSTOMER")
    assert fields["REGON"]["ISCUSTOM"] == "true"
    assert "REGION" not in fields


def test_lookup_of_an_unknown_object_fails_that_function_only(gw: GatewayClient) -> None:
    reply = gw.call(
        "<function controlid='a'><lookup><object>NOSUCHTHING</object></lookup></function>",
        "<function controlid='b'><lookup><object>GLBATCH</object></lookup></function>",
    )
    first, second = reply.results
    assert first.status == "failure" and "NOSUCHTHING" in first.message
    assert second.status == "success"
    assert etree.tostring(second.data).count(b"<ISCUSTOM>true</ISCUSTOM>") == 1  # SOURCE_SYSTEM


def test_lookup_spends_no_api_transaction(gw: GatewayClient, admin: EmulatorAdmin) -> None:
    before = admin.stats()["api_transactions"]
    definition(gw, "CONTACT")
    assert admin.stats()["api_transactions"] == before
