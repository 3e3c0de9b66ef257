"""Reading Intacct's response envelope (API.md section 4): three levels of status, errors, results.

``parse_response`` only reads; deciding what a failure means for the run (retry, re-login, stop)
is the client's job. A function's failure is data here (a ``FunctionResult``), never an exception.

Memory: a body over 256 KiB is parsed incrementally. The records of a read (query, readByQuery,
readMore, read, readByName) leave the tree as they end, serialised in chunks, and are parsed again a
chunk at a time when asked for (``FunctionResult.iter_records``): a page costs about its own size,
whatever its shape, where a whole tree cost thirty times that. What stays in the tree (the envelope,
errors, the answers to writes, the record being read) is bounded by ``MAX_HELD_ELEMENTS``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from lxml import etree

from dbt_intacct.errors import IntacctError, TerminalIntacctError, TransientIntacctError
from dbt_intacct.secrets import SecretScrubber, redact
from dbt_intacct.xml.safe import (
    MAX_XML_BYTES,
    UnsafeXmlError,
    decode_text,
    is_html_page,
    parse_trusted_fragment,
    parse_untrusted_xml,
    sniff_encoding,
    untrusted_events,
)

DUPLICATE_ERRORNOS = frozenset({"BL34000061", "PL05000104"})
# Our emulator's documented choice for "this function controlid already completed" (uniqueid=true);
# Intacct's real number and wording are UNVERIFIED, so the text is matched as well.
REPEATED_CONTROLID_ERRORNO = "XL03000010"
_REPEATED_CONTROLID_TEXTS = ("already executed", "cannot be repeated")
# Wrappers that follow the specific error and add nothing a user can act on.
GENERIC_ERRORNOS = frozenset({"BL01001973", "XL03000009"})
RATE_LIMIT_ERRORNO = "GW-0010"
# Text the gateway uses for throttling and maintenance (seen in production clients, API.md [S23]).
_TRANSIENT_TEXTS = ("api rate limit exceeded", "temporarily off-line", "temporarily offline")
# Functions whose <data> holds the records of a read; their records are streamed out of the tree.
READ_FUNCTIONS = frozenset({"query", "readByQuery", "readMore", "read", "readByName"})
# Elements held in the tree at once: the envelope, errors, writes' answers, the record being read.
# A batch of 500 writes needs a few thousand; a tree of this many costs some 50 MB.
MAX_HELD_ELEMENTS = 200_000
# A read's records leave the tree once they make this many elements.
_CHUNK_ELEMENTS = 20_000
# Up to this size an answer (every batch of writes: 500 functions answer in about 100 KiB) is parsed
# whole: at most some 65,000 elements, 16 MB of tree.
_WHOLE_TREE_BYTES = 256 * 1024

_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_SUPPORT_ID = re.compile(r"\[Support ID: ([^\]]*)\]")


def _clean(text: str) -> str:
    """Strip tags and HTML escapes, decode a URL-encoded support id, collapse whitespace."""
    text = html.unescape(_TAG.sub(" ", text))
    text = _SUPPORT_ID.sub(lambda match: f"[Support ID: {unquote(match.group(1))}]", text)
    return _SPACES.sub(" ", text).strip()


def mentions_transient_condition(text: str) -> bool:
    """True when ``text`` carries the gateway's throttling or maintenance wording."""
    lowered = text.lower()
    return any(phrase in lowered for phrase in _TRANSIENT_TEXTS)


@dataclass(frozen=True)
class ErrorDetail:
    """One ``<error>`` of an ``<errormessage>``; any field may be empty."""

    errorno: str
    description: str
    description2: str
    correction: str

    def text(self) -> str:
        """What a user sees: the non-empty descriptions and correction, tags stripped, joined.

        Prefixed with the error number when there is one, e.g.
        ``BL34000061: Another Customer with the given value(s) C1 already exists Use a unique value instead.``
        """
        parts = [_clean(part) for part in (self.description, self.description2, self.correction)]
        joined = " ".join(part for part in parts if part)
        errorno = _clean(self.errorno)
        if errorno and joined:
            return f"{errorno}: {joined}"
        return errorno or joined

    @property
    def is_transient(self) -> bool:
        """Throttling (GW-0010, "API rate limit exceeded") or maintenance ("Temporarily Off-line")."""
        return self.errorno == RATE_LIMIT_ERRORNO or mentions_transient_condition(self.text())


