"""SIGINT and SIGTERM raised as `Interrupted` in the main thread, so that a sync can record what it did.

The signal is also remembered (`received`): a driver that checks for signals itself (DuckDB does, in a
long statement) turns the exception into an error of its own, and the code that catches that error asks
whether the run was interrupted. While the run records its results, interrupts are held: a second
Ctrl-C must not cut the record of the first short (SIGKILL still ends the process at once).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dbt_intacct.errors import Interrupted

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[Interrupted] = []


def _raise(signum: int, frame: FrameType | None) -> None:
    stop = Interrupted(signal.Signals(signum).name, signum)
    _received.append(stop)
    raise stop


def received() -> Interrupted | None:
    """The interrupt received within `interrupts_raised`, if any (even one a driver swallowed)."""
    return _received[0] if _received else None


def check() -> None:
    """Raise the interrupt received, if any."""
    stop = received()
    if stop is not None:
        raise stop


@contextmanager
def interrupts_raised() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise `Interrupted` (only in the main thread: elsewhere the
    block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {number: signal.signal(number, _raise) for number in _SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _received.clear()


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are ignored (the run is recording what it did)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in _SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
