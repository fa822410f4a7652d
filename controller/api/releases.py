"""Routes for releases: create one, read one with its timeline, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from controller.api.context import Context, actor, context
from controller.api.models import Release, ReleaseRequest
from controller.api.presenters import release_out, release_path
from controller.api.services import Name, found
from controller.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/services/{service}/releases", tags=["releases"])

Ctx = Annotated[Context, Depends(context)]


@router.post("", response_model=Release, status_code=202)
async def create_release(
    service: Name,
    body: ReleaseRequest,
    ctx: Ctx,
    request: Request,
    response: Response,
) -> Release:
    """Ship an image to the idle colour; follow the release at its URL."""
    found(ctx, service)
    key = _idempotency_key(request)
    release, is_new = await ctx.releases.create(
        service, body.image, actor(request), key
    )
    response.status_code = 202 if is_new else 200
    response.headers["Location"] = release_path(release)
    return release_out(ctx, release, with_timeline=True)


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > 200 or not key.isprintable():
        raise InvalidInput("Idempotency-Key", key, "must be 1-200 printable characters")
    return key


@router.get("", response_model=list[Release])
async def list_releases(
    service: Name,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Release]:
    """A service's releases, newest first."""
    found(ctx, service)
    return [release_out(ctx, r) for r in ctx.store.releases(service, limit)]


@router.get("/{release_id}", response_model=Release)
async def get_release(service: Name, release_id: str, ctx: Ctx) -> Release:
    """One release with every phase change and note of its timeline."""
    found(ctx, service)
    release = ctx.store.release(release_id)
    if release is None or release.service != service:
        raise NotFound(
            f'service "{service}" has no release {release_id!r}', release=release_id
        )
    return release_out(ctx, release, with_timeline=True)
