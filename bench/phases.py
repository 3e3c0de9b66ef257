"""Run the `dbt-intacct` command line with its phases timed from outside the engine.

    .venv/bin/python bench/phases.py OUT.json sync|plan [dbt-intacct options...]

The engine records its main phases in `intacct_run_results.json` (`timings`); this wrapper gives the
finer breakdown the benchmarks print (each statement of the diff, the HTTP exchanges, a bare process's
start-up) by wrapping a few methods before `dbt_intacct.cli.main` runs, changing nothing else: the
command, its output and its exit code are the real ones. OUT.json gets seconds per phase:

    startup  process start until the warehouse connection is open (interpreter, imports, dbt project and
             profile, adapter, macros): the dbt adapter's start-up
    diff     the warehouse work that finds what to send: pending intents, the diff statement (key
             problems, candidates, removals), the change set's and the removals' tables, the row count
    read     reading the change set's pages
    process  mapping, matching, building and validating payloads, and (in a sync) sending and recording
    intents, outcomes, send   the parts of `process` spent writing state and waiting for Intacct
    PHASE.METHOD  the same, per wrapped method (diff.change_table ...)
    http, http.count   seconds summed over the HTTP exchanges with Intacct, and how many there were
    total    process start until exit
"""

from __future__ import annotations

import atexit
import functools
import json
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dbt_intacct.cli import main  # noqa: E402
from dbt_intacct.client import IntacctClient  # noqa: E402
from dbt_intacct.state import Differ, Ledger, StateTables  # noqa: E402
from dbt_intacct.sync.planning import Planner  # noqa: E402

seconds: dict[str, float] = defaultdict(float)
marks: dict[str, float] = {}

# (class, method, phase); a method missing from the engine stops the wrapper instead of timing less.
TIMED: tuple[tuple[type, str, str], ...] = (
    (Ledger, "pending_rows", "diff"),
    (Differ, "diff", "diff"),
    (Differ, "change_table", "diff"),
    (Differ, "removal_table", "diff"),
    (Differ, "row_count", "diff"),
    (Planner, "plan_changes", "process"),
    (Planner, "plan_removals", "process"),
    (Ledger, "record_intents", "intents"),
    (Ledger, "record_outcomes", "outcomes"),
)
# Parts of a timed method, reported on their own line only (their time is already in their phase).
PARTS: tuple[tuple[type, str, str], ...] = ((Differ, "_check", "diff"),)
# Each HTTP exchange with Intacct (seconds summed: with requests in flight together, more than wall time).
EXCHANGES: tuple[tuple[type, str, str], ...] = ((IntacctClient, "_exchange", "http"),)
GENERATORS: tuple[tuple[type, str, str], ...] = (
    (Differ, "pages", "read"),
    (IntacctClient, "execute_batches", "send"),
)


def _timed(function: Callable[..., Any], phase: str, *, part: bool = False) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            if not part:
                seconds[phase] += elapsed
            seconds[f"{phase}.{function.__name__.lstrip('_')}"] += elapsed

    return wrapper


def _timed_generator(function: Callable[..., Iterator[Any]], phase: str) -> Callable[..., Iterator[Any]]:
    # Only the time spent producing each item counts, not the caller's work between items.
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        items = function(*args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                seconds[phase] += time.perf_counter() - started
                return
            seconds[phase] += time.perf_counter() - started
            yield item

    return wrapper


def _counted(function: Callable[..., Any], phase: str) -> Callable[..., Any]:
    # Called from the sending threads: a lock keeps the sums right.
    lock = threading.Lock()

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            with lock:
                seconds[phase] += elapsed
                seconds[f"{phase}.count"] += 1

    return wrapper


def _mark_ready(function: Callable[..., Any]) -> Callable[..., Any]:
    # StateTables.ensure is the first thing a command does once the warehouse connection is open.
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        marks.setdefault("startup", time.perf_counter() - STARTED)
        return function(*args, **kwargs)

    return wrapper


def _write(path: Path) -> None:
    figures = {"total": time.perf_counter() - STARTED, **marks, **dict(seconds)}
    path.write_text(json.dumps({k: round(v, 4) for k, v in figures.items()}, indent=2) + "\n")


def install() -> None:
    """Wrap the timed methods; raises AttributeError when the engine no longer has one of them."""
    for cls, name, phase in TIMED:
        setattr(cls, name, _timed(getattr(cls, name), phase))
    for cls, name, phase in PARTS:
        setattr(cls, name, _timed(getattr(cls, name), phase, part=True))
    for cls, name, phase in EXCHANGES:
        setattr(cls, name, _counted(getattr(cls, name), phase))
    for cls, name, phase in GENERATORS:
        setattr(cls, name, _timed_generator(getattr(cls, name), phase))
    StateTables.ensure = _mark_ready(StateTables.ensure)  # type: ignore[method-assign]


if __name__ == "__main__":
    out = Path(sys.argv[1])
    install()
    atexit.register(_write, out)
    sys.argv = ["dbt-intacct", *sys.argv[2:]]
    main()
