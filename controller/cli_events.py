"""Following the controller's event stream from the CLI.

``EventStream`` reads the server-sent events of ``GET /api/v1/events`` in a
thread of its own into a queue, so a command waits for the next event with
a timeout of its choosing and keeps its own deadline. ``Progress`` shows,
on a terminal only, one line that says what is being waited for and for how
long; pipelines get plain lines.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

import httpx

from controller.client import ApiError, Client

EVENTS_PATH = "/api/v1/events"
LAST_TYPES = {"stream.dropped", "stream.closed"}


class StreamEnded(Exception):
    """The event stream ended: dropped, closed by the controller, or lost."""


class EventStream:
    """An open event stream whose events a reader thread queues."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._events: queue.Queue[dict[str, Any] | StreamEnded] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def open(
        cls, client: Client, service: str | None, types: str | None = None
    ) -> EventStream:
        """Subscribe to the events of ``service``; ApiError if refused or unreachable.

        Once this returns, the controller holds the subscription: nothing
        published after it is missed.
        """
        params = {k: v for k, v in (("service", service), ("types", types)) if v}
        return cls(client.stream(EVENTS_PATH, params))

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event, None after ``timeout`` seconds; StreamEnded at the end."""
        try:
            found = self._events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if isinstance(found, StreamEnded):
            self._events.put(found)  # every later call ends too
            raise found
        return found

    def close(self) -> None:
        """Stop reading and let the connection go."""
        self._response.close()

    def _read(self) -> None:
        try:
            for event in parse(self._response.iter_lines()):
                self._events.put(event)
                if event.get("type") in LAST_TYPES:
                    self._events.put(StreamEnded(event.get("reason", event["type"])))
                    return
            self._events.put(StreamEnded("the controller ended the stream"))
        except (httpx.HTTPError, OSError, ValueError) as exc:
            self._events.put(StreamEnded(f"the event stream broke: {exc}"))


def open_or_none(client: Client, service: str) -> EventStream | None:
    """The service's event stream, or None when it cannot be opened."""
    try:
        return EventStream.open(client, service)
    except ApiError:
        return None


def parse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON data of each server-sent event in ``lines``; comments skipped."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield json.loads("\n".join(data))
            data = []
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))


def event_text(event: dict[str, Any], with_subject: bool = False) -> str:
    """One event as the CLI prints it: time, phase or status, reason.

    Lines after the reason's first are indented under it.
    """
    at = str(event.get("at", ""))
    state = event.get("phase") or event.get("status") or event.get("type")
    if event.get("run"):
        state = f"chaos {event['run']} {state}"
    elif with_subject and event.get("release"):
        state = f"{event['release']} {state}"
    reason = str(event.get("reason", "")).replace("\n", "\n      ")
    return f"  {at} {state}: {reason}"


WAITING_FOR = {
    "Pending": "the release to start",
    "Deploying": "the new replicas to be ready",
    "Verifying": "checks on preview",
    "AwaitingPromotion": "a promotion",
    "Promoting": "the flip to be confirmed",
    "PostVerifying": "the watch on live to end",
}


class Progress:
    """One self-rewriting line on a terminal: the phase, what it waits for, time."""

    def __init__(self, out: TextIO = sys.stdout, enabled: bool | None = None) -> None:
        self._out = out
        self.is_live = out.isatty() if enabled is None else enabled
        self._started = time.monotonic()
        self._shown = False

    def update(self, release_id: str, phase: str) -> None:
        """Redraw the line for ``phase`` with the time since the start."""
        if not self.is_live:
            return
        elapsed = int(time.monotonic() - self._started)
        waiting = WAITING_FOR.get(phase, "the next phase")
        text = (
            f"  release {release_id} {phase}: waiting for {waiting} "
            f"({elapsed // 60}:{elapsed % 60:02d})"
        )
        self._out.write(f"\r\x1b[K{text}")
        self._out.flush()
        self._shown = True

    def print(self, line: str) -> None:
        """Print a line above the progress line."""
        self.clear()
        self._out.write(line + "\n")
        self._out.flush()

    def clear(self) -> None:
        """Remove the progress line."""
        if self._shown:
            self._out.write("\r\x1b[K")
            self._out.flush()
            self._shown = False
