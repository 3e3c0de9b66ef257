"""Parsing XML that came from the network, with every dangerous libxml2 feature off.

Refused outright, before and after parsing: any DTD (``<!DOCTYPE``) or entity declaration
(``<!ENTITY``), which is how billion-laughs and XXE attacks arrive; bodies over a size bound;
anything libxml2 cannot parse. Intacct never sends a DTD, so refusing one costs nothing.

Also here, for describing what was refused: the text encoding of a body (a BOM, the XML declaration)
and whether it is an HTML page rather than XML.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lxml import etree

# 32 MiB: the tool's largest answers (ten query pages of 2000 records of a few fields, or 500 writes)
# stay below 4 MiB. Parsing holds an answer about twice (see xml.response), so eight in flight, the
# most a connection's concurrency allows, hold at most about 512 MiB.
MAX_XML_BYTES = 32 * 1024 * 1024

# Looked for anywhere in the text: in a well-formed document "<!" followed by these words can only be a
# markup declaration (text content would carry "&lt;!"), or sit inside a comment/CDATA where refusing
# is still harmless for Intacct's responses.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_TEXT_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# A page that says it is HTML: an HTML doctype (no internal subset) or an <html> root, after an
# optional XML declaration and comments.
_HTML_START = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html\b[^\[>]*>|<html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Byte order marks; UTF-32 first, as its little-endian mark begins with UTF-16's.
_SIGNATURES = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE = frozenset({"utf-32", "utf-32-be", "utf-32-le", "utf-16", "utf-16-be", "utf-16-le"})

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


class UnsafeXmlError(ValueError):
    """The bytes are not XML we are willing to parse; the message says why, without echoing them."""


def _wide_without_bom(sample: bytes) -> str | None:
    """UTF-32 or UTF-16 told by where the NUL bytes of mostly-ASCII text fall, or None."""
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    sample = sample[: len(sample) // 4 * 4]
    nuls = [sum(1 for byte in sample[offset::4] if byte == 0) * 4 / len(sample) for offset in range(4)]
    if min(nuls[1:]) > 0.9 and nuls[0] < 0.1:
        return "utf-32-le"
    if min(nuls[:3]) > 0.9 and nuls[3] < 0.1:
        return "utf-32-be"
    odd, even = (nuls[1] + nuls[3]) / 2, (nuls[0] + nuls[2]) / 2
    if odd > 0.9 and even < 0.1:
        return "utf-16-le"
    if even > 0.9 and odd < 0.1:
        return "utf-16-be"
    return None


def sniff_encoding(data: bytes) -> str:
    """The Python codec of ``data``: from a byte order mark, the NUL bytes of a wide encoding, or the
    XML declaration; UTF-8 otherwise (also for a codec Python does not know)."""
    for signature, encoding in _SIGNATURES:
        if data.startswith(signature):
            return encoding
    wide = _wide_without_bom(data[:64])
    if wide:
        return wide
    declared = _XML_ENCODING.match(data[:1024])
    if declared:
        try:
            return codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            pass
    return "utf-8"


def decode_text(data: bytes) -> str:
    """``data`` as text in its own encoding (``sniff_encoding``), undecodable bytes replaced."""
    return data.decode(sniff_encoding(data), errors="replace")


def is_html_page(data: bytes) -> bool:
    """True when ``data`` starts like an HTML page (an HTML doctype or an ``<html>`` root)."""
    return bool(_HTML_START.match(decode_text(data[:4096])))


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(**_PARSER_OPTIONS)


def _check_before(data: bytes, max_bytes: int) -> None:
    if not data.strip():
        raise UnsafeXmlError("the body is empty")
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"the body is {len(data)} bytes, over the {max_bytes}-byte limit")
    # A wide encoding hides the declarations from the byte scan: its prolog is decoded and scanned.
    declares = (
        _TEXT_DECLARATION.search(decode_text(data[:65536]))
        if sniff_encoding(data) in _WIDE
        else _DECLARATION.search(data)
    )
    if declares:
        raise UnsafeXmlError(
            "the body declares a DTD or entities (<!DOCTYPE/<!ENTITY), which Intacct never sends; "
            "refused to guard against entity expansion and external entity attacks"
        )


def _check_document(tree: etree._ElementTree) -> None:
    """Belt and braces for what the scan cannot see (a prolog longer than the part scanned)."""
    docinfo = tree.docinfo
    doctype: str = getattr(docinfo, "doctype", "")  # lxml-stubs lack DocInfo.doctype
    if doctype or docinfo.internalDTD is not None:
        raise UnsafeXmlError("the body declares a DTD, which Intacct never sends; refused")


def parse_untrusted_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse ``data`` and return its root element, or raise ``UnsafeXmlError``.

    ``max_bytes`` bounds the input; libxml2's own limits (``huge_tree=False``) bound depth and
    text node size.
    """
    _check_before(data, max_bytes)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        # exc.msg names the line and the problem, never more than a token of the input.
        raise UnsafeXmlError(f"the body is not well-formed XML ({exc.msg})") from None
    _check_document(root.getroottree())
    if any(True for _ in root.iter(etree.Entity)):
        raise UnsafeXmlError("the body contains entity references, which Intacct never sends; refused")
    return root


@contextmanager
def untrusted_events(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> Iterator[etree.iterparse]:
    """``data``'s ``("start" | "end", element)`` events, as ``etree.iterparse`` gives them, with the checks
    of ``parse_untrusted_xml``: a failure inside the ``with`` block becomes ``UnsafeXmlError``, and the
    DTD check runs when the block ends. The caller may remove elements once their end has come; that
    is what bounds memory. Without a DTD no entity can be declared, and libxml2 refuses an undeclared
    one, so no entity reference reaches the caller.
    """
    _check_before(data, max_bytes)
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), **_PARSER_OPTIONS)
    try:
        yield events
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError(f"the body is not well-formed XML ({exc.msg})") from None
    _check_document(events.root.getroottree())


def parse_trusted_fragment(data: bytes) -> etree._Element:
    """Parse XML this process serialised from an untrusted document already checked, with the same
    features off."""
    return etree.fromstring(data, parser=_parser())