def _errors(errormessage: etree._Element | None) -> tuple[ErrorDetail, ...]:
    if errormessage is None:
        return ()
    return tuple(
        ErrorDetail(
            errorno=error.findtext("errorno", default="").strip(),
            description=error.findtext("description", default=""),
            description2=error.findtext("description2", default=""),
            correction=error.findtext("correction", default=""),
        )
        for error in errormessage.iterfind("error")
    )


def _message(errors: tuple[ErrorDetail, ...]) -> str:
    """The first specific error's text; generic wrappers only if nothing else is there."""
    for error in errors:
        if error.errorno not in GENERIC_ERRORNOS:
            return error.text()
    return errors[0].text() if errors else ""


def _flatten(element: etree._Element) -> dict[str, Any]:
    """Flatten one record: leaves by dotted path, repeated siblings as a list of flattened records.

    ``<DISPLAYCONTACT><EMAIL1>a@b</EMAIL1></DISPLAYCONTACT>`` becomes ``{"DISPLAYCONTACT.EMAIL1": "a@b"}``,
    the same spelling the model YAML's mapping keys use. A tag that repeats under one parent
    (``ENTRIES/GLENTRY`` with two lines) becomes ``{"ENTRIES.GLENTRY": [{...}, {...}]}`` with keys
    relative to each item; a single occurrence is flattened like any other element. Leaves are strings
    exactly as sent (empty elements are ``""``); attributes are ignored.
    """
    groups: dict[str, list[etree._Element]] = {}
    for child in element:
        if isinstance(child.tag, str):
            groups.setdefault(child.tag, []).append(child)
    flat: dict[str, Any] = {}
    for tag, children in groups.items():
        if len(children) > 1:
            flat[tag] = [_value(child) for child in children]
            continue
        value = _value(children[0])
        if isinstance(value, dict):
            for key, inner in value.items():
                flat[f"{tag}.{key}"] = inner
        else:
            flat[tag] = value
    return flat


def _value(element: etree._Element) -> str | dict[str, Any]:
    if any(isinstance(child.tag, str) for child in element):
        return _flatten(element)
    return element.text or ""


def _int_attribute(element: etree._Element | None, name: str) -> int | None:
    if element is None:
        return None
    value = element.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Records:
    """A read's records, out of the tree: serialised in chunks, each a ``<data>`` of some records."""

    chunks: tuple[bytes, ...] = field(repr=False)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Each record flattened (see ``_flatten``); one chunk is parsed at a time."""
        for chunk in self.chunks:
            for record in parse_trusted_fragment(chunk):
                if isinstance(record.tag, str):
                    yield _flatten(record)


@dataclass(frozen=True)
class FunctionResult:
    """The ``<result>`` of one function: its status, errors, and data (or a legacy ``<key>``)."""

    status: str
    function: str
    controlid: str
    errors: tuple[ErrorDetail, ...]
    data: etree._Element | None
    key: str | None
    # A read's records, out of the tree; ``data`` then keeps only its attributes.
    read_records: Records | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """The function ran and succeeded."""
        return self.status == "success"

    @property
    def errornos(self) -> tuple[str, ...]:
        """Every error number, in order (the first is usually the specific one)."""
        return tuple(error.errorno for error in self.errors)

    @property
    def message(self) -> str:
        """The first specific error's text (generic wrappers like BL01001973 skipped), or ``""``."""
        return _message(self.errors)

    @property
    def is_duplicate(self) -> bool:
        """A create refused because the record's ID already exists (BL34000061, PL05000104)."""
        return any(errorno in DUPLICATE_ERRORNOS for errorno in self.errornos)

    @property
    def is_repeated_controlid(self) -> bool:
        """Refused because this controlid already completed under ``uniqueid=true``: maybe applied.

        Matches errorno XL03000010 (the emulator's documented choice) or the words "already executed"
        / "cannot be repeated"; Intacct's real answer is UNVERIFIED. Read the record back to know.
        """
        for error in self.errors:
            if error.errorno == REPEATED_CONTROLID_ERRORNO:
                return True
            text = error.text().lower()
            if any(phrase in text for phrase in _REPEATED_CONTROLID_TEXTS):
                return True
        return False

    @property
    def is_transient(self) -> bool:
        """Failed for throttling or maintenance, not for the payload: worth sending again later."""
        return not self.ok and any(error.is_transient for error in self.errors)

    def records(self) -> list[dict[str, Any]]:
        """Each child of ``<data>`` flattened to a dict (see ``_flatten``: dotted keys, string values)."""
        return list(self.iter_records())

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """The records of ``records``, one at a time: a read's are parsed again as they are asked for."""
        if self.read_records is not None:
            yield from self.read_records
        elif self.data is not None:
            for child in self.data:
                if isinstance(child.tag, str):
                    yield _flatten(child)

    @property
    def listtype(self) -> str | None:
        """``<data listtype>``: ``objects`` after create/update, the object name after reads."""
        return self.data.get("listtype") if self.data is not None else None

    @property
    def count(self) -> int | None:
        """Records in this page (``<data count>``)."""
        return _int_attribute(self.data, "count")

    @property
    def totalcount(self) -> int | None:
        """Records matching the query across all pages."""
        return _int_attribute(self.data, "totalcount")

    @property
    def numremaining(self) -> int | None:
        """Records left after this page."""
        return _int_attribute(self.data, "numremaining")

    @property
    def result_id(self) -> str | None:
        """The ``readByQuery`` cursor to pass to ``readMore``."""
        return self.data.get("resultId") if self.data is not None else None

    @property
    def offset(self) -> int | None:
        """The ``query`` page's offset."""
        return _int_attribute(self.data, "offset")


