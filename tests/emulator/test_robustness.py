"""Mutated versions of real requests always get an Intacct-shaped answer: never an HTTP 500, a hang or
a dropped connection. The mutations are seeded, so a failure can be replayed."""

from __future__ import annotations

import random
import re

import pytest
from lxml import etree

from dbt_intacct.emulator import EmulatorAdmin
from tests.emulator.support import (
    CAPTURED,
    VECTORS,
    GatewayClient,
    customer_xml,
    envelope,
    function,
    invoice_xml,
)

ODD_VALUES = [
    *("", " ", "-1", "0", "abc", "99999999999999999999999", "1e400", "NaN", "12/40/2024", "2024-01-01"),
    *("\u00e9\u00e8 \u4e2d\u6587", "a" * 3000, "true", "Sales Order-SO0001", "'", "%", "100,101"),
]


def _bodies() -> list[str]:
    """Function bodies taken from the captured requests and the function vectors."""
    found = []
    for path in sorted(CAPTURED.glob("*.xml")):
        root = etree.fromstring(path.read_bytes())
        found += [etree.tostring(node[0], encoding="unicode") for node in root.iter("function") if len(node)]
    for path in sorted(VECTORS.glob("*.xml")):
        root = etree.fromstring(path.read_bytes())
        if root.tag == "function" and len(root):
            found.append(etree.tostring(root[0], encoding="unicode"))
    return [body for body in found if "getAPISession" not in body]


def _mutate(body: str, rng: random.Random) -> str:
    root = etree.fromstring(body)
    nodes = list(root.iter())
    for _ in range(rng.randint(1, 3)):
        node = rng.choice(nodes)
        action = rng.randrange(5)
        if action == 0 and node is not root and node.getparent() is not None:
            node.getparent().remove(node)  # type: ignore[union-attr]
        elif action == 1:
            node.text = rng.choice(ODD_VALUES)
        elif action == 2 and node.getparent() is not None:
            node.getparent().append(etree.fromstring(etree.tostring(node)))  # type: ignore[union-attr]
        elif action == 3:
            etree.SubElement(node, rng.choice(["x", "RECORDNO", "lineitem", "ENTRIES", "year"])).text = "1"
        else:
            for name in list(node.attrib):
                node.set(name, rng.choice(ODD_VALUES))
        nodes = list(root.iter())
    return etree.tostring(root, encoding="unicode")


@pytest.mark.parametrize("seed", range(8))
def test_mutated_requests_get_an_intacct_answer(gw: GatewayClient, admin: EmulatorAdmin, seed: int) -> None:
    rng = random.Random(seed)
    gw.create(customer_xml("C-LEG") + customer_xml("CUSTOMER1") + customer_xml("23530")).ok()
    gw.one(invoice_xml("C-LEG")).ok()
    bodies = _bodies()
    for round_number in range(25):
        chosen = [_mutate(rng.choice(bodies), rng) for _ in range(rng.randint(1, 4))]
        transaction = rng.random() < 0.3
        request = envelope(
            "".join(function(body) for body in chosen), session=gw.session_id, transaction=transaction
        )
        response = gw.http.post(gw.url, data=request, timeout=30)
        where = f"seed {seed} round {round_number}: {chosen}"
        assert response.status_code == 200, where
        reply = etree.fromstring(response.content)
        assert reply.findtext("control/status") == "success", where
        results = reply.findall("operation/result")
        assert len(results) == len(chosen), where
        for result in results:
            assert result.findtext("status") in ("success", "failure", "aborted"), where
            for error in result.iter("error"):
                assert error.findtext("description2"), where
    assert re.fullmatch(r"\d+", str(admin.stats()["requests"]))
