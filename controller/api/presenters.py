"""Turn stored records into API bodies."""

from __future__ import annotations

from controller.api.context import Context
from controller.api.models import Event, Release
from controller.probes import probe, replica_url
from controller.runtime.base import Replica, ReplicaState
from controller.store import ReleaseRecord, ServiceRecord
from proxy.routes import Color

HEALTH_TIMEOUT = 1.0  # seconds a status probe of one replica may take


def release_path(release: ReleaseRecord) -> str:
    """The API path of one release."""
    return f"/api/v1/services/{release.service}/releases/{release.id}"


def release_out(
    ctx: Context, release: ReleaseRecord, with_timeline: bool = False
) -> Release:
    """A release as the API shows it."""
    timeline = None
    if with_timeline:
        timeline = [
            Event(at=e.at, phase=e.phase, actor=e.actor, reason=e.reason)
            for e in ctx.store.timeline(release.id)
        ]
    return Release(
        id=release.id,
        service=release.service,
        number=release.number,
        image=release.image_ref,
        image_id=release.image_id,
        color=release.color,
        phase=release.phase,
        reason=release.reason,
        created_by=release.created_by,
        created_at=release.created_at,
        updated_at=release.updated_at,
        url=release_path(release),
        timeline=timeline,
    )


def color_role(
    record: ServiceRecord, color: Color, release: ReleaseRecord | None
) -> str:
    """What a colour holding ``release`` is to the service right now."""
    if color is record.live_color:
        return "live"
    if release is not None and release.phase.is_in_flight:
        return "staged"
    if release is not None:
        return "standby"
    return "idle"


async def replica_health(ctx: Context, replica: Replica, path: str) -> tuple[bool, str]:
    """A quick probe of a running replica's ``path``: (is healthy, what it said)."""
    if replica.state is not ReplicaState.RUNNING or replica.address is None:
        return False, f"not probed: {replica.state.value}"
    url = replica_url(replica.address, path)
    result = await probe(ctx.steps.client, url, HEALTH_TIMEOUT)
    return result.is_ok, result.describe()
