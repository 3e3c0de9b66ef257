"""Hostile answers for the corpus's `gateway:` key: what the WireTap hands back instead of Intacct's.

Each spoil applies to the write requests whose body contains the scenario's `when` text (a marker row),
so lookups and the other batches go through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.resilience.wiretap import Spoil, Tamper

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE response [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<response><control><status>success</status></control><operation><result><status>&lol4;</status>
</result></operation></response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE response [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<response><control><status>success</status></control><operation><result><status>success</status>
<function>create</function><controlid>&secret;</controlid></result></operation></response>"""

HTML_PAGE = b"<html><head><title>Service maintenance</title></head><body>Back soon.</body></html>"

_RESULT = re.compile(rb"<result>.*?</result>", re.DOTALL)
_DATA = re.compile(rb"<data\b[^>]*?(?:/>|>.*?</data>)", re.DOTALL)


def _drop_last_result(answer: bytes) -> bytes:
    results = list(_RESULT.finditer(answer))
    if not results:
        return answer
    last = results[-1]
    return answer[: last.start()] + answer[last.end() :]


def _drop_data(answer: bytes) -> bytes:
    return _DATA.sub(b"", answer)


def _foreign_endpoint(answer: bytes) -> bytes:
    # A login answer naming another host as the session's endpoint: the session must not be sent there.
    return re.sub(
        rb"<endpoint>[^<]*</endpoint>", b"<endpoint>https://intacct.evil.example/xmlgw</endpoint>", answer
    )


SPOILS: Mapping[str, Callable[[], Spoil]] = {
    "billion_laughs": lambda: Spoil(body=BILLION_LAUGHS, name="billion laughs"),
    "external_entity": lambda: Spoil(body=EXTERNAL_ENTITY, name="external entity"),
    "html_200": lambda: Spoil(body=HTML_PAGE, name="HTML page on HTTP 200"),
    "not_xml": lambda: Spoil(body=b"\x00\xff garbage \xfe", name="not XML"),
    "missing_result": lambda: Spoil(transform=_drop_last_result, name="a result left out"),
    "success_without_data": lambda: Spoil(transform=_drop_data, name="success without <data>"),
    "foreign_endpoint": lambda: Spoil(transform=_foreign_endpoint, name="session endpoint on another host"),
}


def spoiler(gateway: Mapping[str, Any]) -> Tamper:
    """The WireTap tamper for a scenario's `gateway:` settings (`writes_only: false` to spoil reads and
    logins as well)."""
    make = SPOILS[gateway["spoil"]]
    marker = str(gateway["when"]).encode("utf-8")
    writes_only = bool(gateway.get("writes_only", True))

    def tamper(_: int, body: bytes) -> Spoil | None:
        if marker not in body or (writes_only and b"<uniqueid>true</uniqueid>" not in body):
            return None
        return make()

    return tamper
