"""A deliberately tiny Intacct client for the emulator's own tests.

It writes envelopes by hand and reads answers with lxml, independent of dbt_intacct's client, so that
these tests check the emulator against the protocol rather than against our other code.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import requests
from lxml import etree

from dbt_intacct.emulator import (
    DEMO_COMPANY_ID,
    DEMO_SENDER_ID,
    DEMO_SENDER_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_PASSWORD,
)

SHARED = Path("/work/shared/intacct")
CAPTURED = SHARED / "captured"
VECTORS = SHARED / "vectors"
_ids = itertools.count(1)


def new_controlid(prefix: str = "f") -> str:
    """A control ID no other function of this worker uses."""
    return f"{prefix}-{next(_ids)}"


def function(body: str, controlid: str | None = None) -> str:
    """``<function controlid="...">body</function>``."""
    return (
        f'<function controlid="{escape(controlid or new_controlid(), {chr(34): "&quot;"})}">{body}</function>'
    )


def envelope(
    functions: str,
    *,
    session: str | None = None,
    login: tuple[str, str, str] | None = (DEMO_USER_ID, DEMO_COMPANY_ID, DEMO_USER_PASSWORD),
    locationid: str | None = None,
    uniqueid: bool | None = False,
    transaction: bool = False,
    dtdversion: str = "3.0",
    sender: tuple[str, str] = (DEMO_SENDER_ID, DEMO_SENDER_PASSWORD),
    controlid: str = "request-1",
) -> bytes:
    """A whole request, authenticated by session when given, else by login."""
    if session is not None:
        authentication = f"<sessionid>{escape(session)}</sessionid>"
    else:
        assert login is not None
        user, company, password = (escape(part) for part in login)
        location = f"<locationid>{escape(locationid)}</locationid>" if locationid is not None else ""
        authentication = (
            f"<login><userid>{user}</userid><companyid>{company}</companyid>"
            f"<password>{password}</password>{location}</login>"
        )
    unique = "" if uniqueid is None else f"<uniqueid>{str(uniqueid).lower()}</uniqueid>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?><request><control>'
        f"<senderid>{escape(sender[0])}</senderid><password>{escape(sender[1])}</password>"
        f"<controlid>{escape(controlid)}</controlid>{unique}<dtdversion>{dtdversion}</dtdversion>"
        "<includewhitespace>false</includewhitespace></control>"
        f'<operation transaction="{str(transaction).lower()}">'
        f"<authentication>{authentication}</authentication>"
        f"<content>{functions}</content></operation></request>"
    ).encode()


@dataclass(frozen=True)
class Error:
    """One ``<error>``."""

    errorno: str
    description: str
    description2: str
    correction: str


def _errors(node: etree._Element | None) -> list[Error]:
    if node is None:
        return []
    return [
        Error(
            *(
                (error.findtext(name) or "")
                for name in ("errorno", "description", "description2", "correction")
            )
        )
        for error in node.findall("error")
    ]


@dataclass(frozen=True)
class Result:
    """One ``<result>``."""

    element: etree._Element

    @property
    def status(self) -> str:
        return self.element.findtext("status") or ""

    @property
    def function(self) -> str:
        return self.element.findtext("function") or ""

    @property
    def controlid(self) -> str:
        return self.element.findtext("controlid") or ""

    @property
    def key(self) -> str | None:
        return self.element.findtext("key")

    @property
    def data(self) -> etree._Element | None:
        return self.element.find("data")

    @property
    def errors(self) -> list[Error]:
        return _errors(self.element.find("errormessage"))

    @property
    def errornos(self) -> list[str]:
        return [error.errorno for error in self.errors]

    @property
    def message(self) -> str:
        return " | ".join(error.description2 for error in self.errors)

    def records(self) -> list[dict[str, object]]:
        """The rows under ``<data>``, each as a nested dict."""
        data = self.data
        return [to_dict(row) for row in data] if data is not None else []

    def ok(self) -> Result:
        """This result, after checking it succeeded (the assertion shows Intacct's message otherwise)."""
        assert self.status == "success", f"{self.function} {self.controlid}: {self.status}: {self.message}"
        return self


def to_dict(element: etree._Element) -> dict[str, object]:
    """Element children as a dict; repeated tags become lists."""
    out: dict[str, object] = {}
    for node in element:
        value: object = to_dict(node) if len(node) else (node.text or "")
        if node.tag in out:
            previous = out[node.tag]
            out[node.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[node.tag] = value
    return out


@dataclass(frozen=True)
class Reply:
    """A whole response."""

    http_status: int
    headers: dict[str, str]
    root: etree._Element
    text: str = field(repr=False)

    @property
    def control_status(self) -> str:
        return self.root.findtext("control/status") or ""

    @property
    def control_errors(self) -> list[Error]:
        return _errors(self.root.find("errormessage"))

    @property
    def auth_status(self) -> str:
        return self.root.findtext("operation/authentication/status") or ""

    @property
    def auth_errors(self) -> list[Error]:
        return _errors(self.root.find("operation/errormessage"))

    @property
    def results(self) -> list[Result]:
        return [Result(node) for node in self.root.findall("operation/result")]

    @property
    def result(self) -> Result:
        (only,) = self.results
        return only


def parse(text: bytes) -> etree._Element:
    return etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True))


