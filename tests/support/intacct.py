"""Writing to the emulator as another Intacct client would, over its XML API (not through dbt-intacct)."""

from __future__ import annotations

from lxml import etree
from pydantic import SecretStr

from dbt_intacct.client import Credentials, IntacctClient
from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.xml.request import Function


def demo_client(endpoint: str) -> IntacctClient:
    return IntacctClient(
        Credentials(
            sender_id="demo_sender",
            sender_password=SecretStr("demo_sender_pw"),
            company_id="demo_company",
            user_id="demo_user",
            user_password=SecretStr("demo_password"),
            entity_id=None,
            endpoint=endpoint,
        ),
        timeout=30,
    )


def endpoint_of(emulator: EmulatorAdmin) -> str:
    return str(emulator.health()["url"])


def create_customer_directly(
    emulator: EmulatorAdmin, customer_id: str, name: str, entity: str | None = None
) -> None:
    """Create a customer the way a person or another integration would, before dbt-intacct runs (in
    `entity`'s session when given: the customer is private to that entity)."""
    body = etree.fromstring(
        "<create><CUSTOMER><CUSTOMERID/><NAME/><DISPLAYCONTACT><PRINTAS/></DISPLAYCONTACT></CUSTOMER></create>"
    )
    body.find("CUSTOMER/CUSTOMERID").text = customer_id  # type: ignore[union-attr]
    body.find("CUSTOMER/NAME").text = name  # type: ignore[union-attr]
    body.find("CUSTOMER/DISPLAYCONTACT/PRINTAS").text = name  # type: ignore[union-attr]
    with demo_client(endpoint_of(emulator)) as client:
        results = client.for_entity(entity).execute(
            [Function(controlid=f"seed-{customer_id}", body=body)], uniqueid=False
        )
    (result,) = results.values()
    assert result.ok, result.message
