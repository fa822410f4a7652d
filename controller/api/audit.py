"""The audit log: every mutating request, allowed or refused, and who sent it.

``AuditLog`` is ASGI middleware outside access control and the routes, so
it sees the status of every request that changes something or tried to,
including those refused with 401, 403 or 422 and those that raised: the
entry is written in a ``finally`` once the app is done. Routes that act on
a release name it with ``note_release``; the service, and the release of
a release's own path, come from the path itself, so even a request
refused before routing names them. Routes off a service's path, such as
chaos runs, name the service with ``note_service``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.api.auth import Viewer, actor_of
from controller.api.context import Context, context
from controller.api.errors import declared
from controller.api.models import AuditEntry, AuditQuery
from controller.store import AuditRecord, Store, now

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RELEASE = "bgctl.audit.release"  # scope key a route fills with its release id
SERVICE = "bgctl.audit.service"  # scope key a route off a service's path fills
MAX_PATH = 1000
MAX_NAME = 64
TARGET = re.compile(
    r"^/api/v1/services/(?P<service>[^/]+)(?:/releases/(?P<release>[^/]+))?"
)

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Ctx = Annotated[Context, Depends(context)]


def note_release(request: Request, release_id: str) -> None:
    """Name the release a request acted on in its audit entry."""
    request.scope[RELEASE] = release_id


def note_service(request: Request, service: str) -> None:
    """Name the service a request acted on when its path does not."""
    request.scope[SERVICE] = service


def outcome(status: int) -> str:
    """A word for how a request ended, by its status code."""
    if status < 400:
        return "succeeded"
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    return "refused" if status < 500 else "failed"


class AuditLog:
    """ASGI middleware: append every mutating request to the store's audit log."""

    def __init__(self, app: ASGIApp, store: Callable[[], Store | None]) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before answering

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._write(entry(scope, status))

    def _write(self, record: AuditRecord) -> None:
        store = self.store()
        try:
            if store is None:
                raise RuntimeError("the controller has no store yet")
            store.add_audit(record)
        except Exception:
            log.exception(
                "could not write the audit entry of %s %s by %s (status %s)",
                record.method,
                record.path,
                record.actor,
                record.status,
            )


def entry(scope: Scope, status: int) -> AuditRecord:
    """The audit entry of a finished request."""
    path = str(scope["path"])
    target = TARGET.match(path)
    service = target["service"] if target else scope.get(SERVICE)
    release = (target["release"] if target else None) or scope.get(RELEASE)
    return AuditRecord(
        at=now(),
        actor=actor_of(scope),
        method=str(scope["method"]),
        path=path[:MAX_PATH],
        service=service[:MAX_NAME] if service else None,
        release_id=str(release)[:MAX_NAME] if release else None,
        status=status,
        outcome=outcome(status),
    )


@router.get("", response_model=list[AuditEntry], responses=declared(401, 403, 422))
async def list_audit(
    who: Viewer,
    ctx: Ctx,
    query: Annotated[AuditQuery, Query()],
) -> list[AuditEntry]:
    """Mutating requests, newest first, of one service or actor if asked."""
    return [
        AuditEntry(
            id=record.id,
            at=record.at,
            actor=record.actor,
            method=record.method,
            path=record.path,
            service=record.service,
            release=record.release_id,
            status=record.status,
            outcome=record.outcome,
        )
        for record in ctx.store.audit(query.service, query.actor, query.limit)
    ]
