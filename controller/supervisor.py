"""The controller's background duties, once a second.

Retire standby colours whose window passed, restart the proxy with every
service's routes if it died, fail a staged release whose replicas stopped
while it waited for promotion, and let chaos undo faults past their
deadline and start the schedules that fell due. Apart from these rounds,
so that a replica slow to answer holds none of them up, probe every
replica's readiness now and then for the metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from chaos.service import ChaosService
from controller.metrics.health import CHECK_INTERVAL, ReplicaHealth
from controller.releases import ReleaseManager
from controller.routing import Router
from controller.standby import StandbyKeeper

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between rounds


async def supervise(
    router: Router,
    keeper: StandbyKeeper,
    releases: ReleaseManager,
    chaos: ChaosService,
    health: ReplicaHealth,
) -> None:
    """Run the duties until cancelled; a failing one is logged, not fatal."""
    async with asyncio.TaskGroup() as duties:
        duties.create_task(_check_health(health))
        while True:
            await asyncio.sleep(TICK)
            await _survive("a supervision round", _round(router, keeper, releases))
            await _survive("a chaos tick", chaos.tick())


async def _check_health(health: ReplicaHealth) -> None:
    """Probe every replica's readiness every CHECK_INTERVAL seconds."""
    while True:
        await _survive("a replica health check", health.check())
        await asyncio.sleep(CHECK_INTERVAL)


async def _survive(duty: str, work: Awaitable[None]) -> None:
    """Await one duty; log its failure so that the next round still comes."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s failed; trying again in %s s", duty, TICK)


async def _round(
    router: Router, keeper: StandbyKeeper, releases: ReleaseManager
) -> None:
    if not await router.is_running():
        log.warning("the proxy is not running; starting it with the stored routes")
        await router.start()
        log.info("the proxy is serving again")
    await keeper.retire_expired()
    await releases.check_staged()
