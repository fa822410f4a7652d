"""Replica health as the supervisor last saw it, for scrapes to read.

The supervisor has every replica the store places in a colour probed at
its readiness path every ``CHECK_INTERVAL`` seconds, and what was found is
kept here. A scrape reads that snapshot and never waits on a replica or the
engine; its figures are at most one interval old.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from controller.probes import probe, replica_url
from controller.store import ServiceRecord, Store
from proxy.routes import Color

log = logging.getLogger(__name__)

CHECK_INTERVAL = 5.0  # seconds between two looks at every replica
CHECK_TIMEOUT = 1.0  # seconds one replica's probe may take


@dataclass(frozen=True)
class ColorHealth:
    """How many replicas one colour of a service has, and how many are ready."""

    ready: int
    total: int


class ReplicaHealth:
    """The latest readiness of every colour's replicas."""

    def __init__(self, store: Store, client: httpx.AsyncClient) -> None:
        self._store = store
        self._client = client
        self._snapshot: dict[tuple[str, Color], ColorHealth] = {}

    def snapshot(self) -> Mapping[tuple[str, Color], ColorHealth]:
        """Health by (service, colour) as last checked; empty before the first."""
        return self._snapshot

    async def check(self) -> None:
        """Probe every replica of every service and keep what came back."""
        records = self._store.services()
        found: dict[tuple[str, Color], ColorHealth] = {}
        for record in records:
            for color in Color:
                found[(record.name, color)] = await self._check_color(record, color)
        self._snapshot = found  # replaced whole, so a scrape sees one check
        log.debug("replica health checked for %d services", len(records))

    async def _check_color(self, record: ServiceRecord, color: Color) -> ColorHealth:
        slot = self._store.slot(record.name, color)
        path = record.spec.readiness.path
        results = await asyncio.gather(
            *(
                probe(self._client, replica_url(address, path), CHECK_TIMEOUT)
                for address in slot.addresses
            )
        )
        ready = sum(1 for result in results if result.is_ok)
        return ColorHealth(ready=ready, total=len(slot.addresses))
