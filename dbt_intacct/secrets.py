"""Keeping secrets out of everything we write down: API call logs, log lines, exception messages.

Two tools, used together:

- ``redact(xml)`` blanks the text of every element that carries a secret by protocol
  (``<password>``, ``<sessionid>``, any element whose name contains "password").
- ``SecretScrubber`` replaces the literal values of known secrets wherever they appear in free text,
  for messages that are not XML (an error echoed back, a URL, a stack of exception causes).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from pydantic import SecretStr

MASK = "***"

# Regular expressions rather than a parser on purpose: we must also redact bodies that are not
# well-formed (a truncated response, a request Intacct refused as malformed), where lxml would fail.
# An opening tag without its closing tag (truncated text) is redacted to the end of the text.
_SECRET_ELEMENT = re.compile(
    r"(?P<open><(?P<tag>[\w.:-]*password[\w.:-]*|sessionid)(?:\s[^<>]*?)?(?<!/)>)"
    r"(?P<body>.*?)"
    r"(?=</(?P=tag)\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)


# The same elements shown escaped, once or more, as an HTML error page echoing a request shows them
# (`&lt;password&gt;...&lt;/password&gt;`, `&amp;lt;password&amp;gt;...`).
_ESCAPED = r"&(?:amp;)*"
_ESCAPED_SECRET_ELEMENT = re.compile(
    rf"(?P<open>{_ESCAPED}lt;(?P<tag>[\w.:-]*password[\w.:-]*|sessionid){_ESCAPED}gt;)"
    r"(?P<body>.*?)"
    rf"(?={_ESCAPED}lt;/(?P=tag){_ESCAPED}gt;|\Z)",
    re.IGNORECASE | re.DOTALL,
)


def redact(xml: bytes | str) -> str:
    """Return ``xml`` as text with the content of every secret-bearing element replaced by ``***``.

    Secret-bearing elements are ``<password>``, ``<sessionid>`` and any element whose name contains
    "password" (``<user_password>``, ``<PASSWORD>``), in any case, also when the markup itself is
    escaped (an error page echoing the request). Works on malformed or truncated XML.
    """
    text = xml.decode("utf-8", errors="replace") if isinstance(xml, bytes) else xml
    text = _SECRET_ELEMENT.sub(lambda match: match.group("open") + MASK, text)
    return _ESCAPED_SECRET_ELEMENT.sub(lambda match: match.group("open") + MASK, text)


class SecretScrubber:
    """Replaces the literal values of known secrets in free text with ``***``.

    Secrets can be added later (a session id arrives after login); the scrubber is shared by
    reference, so everything holding it learns the new secret at once.
    """

    # Very short values would mask unrelated text and reveal nothing worth hiding by their absence.
    _MIN_LENGTH = 4

    def __init__(self, secrets: Iterable[SecretStr] = ()) -> None:
        self._values: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: SecretStr) -> None:
        """Start scrubbing ``secret`` (ignored when empty or shorter than four characters), also in the
        escaped forms an XML or HTML echo of it would take."""
        value = secret.get_secret_value()
        if len(value) < self._MIN_LENGTH:
            return
        for quote in (False, True):
            escaped = value
            for _ in range(3):  # the value as written, escaped in XML, escaped again by an HTML page
                self._values.add(escaped)
                escaped = html.escape(escaped, quote=quote)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every known secret value replaced, longest first."""
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text

    def __repr__(self) -> str:
        return f"SecretScrubber({len(self._values)} secrets)"
