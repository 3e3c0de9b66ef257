"""Requests in flight: the request slots of one client and the pipeline that keeps them busy.

While a pipeline runs, every request of the client takes one of its ``concurrency`` slots, the
pipeline's sending threads and the caller's own requests (a lookup made between batches) alike; the
caller's go ahead of queued batches, so a lookup never waits behind the whole queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence

from dbt_intacct.errors import IntacctError, RequestTooLarge, TerminalIntacctError
from dbt_intacct.xml.request import Function
from dbt_intacct.xml.response import FunctionResult

BatchOutcome = dict[str, tuple[FunctionResult, ...]] | IntacctError


class RequestSlots:
    """Counts a client's requests against the running pipeline's ``concurrency``; thread-safe."""

    def __init__(self) -> None:
        self._slots = threading.Condition()
        self._limit: int | None = None
        self._taken = 0
        self._wanted = 0  # requests other than the pipeline's waiting for a slot
        self._local = threading.local()

    def open(self, concurrency: int) -> bool:
        """Start counting requests against ``concurrency``; False when an outer pipeline already does."""
        with self._slots:
            if self._limit is not None:
                return False
            self._limit = concurrency
            return True

    def close(self, owner: bool) -> None:
        """Stop counting, if ``open`` returned True for this pipeline."""
        if owner:
            with self._slots:
                self._limit = None
                self._slots.notify_all()

    def mark_pipeline_thread(self) -> None:
        """The calling thread sends the pipeline's batches: its requests queue behind everyone else's."""
        self._local.pipeline = True

    def take(self) -> bool:
        """Wait for a free slot when a pipeline runs; True when one was taken (``give`` it back)."""
        pipeline = bool(getattr(self._local, "pipeline", False))
        with self._slots:
            if self._limit is None:
                return False
            if not pipeline:
                self._wanted += 1
            try:
                while self._limit is not None and self._taken >= self._limit - (
                    self._wanted if pipeline else 0
                ):
                    self._slots.wait()
            finally:
                if not pipeline:
                    self._wanted -= 1
            if self._limit is None:
                return False
            self._taken += 1
            return True

    def give(self) -> None:
        """Return a slot that ``take`` gave."""
        with self._slots:
            self._taken -= 1
            self._slots.notify_all()


def run_pipeline(
    batches: Iterable[Sequence[Function]],
    send: Callable[[Sequence[Function]], BatchOutcome],
    slots: RequestSlots,
    *,
    concurrency: int,
    ahead: int,
) -> Iterator[tuple[Sequence[Function], BatchOutcome]]:
    """``send`` each batch from up to ``concurrency`` threads; yield each outcome as it lands.

    See ``IntacctClient.execute_batches`` for the contract: batches taken lazily in the caller's thread
    (up to ``ahead`` sooner than a slot frees), slots refilled before outcomes are handed over, a
    ``TerminalIntacctError`` (other than ``RequestTooLarge``) or a failing source stops further sends.
    """
    source = iter(batches)
    lock = threading.Condition()
    ready: deque[Sequence[Function]] = deque()
    landed: deque[tuple[Sequence[Function], BatchOutcome]] = deque()
    busy = 0
    stopped = False  # nothing more is sent: a terminal error, a failing source, or the caller closed
    exhausted = False  # the source has no more batches
    failure: BaseException | None = None

    def wanted() -> bool:  # holding the lock
        return not stopped and not exhausted and len(ready) + busy < concurrency + ahead

    def over() -> bool:  # holding the lock
        return busy == 0 and not landed and (stopped or (exhausted and not ready))

    def sender() -> None:
        nonlocal busy, stopped, failure
        slots.mark_pipeline_thread()
        while True:
            with lock:
                while not ready and not stopped and not exhausted:
                    lock.wait()
                if stopped or not ready:
                    return
                batch = ready.popleft()
                busy += 1
                lock.notify_all()
            try:
                outcome = send(batch)
            except BaseException as error:  # a bug: stop everything, raise it in the caller's thread
                with lock:
                    busy -= 1
                    failure = failure or error
                    stopped = True
                    lock.notify_all()
                return
            with lock:
                busy -= 1
                landed.append((batch, outcome))
                # A request too large is the caller's to split; it does not stop the others.
                if isinstance(outcome, TerminalIntacctError) and not isinstance(outcome, RequestTooLarge):
                    stopped = True
                lock.notify_all()

    def take() -> None:
        """Move batches from the source to the queue while there is room (in the caller's thread)."""
        nonlocal stopped, exhausted, failure
        while True:
            with lock:
                if not wanted():
                    return
            try:
                batch = next(source)
            except StopIteration:
                with lock:
                    exhausted = True
                    lock.notify_all()
                return
            except BaseException as error:
                with lock:
                    failure = failure or error
                    stopped = True
                    lock.notify_all()
                return
            with lock:
                ready.append(batch)
                lock.notify_all()

    owner = slots.open(concurrency)
    threads = [
        threading.Thread(target=sender, name=f"intacct-send-{index}", daemon=True)
        for index in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    try:
        while True:
            take()
            with lock:
                while not landed and not over() and not wanted():
                    lock.wait()
                outcomes = list(landed)
                landed.clear()
                finished = over()
            if outcomes:
                take()  # refill first: the caller's work on these outcomes overlaps the next requests
                yield from outcomes
            elif finished:
                break
        if failure is not None:
            raise failure
    finally:
        with lock:
            stopped = True
            lock.notify_all()
        for thread in threads:
            thread.join()
        slots.close(owner)
