"""Parsing XML that came from the network, with every dangerous libxml2 feature off.

Refused outright, before and after parsing: any DTD (``<!DOCTYPE``) or entity declaration
(``<!ENTITY``), which is how billion-laughs and XXE attacks arrive; bodies over a size bound;
anything libxml2 cannot parse. Intacct never sends a DTD, so refusing one costs nothing.
"""

from __future__ import annotations

import re

from lxml import etree

# 64 MiB: a page of 2000 query records with a few hundred fields each stays far below this.
MAX_XML_BYTES = 64 * 1024 * 1024

# Looked for anywhere in the raw bytes: in a well-formed document "<!" followed by these words can
# only be a markup declaration (text content would carry "&lt;!"), or sit inside a comment/CDATA
# where refusing is still harmless for Intacct's responses.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class UnsafeXmlError(ValueError):
    """The bytes are not XML we are willing to parse; the message says why, without echoing them."""


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse ``data`` and return its root element, or raise ``UnsafeXmlError``.

    ``max_bytes`` bounds the input; libxml2's own limits (``huge_tree=False``) bound depth and
    text node size.
    """
    if not data.strip():
        raise UnsafeXmlError("the body is empty")
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"the body is {len(data)} bytes, over the {max_bytes}-byte limit")
    if _DECLARATION.search(data):
        raise UnsafeXmlError(
            "the body declares a DTD or entities (<!DOCTYPE/<!ENTITY), which Intacct never sends; "
            "refused to guard against entity expansion and external entity attacks"
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        # exc.msg names the line and the problem, never more than a token of the input.
        raise UnsafeXmlError(f"the body is not well-formed XML ({exc.msg})") from None
    # Belt and braces for encodings the byte scan cannot read (UTF-16 bodies).
    docinfo = root.getroottree().docinfo
    doctype: str = getattr(docinfo, "doctype", "")  # lxml-stubs lack DocInfo.doctype
    if doctype or docinfo.internalDTD is not None:
        raise UnsafeXmlError("the body declares a DTD, which Intacct never sends; refused")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise UnsafeXmlError("the body contains entity references, which Intacct never sends; refused")
    return root
