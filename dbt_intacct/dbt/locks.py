"""dbt's locks as thread locks: this tool runs dbt in one process, so no lock needs to be a semaphore.

dbt takes its locks from a multiprocessing "spawn" context (the adapter's connection lock, the manifest's
lock). Each such lock is a named POSIX semaphore watched by multiprocessing's resource tracker, a helper
process; when the tool is killed (SIGKILL, the OOM killer) the tracker finds the semaphore still there and
prints `resource_tracker: There appear to be 1 leaked semaphore objects` to the user's terminal. dbt
threads, never processes, share these locks here, so thread locks are enough and nothing is left behind.
"""

from __future__ import annotations

import threading
from typing import Any


class _ThreadLockContext:
    """The part of a multiprocessing context dbt uses: `Lock()` and `RLock()`."""

    @staticmethod
    def Lock() -> Any:  # named as multiprocessing names it
        return threading.Lock()

    @staticmethod
    def RLock() -> Any:  # named as multiprocessing names it
        return threading.RLock()


_CONTEXT = _ThreadLockContext()


def use_thread_locks() -> None:
    """Make dbt's `get_mp_context()` hand out thread locks, for every later dbt call in this process."""
    import dbt.mp_context

    dbt.mp_context._MP_CONTEXT = _CONTEXT  # type: ignore[assignment]
