"""The controller's event hub: release and chaos events, fanned out as they happen.

Every subscriber reads from a bounded queue of its own. Publishing never
waits: a subscriber whose queue is full is dropped, and its stream ends
with one last ``stream.dropped`` event, so a slow reader never slows a
release. When the controller stops, every stream ends with
``stream.closed``.

Event ids count up from 1 in each controller process and start again when
the controller restarts; they order the events of one process and are not
kept anywhere, so there is no replay after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from controller.store.records import EventRecord, now

log = logging.getLogger(__name__)

QUEUE_SIZE = 256  # events a subscriber may fall behind by before it is dropped

RELEASE_PHASE = "release.phase"  # a release moved to another phase
RELEASE_NOTE = "release.note"  # a line on a release's timeline, same phase
CHAOS_RUN = "chaos.run"  # a chaos run started or ended
CHAOS_FAULT = "chaos.fault"  # a fault was applied or undone
STREAM_DROPPED = "stream.dropped"  # this subscriber fell behind; last event
STREAM_CLOSED = "stream.closed"  # the controller is stopping; last event

TYPES = frozenset({RELEASE_PHASE, RELEASE_NOTE, CHAOS_RUN, CHAOS_FAULT})
"""The types a subscriber may ask for; the two stream endings always come."""

CLOSING = "the controller is stopping"


@dataclass(frozen=True)
class Event:
    """One thing that happened to a release or a chaos run."""

    id: int  # counts up within one controller process
    type: str
    at: str  # ISO 8601, UTC
    service: str | None
    release: str | None = None
    run: str | None = None
    phase: str | None = None  # the release's phase after the event
    status: str | None = None  # the run's status, or "applied"/"undone"
    actor: str | None = None
    reason: str = ""

    @property
    def is_last(self) -> bool:
        """Whether the stream ends with this event."""
        return self.type in (STREAM_DROPPED, STREAM_CLOSED)

    def to_dict(self) -> dict[str, object]:
        """The event as JSON, without the fields it does not use."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class Subscription:
    """One subscriber's queue and the filter that fills it."""

    def __init__(
        self, service: str | None, types: frozenset[str] | None, size: int
    ) -> None:
        self.service = service
        self.types = types
        self._size = size
        # One slot more than the limit, kept for the event that ends the stream.
        self._queue: asyncio.Queue[Event] = asyncio.Queue(size + 1)
        self.is_ended = False

    def wants(self, event: Event) -> bool:
        """Whether the event passes this subscriber's filter."""
        if self.types is not None and event.type not in self.types:
            return False
        return self.service is None or event.service == self.service

    def offer(self, event: Event) -> bool:
        """Queue an event; False when the queue is full."""
        if self._queue.qsize() >= self._size:
            return False
        self._queue.put_nowait(event)
        return True

    def end(self, last: Event) -> None:
        """Queue the event that ends the stream; nothing is queued after it."""
        if not self.is_ended:
            self.is_ended = True
            self._queue.put_nowait(last)

    async def next(self, timeout: float) -> Event | None:
        """The next event, or None when none came within ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class EventHub:
    """Hands every published event to the subscribers that want it."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()  # guards the id counter
        self._last_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.is_closed = False

    @property
    def subscribers(self) -> int:
        """How many subscribers are attached."""
        return len(self._subscribers)

    def subscribe(
        self, service: str | None = None, types: Iterable[str] | None = None
    ) -> Subscription:
        """Attach a subscriber; call from the event loop that reads it."""
        self._loop = asyncio.get_running_loop()
        wanted = frozenset(types) if types is not None else None
        found = Subscription(service, wanted, self._queue_size)
        if self.is_closed:
            found.end(self._ending(STREAM_CLOSED, None, CLOSING))
        else:
            self._subscribers.add(found)
        return found

    def unsubscribe(self, subscription: Subscription) -> None:
        """Detach a subscriber; nothing more is queued for it."""
        self._subscribers.discard(subscription)

    def publish(
        self,
        type: str,
        service: str | None,
        *,
        release: str | None = None,
        run: str | None = None,
        phase: str | None = None,
        status: str | None = None,
        actor: str | None = None,
        reason: str = "",
        at: str | None = None,
    ) -> Event:
        """Stamp an event with the next id and hand it to its subscribers.

        Safe from any thread: from outside the event loop, delivery is handed
        to the loop.
        """
        with self._lock:
            self._last_id += 1
            event = Event(
                self._last_id,
                type,
                at or now(),
                service,
                release,
                run,
                phase,
                status,
                actor,
                reason,
            )
        loop = self._loop
        if loop is None or loop.is_closed():
            return event  # no subscriber has ever been attached
        if _running_loop() is loop:
            self._deliver(event)
        else:
            loop.call_soon_threadsafe(self._deliver, event)
        return event

    def publish_line(
        self, service: str, release_id: str, line: EventRecord, *, changed: bool
    ) -> None:
        """Publish one line of a release's timeline, as the store writes it."""
        self.publish(
            RELEASE_PHASE if changed else RELEASE_NOTE,
            service,
            release=release_id,
            phase=line.phase.value,
            actor=line.actor,
            reason=line.reason,
            at=line.at,
        )

    def close(self) -> None:
        """End every stream with ``stream.closed``; safe from a signal handler.

        The streams end on the loop's next turn, never inside the caller.
        """
        self.is_closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._end_all)

    def _ending(self, type: str, service: str | None, reason: str) -> Event:
        with self._lock:
            self._last_id += 1
            return Event(self._last_id, type, now(), service, reason=reason)

    def _deliver(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            if subscription.wants(event) and not subscription.offer(event):
                self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        log.warning(
            "an event subscriber fell %d events behind and was dropped",
            self._queue_size,
            extra={"service": subscription.service},
        )
        reason = (
            f"this subscriber fell {self._queue_size} events behind and was "
            "dropped; reconnect to follow again"
        )
        ending = self._ending(STREAM_DROPPED, subscription.service, reason)
        subscription.end(ending)

    def _end_all(self) -> None:
        ending = self._ending(STREAM_CLOSED, None, CLOSING)
        for subscription in list(self._subscribers):
            subscription.end(ending)
        self._subscribers.clear()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
