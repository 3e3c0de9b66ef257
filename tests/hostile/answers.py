"""What a hostile gateway answers instead of the emulator: each a rewrite of the emulator's real answer
(the write was applied, the client is told something else) or a canned answer in its place (nothing was
forwarded, nothing applied).

The rewrites work on the answer's XML: `<operation>` holds `<authentication>` then one `<result>` per
function, each naming its function's control ID.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable

from lxml import etree

Rewrite = Callable[[bytes], bytes]

_CONTROL_IDS = re.compile(rb'<function controlid="([^"]+)"')
_SESSION = re.compile(rb"<sessionid>([^<]*)</sessionid>")


def _results(answer: bytes) -> tuple[etree._Element, etree._Element, list[etree._Element]]:
    root = etree.fromstring(answer)
    operation = root.find("operation")
    assert operation is not None, answer[:500]
    return root, operation, operation.findall("result")


def _dump(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _failure(result: etree._Element, description: str = "Could not create record!") -> etree._Element:
    """A copy of `result` turned into a failure of the same function and control ID."""
    failed = etree.Element("result")
    for name in ("function", "controlid"):
        child = etree.SubElement(failed, name)
        child.text = result.findtext(name)
    failed.insert(0, etree.Element("status"))
    failed[0].text = "failure"
    errors = etree.SubElement(failed, "errormessage")
    error = etree.SubElement(errors, "error")
    etree.SubElement(error, "errorno").text = "BL01001973"
    etree.SubElement(error, "description")
    etree.SubElement(error, "description2").text = description
    etree.SubElement(error, "correction")
    return failed


def duplicated(order: str) -> Rewrite:
    """Every result answered twice: itself and a failure of the same control ID, in `order`
    ("success_first" or "failure_first")."""

    def rewrite(answer: bytes) -> bytes:
        root, _, results = _results(answer)
        for result in results:
            failure = _failure(result)
            if order == "success_first":
                result.addnext(failure)
            else:
                result.addprevious(failure)
        return _dump(root)

    return rewrite


def keyless(answer: bytes) -> bytes:
    """Every success said without naming its record: no `<data>` content, no `<key>`."""
    root, _, results = _results(answer)
    for result in results:
        for name in ("data", "key"):
            for element in result.findall(name):
                result.remove(element)
    return _dump(root)


def missing_first(answer: bytes) -> bytes:
    """The first function's result left out."""
    root, operation, results = _results(answer)
    if results:
        operation.remove(results[0])
    return _dump(root)


def reordered(answer: bytes) -> bytes:
    """The results in reverse order (each still naming its control ID)."""
    root, operation, results = _results(answer)
    for result in results:
        operation.remove(result)
    for result in reversed(results):
        operation.append(result)
    return _dump(root)


def unknown_results(answer: bytes) -> bytes:
    """The first result's control ID replaced by one nobody sent, and an extra result for another."""
    root, operation, results = _results(answer)
    if results:
        controlid = results[0].find("controlid")
        assert controlid is not None
        controlid.text = "not-sent-by-anyone-1"
        extra = copy.deepcopy(results[0])
        extra_id = extra.find("controlid")
        assert extra_id is not None
        extra_id.text = "not-sent-by-anyone-2"
        operation.append(extra)
    return _dump(root)


def utf16(answer: bytes) -> bytes:
    """The same answer in UTF-16 (with its byte order mark), declared so."""
    text = answer.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    return text.encode("utf-16")


def truncated(answer: bytes) -> bytes:
    return answer[: len(answer) // 2]


def html_page(status: int) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{status} Bad Gateway</title></head>"
        f"<body><h1>{status} Bad Gateway</h1><p>cloudflare</p></body></html>"
    ).encode()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE response [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<response><control><status>success</status></control><operation><result><status>&lol3;&xxe;"
    b"</status></result></operation></response>"
)


def huge(size: int) -> bytes:
    """A well-formed answer of `size` bytes made of many small elements."""
    head, tail = b"<response><operation>", b"</operation></response>"
    count = (size - len(head) - len(tail)) // 4
    return head + b"<a/>" * count + tail


def echoing_errors(request: bytes) -> bytes:
    """Every function of `request` refused with an error whose text echoes the whole request, raw
    (the sender password, the session ID or the user's password as they are) and XML-escaped: what a
    careless gateway or proxy writes."""
    text = request.decode("utf-8", "replace")
    escaped = html.escape(text)
    controlids = [c.decode() for c in _CONTROL_IDS.findall(request)] or ["?"]
    session = _SESSION.search(request)
    session_xml = f"<sessionid>{session.group(1).decode()}</sessionid>" if session else ""
    results = "".join(
        f"<result><status>failure</status><function>create</function><controlid>{html.escape(cid)}</controlid>"
        f"<errormessage><error><errorno>BL01001973</errorno><description>{escaped}</description>"
        f"<description2>request was: {escaped}</description2>"
        f"<correction>{html.escape(escaped)}</correction></error></errormessage></result>"
        for cid in controlids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status></control>'
        f"<operation><authentication><status>success</status><userid>u</userid>{session_xml}"
        f"</authentication>{results}</operation></response>"
    ).encode()
