"""Standby colours: kept warm for a while after a flip, then drained and stopped.

The previous colour of a service stays running for its ``standby_ttl`` so a
rollback is a flip. When the window passes, its servers leave every backend,
the requests already sent to it finish (up to ``drain_timeout``), and only
then are its containers stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from controller.phases import SYSTEM
from controller.steps import Steps
from controller.store import ServiceRecord, SlotRecord

log = logging.getLogger(__name__)

DRAIN_POLL = 0.2  # seconds between looks at the sessions left


class StandbyKeeper:
    """Retires standby colours whose window has passed."""

    def __init__(self, steps: Steps, lock: Callable[[str], asyncio.Lock]) -> None:
        self._steps = steps
        self._store = steps.store
        self._lock = lock

    async def retire_expired(self) -> int:
        """Retire every standby past its window; how many were retired."""
        retired = 0
        for slot in self._store.expired_standbys(time.time()):
            record = self._store.service(slot.service)
            if record is None or record.live_color is slot.color:
                self._store.set_standby(slot.service, slot.color, None)
                continue
            if self._store.in_flight(slot.service) is not None:
                continue  # a release owns the colours now; try again later
            async with self._lock(slot.service):
                await self.retire(record, slot)
            retired += 1
        return retired

    async def retire(self, record: ServiceRecord, slot: SlotRecord) -> None:
        """Drain a colour out of every frontend, then stop its replicas."""
        service, color = record.name, slot.color
        log.info("retiring %s of %s after its standby window", color, service)

        # 1. Out of every backend: no new request reaches the colour.
        self._store.set_slot(service, color, None)
        await self._steps.router.apply()

        # 2. Requests already sent finish, up to the drain timeout.
        left = await self._drain(record, slot)

        # 3. Only then do the containers stop.
        removed = 0
        if slot.release_id is not None:
            removed = await self._steps.remove_release_containers(
                service, color, slot.release_id
            )
            note = f"retired from {color}: {removed} replicas stopped"
            if left:
                note += f" with {left} requests still in flight after the drain"
            self._store.note(slot.release_id, SYSTEM, note)
        log.info("retired %s of %s: %d replicas stopped", color, service, removed)

    async def _drain(self, record: ServiceRecord, slot: SlotRecord) -> int:
        deadline = time.monotonic() + record.spec.drain_timeout
        left = await self._steps.router.sessions(record.name, slot.color)
        while left > 0 and time.monotonic() < deadline:
            log.debug("%s of %s: %d requests in flight", slot.color, record.name, left)
            await asyncio.sleep(DRAIN_POLL)
            left = await self._steps.router.sessions(record.name, slot.color)
        if left:
            log.warning(
                "%s of %s: drain_timeout %gs passed with %d requests in flight",
                slot.color,
                record.name,
                record.spec.drain_timeout,
                left,
            )
        return left
