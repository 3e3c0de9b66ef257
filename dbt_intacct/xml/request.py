"""Building the request envelope Intacct's XML gateway expects (API.md section 2).

Everything is serialised by lxml, so every value is escaped by an XML writer and never by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree
from pydantic import SecretStr

from dbt_intacct.errors import ConfigError

CONTROLID_MAX_LENGTH = 256
DTD_VERSION = "3.0"

# lxml writes its declaration with single quotes; we send the exact form the SDKs and API.md show.
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_EMPTY_CONTENT = b"<content/></operation></request>"


def _check_controlid(controlid: str, what: str) -> None:
    if not 1 <= len(controlid) <= CONTROLID_MAX_LENGTH:
        raise ValueError(f"{what} must be 1 to {CONTROLID_MAX_LENGTH} characters long, got {len(controlid)}")


@dataclass(frozen=True)
class Function:
    """One ``<function controlid="...">`` holding exactly one function element (its ``body``).

    ``body`` is, for example, ``<create><CUSTOMER>...</CUSTOMER></create>``. It is serialised once, the
    first time a request needs it (``xml``), and every request built from it carries those bytes: a retry
    sends them unchanged. A sync reads ``xml`` as it plans each page, so that the thread sending a request
    does not serialise it between two requests; a plan never does. ``body`` must not change afterwards.
    """

    controlid: str
    body: etree._Element

    def __post_init__(self) -> None:
        _check_controlid(self.controlid, "a function controlid")
        if not isinstance(self.body.tag, str):
            raise ValueError("a function body must be an element, not a comment or processing instruction")

    @functools.cached_property
    def xml(self) -> bytes:
        """The whole ``<function controlid="...">`` element as lxml writes it (controlid escaped too)."""
        empty = etree.tostring(etree.Element("function", controlid=self.controlid), encoding="UTF-8")
        return empty[: -len(b"/>")] + b">" + etree.tostring(self.body, encoding="UTF-8") + b"</function>"

    @property
    def name(self) -> str:
        """The function element's name: ``create``, ``query``, ``create_invoice`` ..."""
        return str(self.body.tag)


@dataclass(frozen=True)
class LoginAuth:
    """Log in with a user's credentials; ``entity_id`` logs in to one entity (``<locationid>``)."""

    company_id: str
    user_id: str
    user_password: SecretStr
    entity_id: str | None = None


@dataclass(frozen=True)
class SessionAuth:
    """Authenticate with a session id obtained from ``getAPISession``."""

    session_id: SecretStr


def _child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _authentication(parent: etree._Element, auth: LoginAuth | SessionAuth) -> None:
    authentication = _child(parent, "authentication")
    if isinstance(auth, SessionAuth):
        _child(authentication, "sessionid", auth.session_id.get_secret_value())
        return
    # The SDKs' order: userid, companyid, password, locationid.
    login = _child(authentication, "login")
    _child(login, "userid", auth.user_id)
    _child(login, "companyid", auth.company_id)
    _child(login, "password", auth.user_password.get_secret_value())
    if auth.entity_id:
        _child(login, "locationid", auth.entity_id)


def build_request(
    *,
    sender_id: str,
    sender_password: SecretStr,
    controlid: str,
    uniqueid: bool,
    auth: LoginAuth | SessionAuth,
    functions: Sequence[Function],
    transaction: bool = False,
) -> bytes:
    """Return one complete request document as UTF-8 bytes.

    The ``<control>`` children come in the SDKs' order (senderid, password, controlid, uniqueid,
    dtdversion, includewhitespace). ``policyid`` is never sent: it would switch the request to
    asynchronous delivery. ``uniqueid`` is always written, because Intacct's documented default
    (true) and the SDKs' default (false) disagree.
    Raises ``ConfigError`` when a credential holds characters XML cannot carry.
    """
    _check_controlid(controlid, "a request controlid")
    request = etree.Element("request")
    try:
        control = _child(request, "control")
        _child(control, "senderid", sender_id)
        _child(control, "password", sender_password.get_secret_value())
        _child(control, "controlid", controlid)
        _child(control, "uniqueid", "true" if uniqueid else "false")
        _child(control, "dtdversion", DTD_VERSION)
        _child(control, "includewhitespace", "false")

        operation = _child(request, "operation")
        operation.set("transaction", "true" if transaction else "false")
        _authentication(operation, auth)
    except ValueError:
        # lxml's message does not include the value, but we say which part is wrong ourselves.
        raise ConfigError(
            "an Intacct credential (sender, company, user, entity or password) contains characters "
            "that XML cannot carry (control characters or NUL); check intacct.yml"
        ) from None

    _child(operation, "content")
    envelope = etree.tostring(request, encoding="UTF-8")
    if not functions:
        return _XML_DECLARATION + envelope
    # The functions' own bytes go where lxml wrote the empty <content/>, the document's last element: the
    # same bytes as serialising the whole tree, without copying each function's element into it.
    assert envelope.endswith(_EMPTY_CONTENT), envelope[-80:]
    head = envelope[: -len(_EMPTY_CONTENT)]
    functions_xml = b"".join(f.xml for f in functions)
    return _XML_DECLARATION + head + b"<content>" + functions_xml + b"</content></operation></request>"
