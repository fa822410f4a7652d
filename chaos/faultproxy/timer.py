"""Waking coroutines at exact times, finer than the event loop can.

The loop waits in ``epoll``, which counts whole milliseconds, and rounds
every wait up: a held request would come out half a millisecond late on
average, a sizeable share of the 2 ms a short latency fault may be off
by. One thread sleeps until the earliest deadline instead, to within the
kernel's timer slack, and hands the wake-up to the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading

Entry = tuple[float, int, asyncio.Future[None]]


class FineTimer:
    """Deadlines on the loop's clock, kept by one thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[Entry] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="timer", daemon=True)
        self._thread.start()

    async def sleep_until(self, deadline: float) -> None:
        """Return at ``deadline`` of the loop's clock; at once if it has passed."""
        if deadline <= self._loop.time():
            return
        woken = self._loop.create_future()
        with self._changed:
            heapq.heappush(self._due, (deadline, next(self._order), woken))
            self._changed.notify()
        await woken

    def close(self) -> None:
        """Stop the thread; sleepers left waiting are woken by cancellation."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while True:
            with self._changed:
                due = self._wait_for_due()
            if due is None:
                return
            for future in due:
                self._loop.call_soon_threadsafe(_wake, future)

    def _wait_for_due(self) -> list[asyncio.Future[None]] | None:
        """The futures whose deadline has come; None once closed."""
        while not self._closed:
            now = self._loop.time()
            if self._due and self._due[0][0] <= now:
                due = []
                while self._due and self._due[0][0] <= now:
                    due.append(heapq.heappop(self._due)[2])
                return due
            wait = self._due[0][0] - now if self._due else None
            self._changed.wait(wait)
        return None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
