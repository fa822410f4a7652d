"""The inventory: every running artifact of this controller, read from the engine.

What runs is what the engine reports, not what the store expects: the image
id comes from each container, and ``pinned`` says whether it is the one its
release resolved. The store adds the release's reference and the role.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends

from controller.api.auth import Viewer
from controller.api.context import Context, context
from controller.api.errors import declared
from controller.api.models import Artifact
from controller.api.presenters import color_role, replica_health
from controller.errors import OperationFailed
from controller.runtime.base import Replica, ReplicaState
from controller.runtime.errors import EngineError
from controller.store import ReleaseRecord, ServiceRecord

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory"])

Ctx = Annotated[Context, Depends(context)]

UP = (ReplicaState.RUNNING, ReplicaState.PAUSED)


@router.get("", response_model=list[Artifact], responses=declared(401, 403, 502))
async def inventory(who: Viewer, ctx: Ctx) -> list[Artifact]:
    """Every running container of this controller, what it runs and its health."""
    try:
        replicas = await asyncio.to_thread(ctx.runtime.list_replicas)
    except EngineError as exc:
        raise OperationFailed(f"the engine did not list the replicas: {exc}") from exc
    running = [replica for replica in replicas if replica.state in UP]
    digests = await _repo_digests(ctx, {replica.image_id for replica in running})
    records = {record.name: record for record in ctx.store.services()}
    return list(
        await asyncio.gather(
            *(_artifact(ctx, r, records.get(r.service), digests) for r in running)
        )
    )


async def _repo_digests(ctx: Context, image_ids: set[str]) -> dict[str, str | None]:
    """The repository digest of each image, None where there is none."""
    found: dict[str, str | None] = {}
    for image_id in sorted(image_ids):
        try:
            image = await asyncio.to_thread(ctx.runtime.resolve_image, image_id)
        except EngineError:
            found[image_id] = None  # the image went while its container runs
            continue
        found[image_id] = image.repo_digest
    return found


async def _artifact(
    ctx: Context,
    replica: Replica,
    record: ServiceRecord | None,
    digests: dict[str, str | None],
) -> Artifact:
    release = ctx.store.release(replica.release)
    healthy, probe = False, "not probed: the service is not registered"
    if record is not None:
        healthy, probe = await replica_health(ctx, replica, record.spec.readiness.path)
    return Artifact(
        service=replica.service,
        color=replica.color,
        role=_role(ctx, replica, record, release),
        release=replica.release,
        image=release.image_ref if release else None,
        image_id=replica.image_id,
        pinned=release is not None and release.image_id == replica.image_id,
        repo_digest=digests.get(replica.image_id),
        container_name=replica.name,
        container_id=replica.container_id,
        state=replica.state.value,
        started_at=replica.started_at.isoformat() if replica.started_at else None,
        healthy=healthy,
        probe=probe,
    )


def _role(
    ctx: Context,
    replica: Replica,
    record: ServiceRecord | None,
    release: ReleaseRecord | None,
) -> str:
    """live, standby or staged; retiring for one its colour no longer holds."""
    if record is None or release is None:
        return "unknown"
    if ctx.store.slot(record.name, replica.color).release_id == release.id:
        return color_role(record, replica.color, release)
    if release.phase.is_in_flight:
        return "staged"  # still deploying: its colour is not handed over yet
    return "retiring"
