"""The XML gateway: one request in, one response out.

Intacct's three failure levels are kept apart: the control block (XML, sender credentials, dtdversion)
fails the whole request with ``<errormessage>`` under ``<response>``; authentication fails the
operation with no ``<result>``; a function fails its own ``<result>`` only. Each request is one SQLite
transaction, committed before the response exists; each function is a savepoint inside it, and an
operation with ``transaction="true"`` is undone as a whole when any of its functions fails.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from dbt_intacct.emulator import definitions, legacy, reads, writes
from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator.catalogue import Catalogue
from dbt_intacct.emulator.context import FunctionAnswer, FunctionContext, ResultSets
from dbt_intacct.emulator.gateway_errors import (
    AuthenticationFailed,
    FunctionFailed,
    GatewayError,
    PartlyWritten,
    RequestRefused,
)
from dbt_intacct.emulator.reference import ReferenceData
from dbt_intacct.emulator.store import Session, Store
from dbt_intacct.emulator.xmlio import (
    UnreadableXml,
    child,
    child_text,
    parse_request_body,
    serialise,
    sub,
    write_errors,
)

GENERIC_FUNCTIONS: dict[str, Callable[[FunctionContext, etree._Element], FunctionAnswer]] = {
    "create": writes.create,
    "update": writes.update,
    "delete": writes.delete,
    "read": reads.read,
    "readByName": reads.read_by_name,
    "readByQuery": reads.read_by_query,
    "readMore": reads.read_more,
    "query": reads.query,
    "lookup": definitions.lookup,
}
FUNCTIONS = {**GENERIC_FUNCTIONS, **legacy.HANDLERS}
# Functions that write nothing: a plan may send these (a session, the company check's lookups), never a write.
READ_FUNCTIONS = frozenset(
    {"getAPISession", "read", "readByName", "readByQuery", "readMore", "query", "lookup"}
)
DTD_VERSIONS = ("3.0", "2.1")
MAX_CONTROLID = 256
ROLLED_BACK = GatewayError(
    errors.TRANSACTION_ROLLED_BACK,
    "The entire transaction in this operation has been rolled back due to an error.",
)


@dataclass(frozen=True)
class Credentials:
    """The sender and the user the gateway accepts."""

    sender_id: str
    sender_password: str
    company_id: str
    user_id: str
    user_password: str


@dataclass(frozen=True)
class ControlBlock:
    """What the request's ``<control>`` said, as echoed back."""

    senderid: str
    controlid: str
    uniqueid: bool
    uniqueid_text: str
    dtdversion: str
    pretty: bool


@dataclass(frozen=True)
class Signed:
    """Who the operation runs as, and the session timing its response reports."""

    userid: str
    companyid: str
    locationid: str
    timeout_at: float
    session_id: str | None  # set when the operation used a session


