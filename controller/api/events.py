"""The event stream: release and chaos events as server-sent events.

Each event is one frame with an ``id:`` line (the hub's counter, which
starts again when the controller restarts), an ``event:`` line with its
type and one ``data:`` line of JSON. A comment line keeps a quiet stream
open every ``HEARTBEAT`` seconds. A stream ends after a ``stream.dropped``
frame when its reader fell behind, or a ``stream.closed`` frame when the
controller stops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from controller.api.auth import Viewer
from controller.api.errors import declared
from controller.api.services import checked_name
from controller.errors import Forbidden, InvalidInput
from controller.events import (
    CHAOS_FAULT,
    CHAOS_RUN,
    TYPES,
    Event,
    EventHub,
    Subscription,
)
from controller.tokens import Role

router = APIRouter(prefix="/api/v1/events", tags=["events"])

HEARTBEAT = 15.0  # seconds between comment lines on a quiet stream
CHAOS_TYPES = frozenset({CHAOS_RUN, CHAOS_FAULT})
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def hub_of(request: Request) -> EventHub:
    """The app's event hub."""
    found: EventHub = request.app.state.events
    return found


def checked_service(
    service: Annotated[
        str | None, Query(description="only events of this service")
    ] = None,
) -> str | None:
    """Refuse a service name no spec could have."""
    return None if service is None else checked_name(service)


def checked_types(
    types: Annotated[
        str | None,
        Query(description="comma-separated event types; all when absent"),
    ] = None,
) -> frozenset[str] | None:
    """The event types asked for; every one must be a known type."""
    if types is None:
        return None
    wanted = frozenset(part.strip() for part in types.split(","))
    if not wanted or not wanted <= TYPES:
        known = ", ".join(sorted(TYPES))
        raise InvalidInput("types", types, f"must be a comma-separated list of {known}")
    return wanted


@router.get(
    "",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-sent events until the client or controller stops",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **declared(401, 403, 422),
    },
)
async def stream_events(
    who: Viewer,
    request: Request,
    service: Annotated[str | None, Depends(checked_service)],
    types: Annotated[frozenset[str] | None, Depends(checked_types)],
) -> StreamingResponse:
    """Follow release phases and notes, chaos runs and faults as they happen.

    Chaos events go only to roles that may read chaos (sre, admin), as the
    chaos routes and the chaos metrics do.
    """
    hub = hub_of(request)
    subscription = hub.subscribe(service, readable(types, who.role))
    return StreamingResponse(
        frames(hub, subscription),
        media_type="text/event-stream",
        headers=STREAM_HEADERS,
    )


def readable(types: frozenset[str] | None, role: Role) -> frozenset[str]:
    """The types asked for that ``role`` may read; Forbidden for chaos without."""
    wanted = TYPES if types is None else types
    if role.allows(Role.SRE):
        return wanted
    chaos = {kind for kind in wanted if kind in CHAOS_TYPES}
    if types is not None and chaos:
        raise Forbidden(
            f"types: {', '.join(sorted(chaos))} need the sre role, "
            f"got a {role.value} token"
        )
    return wanted - CHAOS_TYPES


async def frames(
    hub: EventHub, subscription: Subscription, heartbeat: float = HEARTBEAT
) -> AsyncIterator[str]:
    """The stream's text: a greeting, then events and heartbeats until the last."""
    try:
        yield ": connected\n\n"
        while True:
            event = await subscription.next(heartbeat)
            if event is None:
                yield ": heartbeat\n\n"
                continue
            yield frame(event)
            if event.is_last:
                return
    finally:
        hub.unsubscribe(subscription)


def frame(event: Event) -> str:
    """One event as a server-sent event frame."""
    data = json.dumps(event.to_dict(), separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"
