"""Builds the proxy's route table from the store and applies it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from controller.errors import OperationFailed
from controller.store import ServiceRecord, Store
from proxy.driver import ProxyDriver
from proxy.errors import ProxyError
from proxy.routes import Color, RouteTable, ServiceRoutes

log = logging.getLogger(__name__)


def preview_color(live: Color | None, occupied: set[Color]) -> Color | None:
    """The colour preview serves: the idle one once it holds replicas.

    With nothing staged on the idle colour, preview shows what live shows,
    so a tester's preview URL never answers 503 between releases.
    """
    if live is None:
        return (
            Color.BLUE
            if Color.BLUE in occupied
            else (Color.GREEN if Color.GREEN in occupied else None)
        )
    return live.other if live.other in occupied else live


class Router:
    """Keeps the proxy serving what the store says, one change at a time."""

    def __init__(self, store: Store, driver: ProxyDriver, bind: str) -> None:
        self._store = store
        self._driver = driver
        self._bind = bind
        self._lock = asyncio.Lock()

    def service_routes(
        self, record: ServiceRecord, live: Color | None
    ) -> ServiceRoutes:
        """One service's routes, with ``live`` as its live colour."""
        slots = {color: self._store.slot(record.name, color) for color in Color}
        servers = {color: tuple(slot.addresses) for color, slot in slots.items()}
        occupied = {color for color, addresses in servers.items() if addresses}
        width = max([record.spec.replicas, *(len(a) for a in servers.values())])
        return ServiceRoutes(
            service=record.name,
            ports=record.spec.endpoints.by_endpoint(),
            slots=width,
            servers={color: tuple(a) for color, a in servers.items()},
            live=live,
            preview=preview_color(live, occupied),
            health_path=record.spec.readiness.path,
        )

    def table(self, live: Mapping[str, Color | None] | None = None) -> RouteTable:
        """The route table of every service; ``live`` overrides stored colours."""
        overrides = live or {}
        services = {}
        for record in self._store.services():
            color = overrides.get(record.name, record.live_color)
            services[record.name] = self.service_routes(record, color)
        return RouteTable(services=services, bind=self._bind)

    async def start(self) -> None:
        """Start the proxy with the stored routes, adopting one left running."""
        async with self._lock:
            table = self.table()
            await asyncio.to_thread(self._driver.start, table)

    async def apply(self, live: Mapping[str, Color | None] | None = None) -> None:
        """Make the proxy serve the stored routes, with live overrides."""
        async with self._lock:
            table = self.table(live)
            try:
                await asyncio.to_thread(self._driver.apply, table)
            except ProxyError as exc:
                log.error("proxy refused the route table: %s", exc)
                raise OperationFailed(f"the proxy refused the change: {exc}") from exc

    async def is_running(self) -> bool:
        """Whether the proxy answers on its control channel."""
        return await asyncio.to_thread(self._driver.is_running)

    async def sessions(self, service: str, color: Color) -> int:
        """Requests in flight to a colour of a service."""
        return await asyncio.to_thread(self._driver.sessions, service, color)

    def stop(self) -> None:
        """Stop the proxy."""
        self._driver.stop()
