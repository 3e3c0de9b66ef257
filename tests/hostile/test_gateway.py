"""Every promise against a hostile gateway (issue 13): a loopback server in front of the emulator answers
badly on purpose (duplicated, missing, reordered and unknown results, successes naming no record, bodies
that drip, are huge, empty, truncated, HTML or carry a DTD, connection resets, expired sessions, 429 with
Retry-After, errors echoing the request and its secrets). Each case syncs through it twice (text and
JSON log), then the convergence check: plain reruns converge, every row is in Intacct exactly once,
and no password or session ID is anywhere (`tests/hostile/convergence.py`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hostile.cases import CASES, HostileCase, matches
from tests.hostile.conftest import HostileBench
from tests.hostile.convergence import converge, credentials

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_hostile_answer_is_survived_and_the_next_runs_converge_exactly_once(
    bench: HostileBench, tmp_path: Path, case: HostileCase
) -> None:
    project = bench.project(tmp_path / "proj")
    if case.connection:
        credentials(project, **case.connection)
    admin = bench.server.admin
    outputs: dict[str, str] = {}
    for name, args in (("hostile sync", ()), ("hostile sync (JSON log)", ("--log-format", "json"))):
        bench.gateway.tamper = case.tamper(admin)
        started = time.monotonic()
        run = project.sync(*args)
        seconds = time.monotonic() - started
        outputs[name] = run.output
        assert run.exit_code in case.exits, f"{name} exited {run.exit_code}:\n{run.output}"
        assert seconds < case.max_seconds, f"{name} took {seconds:.1f}s:\n{run.output}"
        assert "Traceback" not in run.output, run.output
        assert "\x00" not in run.output, "a wide encoding printed as NUL noise:\n" + run.output
        if name == "hostile sync":
            assert matches(case, run.output), f"expected /{case.says}/ in:\n{run.output}"
    bench.gateway.tamper = None
    if case.connection:
        credentials(project)
    result = converge(project, admin, bench.gateway, bench.dataset, outputs)
    assert result.ok, result.describe()
