"""Keeping secrets out of everything we write down: API call logs, log lines, exception messages.

Two tools, used together:

- ``redact(xml)`` blanks the text of every element that carries a secret by protocol
  (``<password>``, ``<sessionid>``, any element whose name contains "password").
- ``SecretScrubber`` replaces the literal values of known secrets wherever they appear in free text,
  for messages that are not XML (an error echoed back, a URL, a stack of exception causes).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

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


def _xml_escaper(amp: str, lt: str, gt: str, quot: str | None, apos: str | None) -> Callable[[str], str]:
    """An escaper of the five XML specials with the given references (None leaves a quote as is)."""
    table = {"&": amp, "<": lt, ">": gt}
    if quot is not None:
        table['"'] = quot
    if apos is not None:
        table["'"] = apos
    translation = str.maketrans(table)
    return lambda text: text.translate(translation)


# The ways an XML or HTML writer escapes text: markup only; double quotes too (an XML attribute);
# both quotes, the single one by name (XML), as &#x27; (Python's html.escape) or as &#039; (PHP's
# htmlspecialchars); or every special as a decimal or hex character reference.
_ESCAPERS = (
    _xml_escaper("&amp;", "&lt;", "&gt;", None, None),
    _xml_escaper("&amp;", "&lt;", "&gt;", "&quot;", None),
    _xml_escaper("&amp;", "&lt;", "&gt;", "&quot;", "&apos;"),
    _xml_escaper("&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"),
    _xml_escaper("&amp;", "&lt;", "&gt;", "&quot;", "&#039;"),
    _xml_escaper("&amp;", "&lt;", "&gt;", "&quot;", "&#39;"),
    _xml_escaper("&#38;", "&#60;", "&#62;", "&#34;", "&#39;"),
    _xml_escaper("&#x26;", "&#x3c;", "&#x3e;", "&#x22;", "&#x27;"),
    _xml_escaper("&#x26;", "&#x3C;", "&#x3E;", "&#x22;", "&#x27;"),
)
# Characters that no form of secret_forms changes (URL-encoding spares these, and no escaping touches
# them): a run of them in a secret is found as is in every form.
_WORD = re.compile(r"[A-Za-z0-9._~-]{4,}")


def secret_forms(value: str) -> frozenset[str]:
    """``value`` as a gateway may echo it: as is; escaped for XML or HTML in any of the usual ways,
    once or twice (an HTML page quoting an XML echo); split around ``]]>`` inside CDATA; URL-encoded;
    and as the inside of a JSON string."""
    forms = {value}
    for escape in _ESCAPERS:
        once = escape(value)
        forms.update((once, escape(once)))
    forms.add(value.replace("]]>", "]]]]><![CDATA[>"))
    forms.update((quote(value, safe=""), quote_plus(value, safe="")))
    forms.update((json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]))
    return frozenset(form for form in forms if form)


@dataclass(frozen=True)
class _Secret:
    """The forms of one secret, longest first, and the words every form contains (for a quick test)."""

    length: int
    forms: tuple[str, ...]
    words: tuple[str, ...]

    def may_be_in(self, text: str) -> bool:
        """False when a word of the secret is missing from ``text``: no form of it can be there."""
        return all(word in text for word in self.words)


def _secret(value: str) -> _Secret:
    forms = tuple(sorted(secret_forms(value), key=len, reverse=True))
    return _Secret(len(value), forms, tuple(_WORD.findall(value)))


class SecretScrubber:
    """Replaces the values of known secrets in free text with ``***``, in every form ``secret_forms``
    names.

    Secrets can be added later (a session id arrives after login); the scrubber is shared by
    reference, so everything holding it learns the new secret at once. Thread-safe.
    """

    # Very short values would mask unrelated text and reveal nothing worth hiding by their absence.
    _MIN_LENGTH = 4

    def __init__(self, secrets: Iterable[SecretStr] = ()) -> None:
        self._secrets: tuple[_Secret, ...] = ()
        self._values: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: SecretStr) -> None:
        """Start scrubbing ``secret`` (ignored when empty or shorter than four characters)."""
        value = secret.get_secret_value()
        if len(value) < self._MIN_LENGTH:
            return
        with self._lock:
            if value in self._values:
                return
            # Replaced whole, never mutated: a scrub running in another thread keeps a consistent view.
            self._values = self._values | {value}
            # Longest first: a secret that contains another is masked whole.
            self._secrets = tuple(
                sorted((*self._secrets, _secret(value)), key=lambda known: known.length, reverse=True)
            )

    def may_occur_in(self, data: bytes) -> bool:
        """False only when no known secret can be in ``data``, UTF-8 or ASCII bytes, in any form,
        nor in what parsing it as XML gives: each secret has a word (a run of letters, digits and
        ``._~-``, which no encoding changes) that ``data`` lacks, and ``data`` has no character
        reference that could spell one, nor a NUL byte (a wide encoding spreads the words). A cheap
        test before scrubbing everything parsed from ``data``."""
        secrets = self._secrets
        if not secrets:
            return False
        if b"&#" in data or b"\x00" in data:
            return True
        return any(all(word.encode() in data for word in secret.words) for secret in secrets)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every form of every known secret replaced."""
        for secret in self._secrets:
            if not secret.may_be_in(text):
                continue
            for form in secret.forms:
                if form in text:
                    text = text.replace(form, MASK)
        return text

    def __repr__(self) -> str:
        return f"SecretScrubber({len(self._secrets)} secrets)"
