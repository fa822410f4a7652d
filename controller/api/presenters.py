"""Turn stored records into API bodies."""

from __future__ import annotations

from controller.api.context import Context
from controller.api.models import Event, Release
from controller.store import ReleaseRecord


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
