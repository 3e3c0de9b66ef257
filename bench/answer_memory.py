"""Issue 13: an Intacct answer is parsed within a memory bound, whatever its shape, at any concurrency.

    .venv/bin/python bench/answer_memory.py [--megabytes 50] [--runs 3] [--quick]

Each figure is measured in a child process that reads the generated answers and parses them, and
reports how far that raised its peak RSS (``ru_maxrss``):

- one answer of --megabytes of a read page of many small records (10 fields of a few bytes each), its
  records read one by one, as the client reads a query page (the body itself not counted);
- the client's worst case: 8 answers (``concurrency`` is at most 8) of MAX_XML_BYTES each, parsed at
  once in 8 threads (the bodies counted);
- CPU time to parse and read the records of one answer of --megabytes (reported: it grows with the
  answer; the tool's own reads are a few MB).

Before this bound, the one-answer case took 1.5 GB for 50 MB (a whole lxml tree, then dicts).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Figure, load_average, report, rerun_command
from dbt_intacct.xml.safe import MAX_XML_BYTES

ONE_ANSWER_TARGET_MB = 150.0
CONCURRENT_TARGET_MB = 1024.0
CONCURRENCY = 8

RECORD = b"<CUSTOMER>" + b"".join(b"<F%d>v%d</F%d>" % (n, n, n) for n in range(10)) + b"</CUSTOMER>"

PARSE = r"""
import resource, sys, threading, time
from dbt_intacct.xml.response import parse_response

start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bodies = [open(path, "rb").read() for path in sys.argv[1:]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
counts = []

def parse(body):
    response = parse_response(body, http_status=200, max_bytes=len(body))
    counts.append(sum(1 for result in response.results for _ in result.iter_records()))

threads = [threading.Thread(target=parse, args=(body,)) for body in bodies]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - before) / 1024, (peak - start) / 1024, time.process_time() - started, sum(counts))
"""


def write_page(path: Path, size: int) -> None:
    """A query page of records of RECORD, about ``size`` bytes in all."""
    with path.open("wb") as out:
        out.write(
            b"<?xml version='1.0' encoding='UTF-8'?><response><control><status>success</status></control>"
            b"<operation><authentication><status>success</status></authentication><result>"
            b"<status>success</status><function>query</function><controlid>c</controlid>"
            b"<data listtype='CUSTOMER' count='1' totalcount='1' numremaining='0'>"
        )
        for _ in range((size - 400) // (len(RECORD) * 100)):
            out.write(RECORD * 100)
        out.write(b"</data></result></operation></response>")


def parse(paths: list[Path]) -> tuple[float, float, float]:
    """Parsing ``paths`` at once in a child process: its peak RSS growth in MB beyond the bodies read,
    the same with the bodies, and the CPU seconds."""
    done = subprocess.run(
        [sys.executable, "-c", PARSE, *map(str, paths)], capture_output=True, text=True, check=True
    )
    beyond, with_bodies, cpu, _ = done.stdout.split()
    return float(beyond), float(with_bodies), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=50, help="size of the one-answer case")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5 MB, 2 answers at once, one run")
    args = parser.parse_args()
    size = (5 if args.quick else args.megabytes) * 1_000_000
    concurrency = 2 if args.quick else CONCURRENCY
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="answer-memory-") as directory:
        one = Path(directory) / "one.xml"
        write_page(one, size)
        largest = [Path(directory) / f"largest-{n}.xml" for n in range(concurrency)]
        for path in largest:
            write_page(path, MAX_XML_BYTES)
        single = [parse([one]) for _ in range(runs)]
        together = [parse(largest)[1] for _ in range(runs)]
    figures = [
        Figure(
            f"one answer of {size / 1e6:.0f} MB, peak RSS growth",
            tuple(beyond for beyond, _, _ in single),
            "MB",
            ONE_ANSWER_TARGET_MB,
        ),
        Figure(
            f"{concurrency} answers of {MAX_XML_BYTES / 2**20:.0f} MiB at once, bodies included: peak RSS",
            tuple(together),
            "MB",
            CONCURRENT_TARGET_MB,
        ),
        Figure(
            f"one answer of {size / 1e6:.0f} MB, CPU to parse and read its records",
            tuple(cpu for _, _, cpu in single),
            "s",
            None,
        ),
    ]
    argv = ["--quick"] if args.quick else ["--megabytes", str(args.megabytes), "--runs", str(args.runs)]
    passed = report(
        f"Answer memory; load average {load_average()}", figures, rerun_command("answer_memory.py", argv)
    )
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()
