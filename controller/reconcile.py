"""Start-up reconciliation: make engine and proxy match the store again.

A controller may have died anywhere. The store is the truth about what was
decided; the engine is the truth about what runs. Reconciling:

1. fails every release that was mid-step (one awaiting promotion waits on,
   one being watched is watched again),
2. refreshes each colour's replica addresses from the engine,
3. starts (or adopts) the proxy with the stored live colours,
4. removes labelled containers that no stored release accounts for.
"""

from __future__ import annotations

import asyncio
import logging
import time

from controller.phases import SYSTEM, Phase
from controller.routing import Router
from controller.runtime.base import ContainerRuntime, Replica, ReplicaState
from controller.store import Store
from proxy.routes import Color

log = logging.getLogger(__name__)


# Waiting for a person, or watching live: both pick up where they were.
RESUMABLE = (Phase.AWAITING_PROMOTION, Phase.POST_VERIFYING)


async def reconcile(
    store: Store, runtime: ContainerRuntime, router: Router, stop_timeout: float
) -> None:
    """Bring engine and proxy back in line with the store after a start."""
    replicas = await asyncio.to_thread(runtime.list_replicas)

    # 1. Interrupted releases fail with the phase they were in.
    for record in store.services():
        _fail_interrupted(store, record.name)

    # 2. Each colour keeps only its own release's running replicas.
    keep: set[str] = set()
    for record in store.services():
        for color in Color:
            keep |= _refresh_slot(store, record.name, color, replicas)

    # 3. The proxy serves the stored routes before anything is stopped.
    await router.start()
    await router.apply()

    # 4. Whatever is left is an orphan of a release that never finished.
    orphans = [r for r in replicas if r.container_id not in keep]
    for orphan in orphans:
        log.warning(
            "removing orphan container %s (service %s, release %s)",
            orphan.name,
            orphan.service,
            orphan.release,
        )
    await asyncio.gather(
        *(
            asyncio.to_thread(runtime.stop_replica, o.container_id, stop_timeout)
            for o in orphans
        )
    )


def _fail_interrupted(store: Store, service: str) -> None:
    release = store.in_flight(service)
    if release is None or release.phase in RESUMABLE:
        return
    record = store.service(service)
    if (
        release.phase is Phase.PROMOTING
        and record
        and record.live_color is release.color
    ):
        # The flip was confirmed and stored before the controller died: the
        # release is what live serves, so the promotion is finished, not undone.
        _finish_promotion(store, release.id, release.color)
        return
    slot = store.slot(service, release.color)
    if slot.release_id == release.id:
        store.set_slot(service, release.color, None)
    store.transition(
        release.id,
        Phase.FAILED,
        SYSTEM,
        f"controller restarted during {release.phase.value}",
    )
    log.warning(
        "release %s failed: controller restarted during %s", release.id, release.phase
    )


def _finish_promotion(store: Store, release_id: str, color: Color) -> None:
    reason = "controller restarted after the flip was confirmed; live stays"
    release = store.transition(release_id, Phase.LIVE, SYSTEM, reason)
    other = store.slot(release.service, color.other)
    previous = store.release(other.release_id) if other.release_id else None
    if previous is not None and previous.phase is Phase.LIVE:
        store.transition(previous.id, Phase.SUPERSEDED, SYSTEM, reason)
    if other.release_id is not None:
        store.set_standby(
            release.service, color.other, time.time() + release.spec.standby_ttl
        )
    log.warning("release %s: %s", release_id, reason)


def _refresh_slot(
    store: Store, service: str, color: Color, replicas: list[Replica]
) -> set[str]:
    """Update a slot's addresses from the engine; the container ids kept."""
    slot = store.slot(service, color)
    if slot.release_id is None:
        return set()
    mine = sorted(
        (
            r
            for r in replicas
            if r.service == service
            and r.color is color
            and r.release == slot.release_id
            and r.state is ReplicaState.RUNNING
            and r.address is not None
        ),
        key=lambda r: r.index,
    )
    entries = tuple((r.container_id, r.address) for r in mine if r.address)
    if entries != slot.replicas:
        log.warning(
            "%s %s: replicas on record differ from the engine; now %d",
            service,
            color,
            len(entries),
        )
        store.set_slot(service, color, slot.release_id if entries else None, entries)
    return {cid for cid, _ in entries}
