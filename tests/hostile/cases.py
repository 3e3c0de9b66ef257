"""The hostile cases: which requests the gateway spoils, how, and what the hostile run must say.

A case's `spoil` makes the gateway's answer to one request (its body, and the emulator's admin API for
cases that act on the emulator); `target` picks the requests ("writes": sent with uniqueid=true;
"login": getAPISession); `times` how many of them are spoiled per hostile run (0: all).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt_intacct.emulator.admin import EmulatorAdmin
from tests.hostile import answers
from tests.resilience.wiretap import Spoil, Tamper

SpoilMaker = Callable[[bytes, EmulatorAdmin], Spoil]


@dataclass(frozen=True)
class HostileCase:
    name: str
    spoil: SpoilMaker
    target: str = "writes"  # "writes" | "login"
    times: int = 1
    connection: Mapping[str, Any] = field(default_factory=dict)  # intacct.yml settings for the case
    says: str | None = None  # a pattern the hostile run's output must match (what happened, said plainly)
    exits: tuple[int, ...] = (0, 1)  # the exit codes the hostile run may end with
    max_seconds: float = 60.0  # the hostile run must end within this (it never hangs)

    def __str__(self) -> str:
        return self.name

    def tamper(self, admin: EmulatorAdmin) -> Tamper:
        """The gateway's tamper for one hostile run: spoils the first `times` targeted requests."""
        count = 0
        lock = threading.Lock()

        def tamper(_: int, body: bytes) -> Spoil | None:
            nonlocal count
            targeted = (
                b"<uniqueid>true</uniqueid>" in body if self.target == "writes" else b"<getAPISession" in body
            )
            if not targeted:
                return None
            with lock:
                count += 1
                if self.times and count > self.times:
                    return None
            return self.spoil(body, admin)

        return tamper


def _rewrite(rewrite: answers.Rewrite, name: str) -> SpoilMaker:
    return lambda _body, _admin: Spoil(transform=rewrite, name=name)


def _replace(body: bytes, status: int = 200, name: str = "replaced", **more: Any) -> SpoilMaker:
    return lambda _body, _admin: Spoil(body=body, status=status, name=name, **more)


@functools.cache
def _huge() -> bytes:
    return answers.huge(40 * 1024 * 1024)


CASES: tuple[HostileCase, ...] = (
    HostileCase("pass_through", lambda _b, _a: Spoil(transform=lambda answer: answer, name="as is"), times=0),
    HostileCase(
        "duplicated_results_success_then_failure",
        _rewrite(answers.duplicated("success_first"), "duplicated"),
        times=0,
    ),
    HostileCase(
        "duplicated_results_failure_then_success",
        _rewrite(answers.duplicated("failure_first"), "duplicated"),
        times=0,
    ),
    HostileCase("success_without_record_key", _rewrite(answers.keyless, "keyless"), times=0),
    HostileCase("missing_result", _rewrite(answers.missing_first, "missing"), times=0),
    HostileCase("reordered_results", _rewrite(answers.reordered, "reordered"), times=0, exits=(0,)),
    HostileCase("unknown_results", _rewrite(answers.unknown_results, "unknown"), times=0),
    HostileCase(
        "slow_dripping_body_after_commit",
        lambda _b, _a: Spoil(drip=0.05, name="drip"),
        connection={"timeout_seconds": 1.5},
        says=r"(?i)tim(ed|e) ?out|deadline",
        max_seconds=30,
    ),
    HostileCase(
        "dtd_and_entities_after_commit",
        _replace(answers.BILLION_LAUGHS, name="DTD"),
        says=r"(?i)DTD|DOCTYPE|entit",
        exits=(1,),
    ),
    HostileCase(
        "huge_body_after_commit",
        lambda _b, _a: Spoil(body=_huge(), name="huge"),
        says=r"(?i)larger|too large|MiB|bytes",
        exits=(1,),
        max_seconds=40,
    ),
    HostileCase(
        "html_502_after_commit",
        _replace(
            answers.html_page(502), status=502, name="html 502", headers=(("Content-Type", "text/html"),)
        ),
        says=r"502",
    ),
    HostileCase(
        "html_200_after_commit",
        _replace(answers.html_page(200), name="html 200", headers=(("Content-Type", "text/html"),)),
        says=r"(?i)HTML",
        exits=(1,),
    ),
    HostileCase("utf16_body_after_commit", _rewrite(answers.utf16, "UTF-16")),
    HostileCase("empty_body_after_commit", _replace(b"", name="empty"), exits=(1,)),
    HostileCase("truncated_body_after_commit", _rewrite(answers.truncated, "truncated"), exits=(1,)),
    HostileCase(
        "connection_reset_before_forwarding", lambda _b, _a: Spoil(cut="before", reset=True, name="reset")
    ),
    HostileCase("connection_reset_after_commit", lambda _b, _a: Spoil(cut="after", reset=True, name="reset")),
    HostileCase(
        "session_expired",
        lambda _b, admin: Spoil(before=admin.expire_sessions, transform=lambda a: a, name="expired"),
        times=2,
    ),
    HostileCase(
        "http_429_with_retry_after",
        _replace(
            answers.html_page(429),
            status=429,
            name="429",
            forward=False,
            headers=(("Retry-After", "1"), ("Content-Type", "text/html")),
        ),
        times=2,
        exits=(0,),
    ),
    HostileCase(
        "error_echoing_the_write_request",
        lambda body, _a: Spoil(body=answers.echoing_errors(body), forward=False, name="echo"),
        times=0,
        exits=(1,),
    ),
    HostileCase(
        "error_echoing_the_login_request",
        lambda body, _a: Spoil(body=answers.echoing_errors(body), forward=False, name="echo"),
        target="login",
        times=0,
        exits=(1,),
    ),
)


def matches(case: HostileCase, output: str) -> bool:
    return case.says is None or re.search(case.says, output) is not None
