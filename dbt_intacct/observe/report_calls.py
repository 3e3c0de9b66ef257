"""The report's API calls: each with the model it was made for and the functions it carried, and runs of
alike calls shown as one line (a 3,000-row sync makes sixty calls of fifty creates each: one line)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dbt_intacct.observe.history import ApiCallRecord
from dbt_intacct.xml.safe import parse_untrusted_xml

# Functions that name the object they write as their only child (<create><CUSTOMER>...).
_WRITES = frozenset({"create", "update", "delete"})


@dataclass(frozen=True)
class CallGroup:
    """Consecutive calls alike in model, functions and outcome; `calls` in sequence order."""

    calls: tuple[ApiCallRecord, ...]
    model: str
    functions: str

    @property
    def first(self) -> ApiCallRecord:
        return self.calls[0]

    @property
    def failed(self) -> bool:
        return any(call.outcome != "ok" for call in self.calls)


def functions_of(request_xml: str) -> str:
    """What a request asked Intacct to do, e.g. `create CUSTOMER` times 50, `readByQuery CUSTOMER`,
    `getAPISession`; empty when the body cannot be read (a truncated one) or holds no function."""
    try:
        root = parse_untrusted_xml(request_xml.encode("utf-8"))
    except ValueError:
        return ""
    found: Counter[str] = Counter()
    for function in root.iter("function"):
        children = [child for child in function if isinstance(child.tag, str)]
        if not children:
            continue
        kind = children[0]
        name = str(kind.tag)
        if name in _WRITES:
            objects = [str(child.tag) for child in kind if isinstance(child.tag, str)]
            name = f"{name} {objects[0]}" if objects else name
        elif name in {"readByQuery", "read", "readByName", "readMore", "lookup", "query"}:
            obj = kind.findtext("object") or kind.findtext("OBJECT") or ""
            name = f"{name} {obj}".strip()
        found[name] += 1
    return ", ".join(f"{name} \u00d7{n}" if n > 1 else name for name, n in found.items())


def group_calls(calls: Sequence[ApiCallRecord], model_names: dict[str, str]) -> list[CallGroup]:
    """Calls in sequence order, consecutive alike ones together (same model, functions, outcome, HTTP
    status and fault)."""
    groups: list[CallGroup] = []
    current: list[ApiCallRecord] = []
    key: tuple[object, ...] | None = None
    described: tuple[str, str] = ("", "")
    for call in sorted(calls, key=lambda c: c.sequence):
        model = model_names.get(call.model_id or "", (call.model_id or "").rsplit(".", 1)[-1])
        functions = functions_of(call.request_xml)
        this = (model, functions, call.outcome, call.http_status, call.fault)
        if current and this != key:
            groups.append(CallGroup(tuple(current), *described))
            current = []
        current.append(call)
        key, described = this, (model, functions)
    if current:
        groups.append(CallGroup(tuple(current), *described))
    return groups


def groups_to_show(groups: Sequence[CallGroup], limit: int) -> list[CallGroup]:
    """At most `limit` groups, those with a failed call first, then the earliest; in sequence order."""
    if len(groups) <= limit:
        return list(groups)
    by_interest = sorted(groups, key=lambda g: (not g.failed, g.first.sequence))
    return sorted(by_interest[:limit], key=lambda g: g.first.sequence)
