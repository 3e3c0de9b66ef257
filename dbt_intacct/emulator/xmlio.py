"""Reading requests safely and writing Intacct-shaped XML."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from dbt_intacct.emulator.gateway_errors import GatewayError

_HOSTILE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    # Entity expansion, DTD loading and network access are all off; comments and processing
    # instructions are dropped so they cannot hide between elements the gateway reads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        dtd_validation=False,
    )


class UnreadableXml(Exception):
    """The body is not a document the gateway will read."""


def parse_request_body(body: bytes) -> etree._Element:
    """The root element of a request body; refuses DTDs, entity declarations and malformed XML."""
    if not body.strip():
        raise UnreadableXml("The request body is empty.")
    if _HOSTILE.search(body):
        raise UnreadableXml("DOCTYPE and ENTITY declarations are not allowed in a request.")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnreadableXml(f"The request is not well-formed XML: {exc.msg}") from exc
    except ValueError as exc:  # lxml refuses some encodings and unicode input this way
        raise UnreadableXml(f"The request cannot be read as XML: {exc}") from exc
    return root


def child(element: etree._Element, tag: str) -> etree._Element | None:
    """The first child element with this tag."""
    for node in element:
        if node.tag == tag:
            return node
    return None


def child_text(element: etree._Element, tag: str) -> str | None:
    """The stripped text of the first child with this tag; None when the child is absent."""
    node = child(element, tag)
    if node is None:
        return None
    return (node.text or "").strip()


def sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    """Append a child element with optional text and attributes."""
    node = etree.SubElement(parent, tag, attributes)
    if text is not None:
        node.text = text
    return node


def write_value(parent: etree._Element, tag: str, value: Any) -> None:
    """Write a stored value: text, a group of fields, or a list of repeated elements."""
    if isinstance(value, dict):
        node = etree.SubElement(parent, tag)
        for name, inner in value.items():
            write_value(node, name, inner)
    elif isinstance(value, list):
        for item in value:
            write_value(parent, tag, item)
    else:
        etree.SubElement(parent, tag).text = "" if value is None else str(value)


def write_errors(parent: etree._Element, errors: tuple[GatewayError, ...] | list[GatewayError]) -> None:
    """An ``<errormessage>`` block with one ``<error>`` per error."""
    block = etree.SubElement(parent, "errormessage")
    for error in errors:
        node = etree.SubElement(block, "error")
        sub(node, "errorno", error.errorno)
        sub(node, "description", error.description)
        sub(node, "description2", error.description2)
        sub(node, "correction", error.correction)


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def serialise(root: etree._Element, pretty: bool = False) -> bytes:
    """A response document in UTF-8 with its declaration."""
    return _DECLARATION + bytes(etree.tostring(root, encoding="UTF-8", pretty_print=pretty))
