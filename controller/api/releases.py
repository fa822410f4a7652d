"""Routes for releases: create one, read one with its timeline, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from controller.api.audit import note_release
from controller.api.auth import Deployer, Viewer
from controller.api.context import Context, context
from controller.api.errors import declared
from controller.api.models import HistoryQuery, Release, ReleaseRequest
from controller.api.presenters import release_out, release_path
from controller.api.services import Name, found
from controller.chaosbridge.services import ChaosServices
from controller.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/services/{service}/releases", tags=["releases"])

Ctx = Annotated[Context, Depends(context)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Repeat a request with the same key to get the same release",
    ),
]


@router.post(
    "",
    response_model=Release,
    status_code=202,
    responses={
        200: {"model": Release, "description": "Created before, same Idempotency-Key"},
        **declared(400, 401, 403, 404, 409, 422),
    },
)
async def create_release(
    who: Deployer,
    service: Name,
    body: ReleaseRequest,
    ctx: Ctx,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Release:
    """Ship an image to the idle colour; follow the release at its URL."""
    found(ctx, service)
    key = _checked_key(idempotency_key)
    release, is_new = await ctx.releases.create(service, body.image, who.name, key)
    note_release(request, release.id)
    if is_new:
        faults = ctx.chaos.open_faults(service)
        ChaosServices(ctx.store).note_open_faults(release.id, faults)
    response.status_code = 202 if is_new else 200
    response.headers["Location"] = release_path(release)
    return release_out(ctx, release, with_timeline=True)


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > 200 or not key.isprintable():
        raise InvalidInput("Idempotency-Key", key, "must be 1-200 printable characters")
    return key


@router.get("", response_model=list[Release], responses=declared(401, 403, 404, 422))
async def list_releases(
    who: Viewer,
    service: Name,
    ctx: Ctx,
    query: Annotated[HistoryQuery, Query()],
) -> list[Release]:
    """A service's releases, newest first."""
    found(ctx, service)
    return [release_out(ctx, r) for r in ctx.store.releases(service, query.limit)]


@router.get(
    "/{release_id}", response_model=Release, responses=declared(401, 403, 404, 422)
)
async def get_release(who: Viewer, service: Name, release_id: str, ctx: Ctx) -> Release:
    """One release with every phase change and note of its timeline."""
    found(ctx, service)
    release = ctx.store.release(release_id)
    if release is None or release.service != service:
        raise NotFound(
            f'service "{service}" has no release {release_id!r}', release=release_id
        )
    return release_out(ctx, release, with_timeline=True)
