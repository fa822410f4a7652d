"""The controller's background duties, once a second.

Retire standby colours whose window passed, restart the proxy with every
service's routes if it died, and fail a staged release whose replicas
stopped while it waited for promotion.
"""

from __future__ import annotations

import asyncio
import logging

from controller.releases import ReleaseManager
from controller.routing import Router
from controller.standby import StandbyKeeper

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between rounds


async def supervise(
    router: Router, keeper: StandbyKeeper, releases: ReleaseManager
) -> None:
    """Run the duties until cancelled; a failing round is logged, not fatal."""
    while True:
        await asyncio.sleep(TICK)
        try:
            await _round(router, keeper)
            await releases.check_staged()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a supervision round failed; trying again")


async def _round(router: Router, keeper: StandbyKeeper) -> None:
    if not await router.is_running():
        log.warning("the proxy is not running; starting it with the stored routes")
        await router.start()
        log.info("the proxy is serving again")
    await keeper.retire_expired()