class GatewayClient:
    """Posts envelopes to the emulator and reads the replies."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.session_id = ""

    def post(self, body: bytes, timeout: float = 30) -> Reply:
        response = self.http.post(
            self.url, data=body, headers={"Content-Type": "application/xml"}, timeout=timeout
        )
        return Reply(response.status_code, dict(response.headers), parse(response.content), response.text)

    def login(self, locationid: str | None = None) -> str:
        """Open a session with getAPISession and keep its ID."""
        body = (
            "<getAPISession/>"
            if locationid is None
            else f"<getAPISession><locationid>{locationid}</locationid></getAPISession>"
        )
        reply = self.post(envelope(function(body)))
        result = reply.result.ok()
        self.session_id = result.element.findtext("data/api/sessionid") or ""
        return self.session_id

    def call(self, *functions: str, **options: object) -> Reply:
        """Functions (``<function>`` XML) in one request, with the session (login first if needed)."""
        if not self.session_id:
            self.login()
        return self.post(envelope("".join(functions), session=self.session_id, **options))  # type: ignore[arg-type]

    def one(self, body: str, controlid: str | None = None, **options: object) -> Result:
        """A single function's result."""
        return self.call(function(body, controlid), **options).result

    def create(self, object_xml: str, **options: object) -> Result:
        return self.one(f"<create>{object_xml}</create>", **options)

    def query(
        self, object_name: str, where: str = "", fields: str = "*", pagesize: int = 1000
    ) -> list[dict[str, object]]:
        """Every record a readByQuery returns on its first page."""
        body = (
            f"<readByQuery><object>{object_name}</object><fields>{fields}</fields>"
            f"<query>{escape(where)}</query><pagesize>{pagesize}</pagesize></readByQuery>"
        )
        return self.one(body).ok().records()


def customer_xml(customer_id: str, name: str | None = None, extra: str = "") -> str:
    name = name or f"Customer {customer_id}"
    return (
        f"<CUSTOMER><CUSTOMERID>{escape(customer_id)}</CUSTOMERID><NAME>{escape(name)}</NAME>"
        f"<DISPLAYCONTACT><PRINTAS>{escape(name)}</PRINTAS></DISPLAYCONTACT>{extra}</CUSTOMER>"
    )


def journal_xml(lines: list[tuple[str, str, str]], title: str = "Test entry", extra: str = "") -> str:
    """A GLBATCH with (ACCOUNTNO, TR_TYPE, TRX_AMOUNT) lines."""
    entries = "".join(
        f"<GLENTRY><ACCOUNTNO>{account}</ACCOUNTNO><TR_TYPE>{tr_type}</TR_TYPE><TRX_AMOUNT>{amount}</TRX_AMOUNT></GLENTRY>"
        for account, tr_type, amount in lines
    )
    return (
        f"<GLBATCH><JOURNAL>GJ</JOURNAL><BATCH_DATE>05/31/2024</BATCH_DATE><BATCH_TITLE>{escape(title)}</BATCH_TITLE>"
        f"{extra}<ENTRIES>{entries}</ENTRIES></GLBATCH>"
    )


def invoice_xml(customer_id: str, amount: str = "100.00", extra_header: str = "", invoiceno: str = "") -> str:
    number = f"<invoiceno>{invoiceno}</invoiceno>" if invoiceno else ""
    return (
        f"<create_invoice><customerid>{customer_id}</customerid>"
        "<datecreated><year>2025</year><month>01</month><day>15</day></datecreated>"
        f"{extra_header}{number}<invoiceitems><lineitem><glaccountno>4000</glaccountno>"
        f"<amount>{amount}</amount><memo>line</memo></lineitem></invoiceitems></create_invoice>"
    )