@dataclass(frozen=True)
class FunctionResult:
    """One ``<result>``."""

    function: str
    controlid: str
    status: str  # success | failure | aborted
    answer: FunctionAnswer | None = None
    errors: tuple[GatewayError, ...] = ()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def iso_utc(epoch: float) -> str:
    """A timestamp as Intacct writes session times, in UTC: ``2026-11-28T10:00:00+00:00``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class Gateway:
    """Intacct's side of the XML API for one company."""

    def __init__(
        self,
        credentials: Credentials,
        store: Store,
        reference: ReferenceData,
        session_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.store = store
        self.session_timeout = session_timeout
        self.clock = clock
        self.catalogue = Catalogue(reference)
        self.result_sets = ResultSets()

    def replace_reference(self, reference: ReferenceData) -> None:
        """Use other reference data from the next request on."""
        with self.store.lock:
            self.catalogue = Catalogue(reference)

    def reset(self) -> None:
        """Forget records, counters, completed control IDs and open query results."""
        with self.store.lock, self.store.transaction():
            self.store.reset()
            self.result_sets.clear()

    def expire_sessions(self) -> int:
        """End every session: the next session-authenticated request fails authentication."""
        with self.store.lock, self.store.transaction():
            return self.store.expire_all_sessions()

    def handle(self, body: bytes, endpoint: str, expire_this_session: Callable[[], bool]) -> bytes:
        """Answer one request body. ``endpoint`` is the URL the request came in on (returned by
        getAPISession); ``expire_this_session`` is asked once for a session-authenticated request and
        ends that session first when it says so (the expired-session fault)."""
        counts: Counter[str] = Counter(requests=1)
        try:
            root = parse_request_body(body)
        except UnreadableXml as exc:
            counts["control_failures"] += 1
            self._count(counts)
            return control_failure(None, errors.parse_error(str(exc)))
        with self.store.lock, self.store.transaction():
            try:
                control = self._control(root)
            except RequestRefused as refused:
                counts["control_failures"] += 1
                self.store.add_counters(counts)
                return control_failure(_partial_control(root), refused.error)
            operation = root.find("operation")
            try:
                signed = self._authenticate(operation, control, expire_this_session)
            except AuthenticationFailed as failed:
                counts["authentication_failures"] += 1
                self.store.add_counters(counts)
                return _authentication_failure(control, operation, failed.error)
            assert operation is not None  # _authenticate refused a request without one
            content = child(operation, "content")
            functions = list(content) if content is not None else []
            transactional = operation.get("transaction", "false").lower() == "true"
            results, signed = self._run(functions, control, signed, transactional, endpoint)
            # Failed functions spend nothing, except the records a create or update wrote before failing.
            billed = sum(r.answer.billable for r in results if r.answer is not None)
            statuses = Counter(r.status for r in results)
            counts.update(
                functions=len(results),
                write_functions=sum(1 for node in functions if _function_name(node) not in READ_FUNCTIONS),
                functions_succeeded=statuses["success"],
                functions_failed=statuses["failure"],
                functions_aborted=statuses["aborted"],
                api_transactions=billed,
            )
            self.store.add_counters(counts)
            return _success(control, signed, results, self.clock())

    def _count(self, counts: Counter[str]) -> None:
        with self.store.lock, self.store.transaction():
            self.store.add_counters(counts)

    def _control(self, root: etree._Element) -> ControlBlock:
        if root.tag != "request":
            raise RequestRefused(errors.parse_error(f"The root element must be <request>, not <{root.tag}>."))
        control = child(root, "control")
        if control is None:
            raise RequestRefused(errors.parse_error("The <request> has no <control> block."))
        values = {
            name: child_text(control, name) for name in ("senderid", "password", "controlid", "dtdversion")
        }
        for name, value in values.items():
            if value is None:
                raise RequestRefused(
                    errors.parse_error(f"Required element <{name}> is missing from <control>.")
                )
        controlid = values["controlid"] or ""
        if not 1 <= len(controlid) <= MAX_CONTROLID:
            raise RequestRefused(
                errors.parse_error(f"<control><controlid> must be 1 to {MAX_CONTROLID} characters long.")
            )
        sender_ok = _same(values["senderid"] or "", self.credentials.sender_id)
        password_ok = _same(values["password"] or "", self.credentials.sender_password)
        if not (sender_ok and password_ok):
            raise RequestRefused(
                GatewayError(
                    errors.AUTHENTICATION,
                    "Incorrect Intacct XML Partner ID or password.",
                    "",
                    "Check the Web Services sender ID and password.",
                )
            )
        policy = child_text(control, "policyid")
        if policy:
            raise RequestRefused(
                GatewayError(errors.AUTHENTICATION, f"{policy} is not a valid transport policy.")
            )
        dtdversion = values["dtdversion"] or ""
        if dtdversion not in DTD_VERSIONS:
            raise RequestRefused(
                errors.parse_error(
                    f"dtdversion '{dtdversion}' is not supported; use 3.0 (or 2.1 for legacy functions)."
                )
            )
        uniqueid_text = child_text(control, "uniqueid")
        if uniqueid_text is not None and uniqueid_text.lower() not in ("true", "false"):
            raise RequestRefused(
                errors.parse_error(f"<uniqueid> must be true or false, not '{uniqueid_text}'.")
            )
        pretty = (child_text(control, "includewhitespace") or "false").lower() == "true"
        if len(root.findall("operation")) != 1:
            raise RequestRefused(errors.parse_error("A <request> holds exactly one <operation>."))
        return ControlBlock(
            senderid=values["senderid"] or "",
            controlid=controlid,
            # The docs make uniqueid default to true when the element is left out.
            uniqueid=(uniqueid_text or "true").lower() == "true",
            uniqueid_text=uniqueid_text if uniqueid_text is not None else "",
            dtdversion=dtdversion,
            pretty=pretty,
        )

    def _authenticate(
        self, operation: etree._Element | None, control: ControlBlock, expire: Callable[[], bool]
    ) -> Signed:
        authentication = child(operation, "authentication") if operation is not None else None
        if authentication is None:
            raise AuthenticationFailed(
                GatewayError(errors.AUTHENTICATION, "The operation has no <authentication> block.")
            )
        now = self.clock()
        login = child(authentication, "login")
        if login is not None:
            return self._login(login, now)
        session_id = child_text(authentication, "sessionid")
        if session_id is None:
            raise AuthenticationFailed(
                GatewayError(errors.AUTHENTICATION, "<authentication> needs <login> or <sessionid>.")
            )
        session = self.store.session(session_id) if session_id else None
        if session is not None and expire():
            self.store.expire_session(session_id)
            session = None
        if session is None or session.expires_at <= now:
            raise AuthenticationFailed(
                GatewayError(
                    errors.AUTHENTICATION,
                    "Invalid session: the session ID is unknown or the session has timed out.",
                    "",
                    "Log in again with getAPISession.",
                )
            )
        timeout_at = now + self.session_timeout
        self.store.extend_session(session_id, timeout_at)  # each call slides the timeout
        return Signed(session.userid, session.companyid, session.locationid, timeout_at, session_id)

    def _login(self, login: etree._Element, now: float) -> Signed:
        userid = child_text(login, "userid") or ""
        companyid = child_text(login, "companyid") or ""
        password = child_text(login, "password") or ""
        locationid = child_text(login, "locationid") or ""
        valid = (
            _same(userid, self.credentials.user_id)
            & _same(companyid, self.credentials.company_id)
            & _same(password, self.credentials.user_password)
        )
        if not valid:
            raise AuthenticationFailed(
                GatewayError(
                    errors.AUTHENTICATION,
                    "Sign-in information is incorrect",
                    "",
                    "Check the user ID, company ID and password.",
                )
            )
        self._check_entity(locationid)
        return Signed(userid, companyid, locationid, now + self.session_timeout, None)

    def _check_entity(self, locationid: str) -> None:
        if locationid and not self.catalogue.reference.has("entities", locationid):
            raise AuthenticationFailed(
                GatewayError(
                    errors.AUTHENTICATION,
                    f"Sign-in failed: there is no entity (location) '{locationid}' in this company.",
                    "",
                    "Use the ID of one of the company's entities, or no locationid for the top level.",
                )
            )

    def _run(
        self,
        functions: list[etree._Element],
        control: ControlBlock,
        signed: Signed,
        transactional: bool,
        endpoint: str,
    ) -> tuple[list[FunctionResult], Signed]:
        ctx = FunctionContext(
            self.store, self.catalogue, datetime.now(UTC), self.result_sets, signed.locationid
        )
        named = [(_function_name(node), node.get("controlid", "")) for node in functions]
        if len(functions) > 1 and any(name == "getAPISession" for name, _ in named):
            error = errors.parse_error("getAPISession must be the only function of its request.")
            return [FunctionResult(name, cid, "failure", errors=(error,)) for name, cid in named], signed
        results: list[FunctionResult] = []
        if transactional:
            try:
                with self.store.savepoint():
                    for node, (name, controlid) in zip(functions, named, strict=True):
                        result, signed = self._one(ctx, node, name, controlid, control, signed, endpoint)
                        results.append(result)
                        if result.status != "success":
                            raise _RollBack
            except _RollBack:
                return _aborted(results, named), signed
            return results, signed
        for node, (name, controlid) in zip(functions, named, strict=True):
            result, signed = self._one(ctx, node, name, controlid, control, signed, endpoint)
            results.append(result)
        return results, signed

    def _one(
        self,
        ctx: FunctionContext,
        node: etree._Element,
        name: str,
        controlid: str,
        control: ControlBlock,
        signed: Signed,
        endpoint: str,
    ) -> tuple[FunctionResult, Signed]:
        try:
            if node.tag != "function":
                raise FunctionFailed(
                    errors.parse_error(f"<content> holds <function> elements, not <{node.tag}>.")
                )
            if not controlid:
                raise FunctionFailed(errors.parse_error("Every <function> needs a controlid attribute."))
            body = [part for part in node]
            if len(body) != 1:
                raise FunctionFailed(errors.parse_error("A <function> holds exactly one function element."))
            if control.uniqueid and self.store.is_completed(controlid):
                raise FunctionFailed(
                    GatewayError(
                        errors.REPEATED_CONTROLID,
                        f"The function with control ID '{controlid}' was already executed and completed; "
                        "with uniqueid=true it cannot be repeated.",
                        "",
                        "Read the record back instead of sending the function again.",
                    )
                )
            partial: PartlyWritten | None = None
            with self.store.savepoint():
                try:
                    if name == "getAPISession":
                        answer, signed = self._get_api_session(body[0], signed, endpoint)
                    else:
                        answer = self._dispatch(ctx, body[0], name, control)
                except PartlyWritten as written:
                    partial = written  # keep what it wrote: leave the savepoint normally
                else:
                    if control.uniqueid:
                        self.store.mark_completed(controlid, ctx.now.isoformat(timespec="seconds"))
            if partial is not None:
                return FunctionResult(name, controlid, "failure", partial.answer, partial.errors), signed
            return FunctionResult(name, controlid, "success", answer), signed
        except FunctionFailed as failed:
            return FunctionResult(name, controlid, "failure", errors=failed.errors), signed

    def _dispatch(
        self, ctx: FunctionContext, element: etree._Element, name: str, control: ControlBlock
    ) -> FunctionAnswer:
        handler = FUNCTIONS.get(name)
        if handler is None:
            raise FunctionFailed(errors.parse_error(f"'{name}' is not a function the gateway knows."))
        if name in GENERIC_FUNCTIONS and control.dtdversion != "3.0":
            raise FunctionFailed(errors.parse_error(f"The function '{name}' needs dtdversion 3.0."))
        return handler(ctx, element)

    def _get_api_session(
        self, element: etree._Element, signed: Signed, endpoint: str
    ) -> tuple[FunctionAnswer, Signed]:
        requested = child_text(element, "locationid")
        locationid = signed.locationid if requested is None else requested
        if locationid:
            try:
                self._check_entity(locationid)
            except AuthenticationFailed as failed:
                raise FunctionFailed(failed.error) from None
        now = self.clock()
        if signed.session_id is not None and locationid == signed.locationid:
            session_id = signed.session_id
            new = signed
        else:
            session_id = secrets.token_urlsafe(24) + ".."
            new = Signed(signed.userid, signed.companyid, locationid, now + self.session_timeout, session_id)
            self.store.create_session(
                session_id, Session(signed.userid, signed.companyid, locationid, new.timeout_at)
            )
        data = etree.Element("data")
        api = sub(data, "api")
        sub(api, "sessionid", session_id)
        sub(api, "endpoint", endpoint)
        sub(api, "locationid", locationid)
        return FunctionAnswer(billable=0, data=data), new


class _RollBack(Exception):
    """Raised inside a transactional operation to undo everything it did."""


def _function_name(node: etree._Element) -> str:
    body = [part for part in node]
    return str(body[0].tag) if len(body) == 1 else ""


def _aborted(results: list[FunctionResult], named: list[tuple[str, str]]) -> list[FunctionResult]:
    """Transaction mode: the failing function keeps its errors (plus XL03000009); every other
    function, run or not, is reported aborted with XL03000009."""
    out = []
    for position, (name, controlid) in enumerate(named):
        ran = results[position] if position < len(results) else None
        if ran is not None and ran.status == "failure":
            out.append(FunctionResult(name, controlid, "failure", errors=(*ran.errors, ROLLED_BACK)))
        else:
            out.append(FunctionResult(name, controlid, "aborted", errors=(ROLLED_BACK,)))
    return out


def _partial_control(root: etree._Element) -> dict[str, str]:
    control = child(root, "control") if root.tag == "request" else None
    if control is None:
        return {}
    return {
        name: child_text(control, name) or ""
        for name in ("senderid", "controlid", "uniqueid", "dtdversion")
        if child(control, name) is not None
    }


def _control_element(response: etree._Element, status: str, echoed: dict[str, str]) -> None:
    control = sub(response, "control")
    sub(control, "status", status)
    for name in ("senderid", "controlid", "uniqueid", "dtdversion"):
        if name in echoed:
            sub(control, name, echoed[name])


def _echo(control: ControlBlock) -> dict[str, str]:
    return {
        "senderid": control.senderid,
        "controlid": control.controlid,
        "uniqueid": control.uniqueid_text,
        "dtdversion": control.dtdversion,
    }


def control_failure(echoed: dict[str, str] | None, error: GatewayError) -> bytes:
    """A response whose control block failed: nothing ran."""
    response = etree.Element("response")
    _control_element(response, "failure", echoed or {})
    write_errors(response, [error])
    return serialise(response)


def _authentication_failure(
    control: ControlBlock, operation: etree._Element | None, error: GatewayError
) -> bytes:
    response = etree.Element("response")
    _control_element(response, "success", _echo(control))
    block = sub(response, "operation")
    authentication = sub(block, "authentication")
    sub(authentication, "status", "failure")
    login = operation.find("authentication/login") if operation is not None else None
    sub(authentication, "userid", (child_text(login, "userid") or "") if login is not None else "")
    sub(authentication, "companyid", (child_text(login, "companyid") or "") if login is not None else "")
    sub(authentication, "locationid", (child_text(login, "locationid") or "") if login is not None else "")
    write_errors(block, [error])
    return serialise(response, control.pretty)


def _success(control: ControlBlock, signed: Signed, results: list[FunctionResult], now: float) -> bytes:
    response = etree.Element("response")
    _control_element(response, "success", _echo(control))
    operation = sub(response, "operation")
    authentication = sub(operation, "authentication")
    sub(authentication, "status", "success")
    sub(authentication, "userid", signed.userid)
    sub(authentication, "companyid", signed.companyid)
    sub(authentication, "locationid", signed.locationid)
    sub(authentication, "sessiontimestamp", iso_utc(now))
    sub(authentication, "sessiontimeout", iso_utc(signed.timeout_at))
    for result in results:
        node = sub(operation, "result")
        sub(node, "status", result.status)
        sub(node, "function", result.function)
        sub(node, "controlid", result.controlid)
        if result.status == "success" and result.answer is not None:
            if result.answer.key is not None:
                sub(node, "key", result.answer.key)
            if result.answer.data is not None:
                node.append(result.answer.data)
        else:
            if result.answer is not None and result.answer.data is not None:
                node.append(result.answer.data)
            elif result.function in ("create", "update"):
                sub(node, "data", listtype="objects", count="0")
            write_errors(node, result.errors)
    return serialise(response, control.pretty)
