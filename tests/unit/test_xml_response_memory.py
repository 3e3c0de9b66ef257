"""parse_response holds a large answer within a memory bound, whatever its shape (issue 13).

Each case runs in a subprocess that reads a generated 50 MB body and reports how far parsing it (and
reading every record) raised the process's peak RSS above what it was with the body already read.
A whole lxml tree of such a body took 1.3 GB; the client may parse up to eight answers at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BODY_BYTES = 50_000_000
# The records, serialised again, cost about the body's size; the rest is small.
BOUND_MB = 150

PARSE = r"""
import gc, resource, sys
from dbt_intacct.errors import IntacctError
from dbt_intacct.xml.response import parse_response

body = open(sys.argv[1], "rb").read()
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    response = parse_response(body, http_status=200, max_bytes=len(body))
    outcome = sum(1 for result in response.results for _ in result.iter_records())
except IntacctError as error:
    outcome = str(error)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024)
print(outcome)
"""


def write_answer(path: Path, function: str, element: bytes, *, one_record: bool = False) -> int:
    """An answer of one ``function`` result whose data repeats ``element`` up to BODY_BYTES (inside a
    single record with ``one_record``); returns how many times."""
    count = BODY_BYTES // len(element) // 1000 * 1000
    with path.open("wb") as out:
        out.write(
            b"<?xml version='1.0' encoding='UTF-8'?><response><control><status>success</status></control>"
            b"<operation><authentication><status>success</status></authentication><result>"
            b"<status>success</status><function>" + function.encode() + b"</function><controlid>c</controlid>"
            b"<data listtype='CUSTOMER' count='1' totalcount='1' numremaining='0'>"
            + (b"<CUSTOMER>" if one_record else b"")
        )
        for _ in range(count // 1000):
            out.write(element * 1000)
        out.write((b"</CUSTOMER>" if one_record else b"") + b"</data></result></operation></response>")
    return count


def parse_in_subprocess(path: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(path)], capture_output=True, text=True, check=True, timeout=300
    )
    grown, outcome = done.stdout.strip().splitlines()
    return int(grown), outcome


SMALL_RECORD = b"<CUSTOMER>" + b"".join(b"<F%d>v%d</F%d>" % (n, n, n) for n in range(10)) + b"</CUSTOMER>"


def test_a_50mb_page_of_many_small_records_parses_within_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    count = write_answer(path, "query", SMALL_RECORD)
    grown, outcome = parse_in_subprocess(path)
    assert outcome == str(count)
    assert grown < BOUND_MB, f"parsing a 50 MB page raised the peak RSS by {grown} MB"


@pytest.mark.parametrize(
    ("function", "element", "one_record"),
    [("create", SMALL_RECORD, False), ("query", b"<F>v</F>", True)],
    ids=["a write's answer", "one read record"],
)
def test_a_50mb_answer_held_in_the_tree_is_refused_within_the_bound(
    tmp_path: Path, function: str, element: bytes, one_record: bool
) -> None:
    """A write's answer stays in the tree, as does the one record being read: both are bounded."""
    path = tmp_path / "answer.xml"
    write_answer(path, function, element, one_record=one_record)
    grown, outcome = parse_in_subprocess(path)
    assert "refused to bound memory" in outcome
    assert grown < BOUND_MB, f"refusing a 50 MB answer raised the peak RSS by {grown} MB"
