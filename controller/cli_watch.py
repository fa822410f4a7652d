"""``bgctl status SERVICE --watch``: a service's events as they happen.

Each event is one line: time, what changed and why. When the live colour
changes, the status summary is printed again. Ctrl-C ends the watch with
exit 0; a stream the controller ends (it stopped, or this reader fell
behind) is opened again a few times before the watch gives up with exit 3.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import typer

from controller.cli_common import EXIT_UNREACHABLE, call
from controller.cli_events import EventStream, StreamEnded, event_text
from controller.client import ApiError, Client

REOPENINGS = 3  # times a stream that ended is opened again
REOPEN_PAUSE = 1.0  # seconds before each
WAKE = 1.0  # seconds between looks for Ctrl-C while the stream is quiet


def watch_status(
    client: Client,
    service: str,
    as_json: bool,
    summary: Callable[[dict[str, Any]], str],
) -> None:
    """Print the service's status, then its events until Ctrl-C."""
    status = call(lambda: client.get(f"/api/v1/services/{service}"))
    if not as_json:
        typer.echo(summary(status))
    try:
        for attempt in range(REOPENINGS + 1):
            stream = _open(client, service, attempt)
            if attempt:
                status = _refreshed(client, status, as_json, summary)
            try:
                status = _follow(client, stream, status, as_json, summary)
            finally:
                stream.close()
    except KeyboardInterrupt:
        return
    typer.echo(f"error: the event stream of {service} kept ending", err=True)
    raise typer.Exit(EXIT_UNREACHABLE)


def _open(client: Client, service: str, attempt: int) -> EventStream:
    """The service's stream; after the first attempt, a pause before it."""
    if attempt:
        time.sleep(REOPEN_PAUSE)
    try:
        return EventStream.open(client, service)
    except ApiError as exc:
        typer.echo(f"error: cannot follow the events of {service}: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from exc


def _follow(
    client: Client,
    stream: EventStream,
    status: dict[str, Any],
    as_json: bool,
    summary: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """Print events until the stream ends; the service's status by then."""
    while True:
        try:
            event = stream.next(WAKE)
        except StreamEnded as exc:
            typer.echo(f"note: {exc}", err=True)
            return status
        if event is None:
            continue
        if as_json:
            typer.echo(json.dumps(event))
        else:
            typer.echo(event_text(event, with_subject=True))
        if event.get("type") == "release.phase":
            status = _refreshed(client, status, as_json, summary)


def _refreshed(
    client: Client,
    status: dict[str, Any],
    as_json: bool,
    summary: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """The service's status again; its summary printed if live changed colour."""
    path = f"/api/v1/services/{status['name']}"
    found: dict[str, Any] = call(lambda: client.get(path))
    if found.get("live_color") != status.get("live_color") and not as_json:
        typer.echo(summary(found))
    return found