def _parse_timestamp(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class Response:
    """A parsed response: control status, authentication status, one result per function."""

    control_status: str
    control_errors: tuple[ErrorDetail, ...]
    auth_status: str | None  # None when there is no <operation> (a control failure)
    auth_errors: tuple[ErrorDetail, ...]
    session_timeout: datetime | None
    results: tuple[FunctionResult, ...]
    session_timestamp: datetime | None = None  # Intacct's clock when it answered

    @property
    def control_failed(self) -> bool:
        """The gateway refused the request as a whole; nothing ran."""
        return self.control_status != "success"

    @property
    def auth_failed(self) -> bool:
        """Authentication failed (bad login, bad or expired session); nothing ran."""
        return self.auth_status is not None and self.auth_status != "success"

    @property
    def message(self) -> str:
        """The first specific request-level error (control, then authentication), or ``""``."""
        return _message(self.control_errors) or _message(self.auth_errors)

    def answers(self, controlids: Sequence[str]) -> dict[str, tuple[FunctionResult, ...]]:
        """Every result the response holds for each controlid, in order: none when it has none, and
        more than one when Intacct answered a function twice (other controlids' results left out)."""
        found: dict[str, tuple[FunctionResult, ...]] = {controlid: () for controlid in controlids}
        for result in self.results:
            if result.controlid in found:
                found[result.controlid] += (result,)
        return found

    def result_for(self, controlid: str) -> FunctionResult:
        """The result whose ``controlid`` echoes the function's; ``KeyError`` when there is none."""
        for result in self.results:
            if result.controlid == controlid:
                return result
        raise KeyError(f"the response has no result for function controlid {controlid!r}")

    def __iter__(self) -> Iterator[FunctionResult]:
        return iter(self.results)


def _result(element: etree._Element, read_records: Records | None) -> FunctionResult:
    key = element.find("key")
    return FunctionResult(
        status=element.findtext("status", default="").strip(),
        function=element.findtext("function", default="").strip(),
        controlid=element.findtext("controlid", default="").strip(),
        errors=_errors(element.find("errormessage")),
        data=element.find("data"),
        key=(key.text or "").strip() if key is not None else None,
        read_records=read_records,
    )


# The texts of an <error>: shown to the user unescaped (`ErrorDetail.text`), so scrubbed unescaped.
_ERROR_TEXTS = frozenset({"errorno", "description", "description2", "correction"})
_MAX_UNESCAPES = 8


def _scrub_error_text(text: str, scrub: Callable[[str], str]) -> str:
    """An error's text scrubbed at every level of escaping, and kept fully unescaped.

    A gateway echoing the request in an error escapes its XML again, with its own writer (quotes
    escaped where the request's writer left them): no single form of a secret matches what only shows
    once the message is unescaped for the user. So the text is unescaped a level at a time, redacted
    and scrubbed at each, until nothing is left to unescape.
    """
    text = scrub(redact(text))
    for _ in range(_MAX_UNESCAPES):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = scrub(redact(unescaped))
    return text


def _scrub_element(element: etree._Element, scrub: Callable[[str], str]) -> None:
    """Scrub ``element``'s own text, tail and attribute values in place."""
    if element.text and element.tag in _ERROR_TEXTS:
        parent = element.getparent()
        if parent is not None and parent.tag == "error":
            element.text = _scrub_error_text(element.text, scrub)
    if element.text:
        text = scrub(element.text)
        if text != element.text:
            element.text = text
    if element.tail:
        tail = scrub(element.tail)
        if tail != element.tail:
            element.tail = tail
    for name, value in element.attrib.items():
        scrubbed = scrub(str(value))
        if scrubbed != value:
            element.set(name, scrubbed)


def _read_tree(
    body: bytes, max_bytes: int, scrub: Callable[[str], str] | None
) -> tuple[etree._Element, dict[etree._Element, Records]]:
    """The response's tree, and the records of each read result, serialised (by its ``<result>``).

    A body up to ``_WHOLE_TREE_BYTES`` is parsed in one call (a quarter of the time of the loop below):
    its tree is small whatever its shape. In a larger one, a read's records leave the tree in chunks
    of about ``_CHUNK_ELEMENTS`` elements, each serialised in one call (a call per record cost 60% more
    CPU on a page of small records). Every text is scrubbed, as its element ends in the loop, so no raw
    secret reaches the tree or the records.
    Depths: 1 ``<response>``, 2 ``<operation>``, 3 ``<result>``, 4 its ``<data>``, 5 a record.
    """
    if len(body) <= _WHOLE_TREE_BYTES:
        root = parse_untrusted_xml(body, max_bytes=max_bytes)
        if scrub is not None:
            for element in root.iter():
                _scrub_element(element, scrub)
        return root, {}
    depth = 0
    held = 0  # elements in the tree now
    held_outside_records = 0  # ... when the read's <data> opened
    result: etree._Element | None = None
    function = ""  # the open result's <function>
    data: etree._Element | None = None  # a read result's <data>, while it is open
    chunks: list[bytes] = []
    by_result: dict[etree._Element, Records] = {}
    with untrusted_events(body, max_bytes=max_bytes) as events:
        for event, element in events:
            if event == "start":
                depth += 1
                held += 1
                if held > MAX_HELD_ELEMENTS:
                    raise UnsafeXmlError(
                        f"the body holds more than {MAX_HELD_ELEMENTS} elements outside read records, "
                        "or in one record; refused to bound memory"
                    )
                if depth == 3 and element.tag == "result":
                    result, function = element, ""
                elif depth == 4 and element.tag == "data" and function in READ_FUNCTIONS:
                    data, chunks, held_outside_records = element, [], held
                continue
            if scrub is not None:
                _scrub_element(element, scrub)
            if depth == 5 and data is not None and held - held_outside_records >= _CHUNK_ELEMENTS:
                chunks.append(etree.tostring(data, encoding="UTF-8", with_tail=False))
                del data[:]
                held = held_outside_records
            elif depth == 4 and result is not None:
                if element.tag == "function":
                    function = (element.text or "").strip()
                elif data is not None:
                    if len(data):
                        chunks.append(etree.tostring(data, encoding="UTF-8", with_tail=False))
                        del data[:]
                    by_result[result] = Records(tuple(chunks))
                    data = None
            elif depth == 3:
                result, function = None, ""
            depth -= 1
        root = events.root
    return root, by_result


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_WIDE_NAMES = {"utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "utf-32": "UTF-32"}


def _printable(text: str) -> str:
    """``text`` without control characters (NULs of a misread wide encoding, escape codes)."""
    return "".join(char for char in text if char.isspace() or unicodedata.category(char) != "Cc")


def describe_body(body: bytes, limit: int = 120) -> str:
    """A short, safe description of a body we could not use: an HTML page's title or its first words.

    The body is decoded in its own encoding (a BOM, the XML declaration; UTF-8 otherwise). An error page
    may echo the request with its markup escaped (`&lt;password&gt;...`): entities are decoded before the
    secrets are redacted, and the text is cut only after that, so that no part of a password survives
    the cut.
    """
    text = decode_text(body[:65536])
    title = _TITLE.search(text)
    text = title.group(1) if title else text[:4096]
    text = _clean(_printable(redact(html.unescape(html.unescape(text)))))
    return text[:limit] + ("..." if len(text) > limit else "")


def _html_page(body: bytes, http_status: int | None) -> IntacctError:
    """The error for an HTML page where Intacct XML was expected: usually a proxy's or a CDN's."""
    status = f"HTTP {http_status}" if http_status is not None else "a response"
    if http_status is not None and (http_status >= 500 or http_status in (408, 429)):
        source = f"HTTP {http_status} from a proxy or CDN in front of Intacct, or Intacct's web tier"
    else:
        source = "from something other than Intacct's XML gateway: check the endpoint URL and any proxy"
    message = f"Intacct answered {status} with an HTML page, not Intacct XML ({source})"
    title = describe_body(body)
    if title:
        message += f": {title!r}"
    return _classified(message, body, http_status)


def _unusable(body: bytes, reason: str, http_status: int | None, max_bytes: int) -> IntacctError:
    """The error for a body we cannot read as an Intacct response, classified by status and wording."""
    readable = bool(body.strip()) and len(body) <= max_bytes
    status = f"HTTP {http_status}" if http_status is not None else "a response"
    message = f"Intacct answered {status} that cannot be used: {reason}"
    if readable:
        encoding = _WIDE_NAMES.get(sniff_encoding(body))
        message += f" (body{f' in {encoding}' if encoding else ''}: {describe_body(body)!r})"
    return _classified(message, body if readable else b"", http_status)


def _classified(message: str, body: bytes, http_status: int | None) -> IntacctError:
    """Transient on 5xx, 408 and 429 or when the body speaks of throttling; terminal otherwise."""
    throttled = mentions_transient_condition(decode_text(body[:65536]))
    if throttled or (http_status is not None and (http_status >= 500 or http_status in (408, 429))):
        return TransientIntacctError(message)
    return TerminalIntacctError(message)


def parse_response(
    body: bytes,
    *,
    http_status: int | None = None,
    max_bytes: int = MAX_XML_BYTES,
    scrubber: SecretScrubber | None = None,
) -> Response:
    """Parse a response body with entities, DTDs and network access off, within a memory bound.

    Raises ``TransientIntacctError`` when the body is unusable and ``http_status`` is 5xx, 408 or 429
    (a CDN's HTML error page) or the body speaks of throttling, and ``TerminalIntacctError`` for any
    other unusable body: empty, an HTML page, not XML, a DTD or entity declaration (billion laughs,
    XXE), over ``max_bytes`` or ``MAX_HELD_ELEMENTS``, or not an Intacct ``<response>``. The message
    names the HTTP status. ``scrubber`` is applied to every text of the answer (errors, keys, records),
    unless it can tell from the bytes that no secret is there.
    """
    if is_html_page(body):
        raise _html_page(body, http_status)
    try:
        scrub = (
            scrubber.scrub
            if scrubber is not None and (sniff_encoding(body) != "utf-8" or scrubber.may_occur_in(body))
            else None
        )
        root, records = _read_tree(body, max_bytes, scrub)
    except UnsafeXmlError as exc:
        raise _unusable(body, str(exc), http_status, max_bytes) from None
    if root.tag != "response":
        raise _unusable(
            body, f"the XML root is <{root.tag}>, not Intacct's <response>", http_status, max_bytes
        )
    control = root.find("control")
    if control is None:
        raise _unusable(body, "the response has no <control> block", http_status, max_bytes)
    operation = root.find("operation")
    authentication = operation.find("authentication") if operation is not None else None
    return Response(
        control_status=control.findtext("status", default="").strip(),
        control_errors=_errors(root.find("errormessage")),
        auth_status=(
            authentication.findtext("status", default="").strip() if authentication is not None else None
        ),
        auth_errors=_errors(operation.find("errormessage") if operation is not None else None),
        session_timestamp=_parse_timestamp(
            authentication.findtext("sessiontimestamp") if authentication is not None else None
        ),
        session_timeout=_parse_timestamp(
            authentication.findtext("sessiontimeout") if authentication is not None else None
        ),
        results=tuple(_result(result, records.get(result)) for result in operation.iterfind("result"))
        if operation is not None
        else (),
    )
