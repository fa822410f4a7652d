"""Builds the proxy's route table from the store and applies it.

Beside the store, the router keeps detours: for a traffic fault, chaos asks
that the proxy reach some replicas of a colour through a fault-injecting
proxy instead. Detours live only in memory, so the first table a restarted
controller applies is clean, which is how start-up takes every traffic
fault out of the proxy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from controller.errors import Conflict, OperationFailed
from controller.store import ServiceRecord, Store
from proxy.driver import ProxyDriver
from proxy.errors import ProxyError
from proxy.routes import Address, Color, RouteTable, ServiceRoutes

DetourKey = tuple[str, Color]  # service, colour

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
        self._detours: dict[DetourKey, dict[Address, Address]] = {}
        # The live colours of the table last applied: a detour change keeps
        # them, so it never undoes a flip that is not yet stored.
        self._applied_live: dict[str, Color | None] = {}

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
            servers={
                color: self._detoured(record.name, color, addresses)
                for color, addresses in servers.items()
            },
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

    def _detoured(
        self, service: str, color: Color, addresses: tuple[Address, ...]
    ) -> tuple[Address, ...]:
        detours = self._detours.get((service, color), {})
        return tuple(detours.get(address, address) for address in addresses)

    def detours(self, service: str, color: Color) -> dict[Address, Address]:
        """The detours of one colour: replica address to detour address."""
        return dict(self._detours.get((service, color), {}))

    async def start(self) -> None:
        """Start the proxy with the stored routes, adopting one left running."""
        async with self._lock:
            table = self.table()
            await asyncio.to_thread(self._driver.start, table)
            self._remember(table)

    async def apply(self, live: Mapping[str, Color | None] | None = None) -> None:
        """Make the proxy serve the stored routes, with live overrides."""
        async with self._lock:
            await self._push(self.table(live))

    async def reapply(self) -> None:
        """Apply the stored routes again, with the live colours served now."""
        async with self._lock:
            await self._push(self.table(self._applied_live))

    async def detour(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Reach some replicas of a colour at detour addresses instead.

        Conflict if an address is not one of the colour's servers; on any
        failure the proxy and the detours stay as they were.
        """
        async with self._lock:
            servers = set(self._store.slot(service, color).addresses)
            strangers = sorted(str(a) for a in detours if a not in servers)
            if strangers:
                raise Conflict(
                    f"{service} {color}: {', '.join(strangers)} is not one of its "
                    f"servers ({', '.join(sorted(map(str, servers))) or 'none'})",
                    service=service,
                    color=color.value,
                )
            before = self.detours(service, color)
            taken = sorted(str(a) for a, d in detours.items() if before.get(a, d) != d)
            if taken:
                raise Conflict(
                    f"{service} {color}: {', '.join(taken)} already carries a "
                    "traffic fault; traffic faults on one replica do not stack",
                    service=service,
                    color=color.value,
                )
            self._detours[(service, color)] = {**before, **detours}
            await self._push_or_restore(service, color, before)
        log.info("%s %s: %d replicas detoured", service, color, len(detours))

    async def undetour(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Take these detours back, and only these; safe to repeat."""
        async with self._lock:
            before = self.detours(service, color)
            left = {a: d for a, d in before.items() if detours.get(a) != d}
            self._detours[(service, color)] = left
            await self._push_or_restore(service, color, before)
            if not left:
                del self._detours[(service, color)]
        log.info("%s %s: detours removed, %d left", service, color, len(left))

    async def _push_or_restore(
        self, service: str, color: Color, before: dict[Address, Address]
    ) -> None:
        try:
            await self._push(self.table(self._applied_live))
        except OperationFailed:
            self._detours[(service, color)] = before
            raise

    async def _push(self, table: RouteTable) -> None:
        try:
            await asyncio.to_thread(self._driver.apply, table)
        except ProxyError as exc:
            log.error("proxy refused the route table: %s", exc)
            raise OperationFailed(f"the proxy refused the change: {exc}") from exc
        self._remember(table)

    def _remember(self, table: RouteTable) -> None:
        self._applied_live = {
            name: routes.live for name, routes in table.services.items()
        }

    async def is_running(self) -> bool:
        """Whether the proxy answers on its control channel."""
        return await asyncio.to_thread(self._driver.is_running)

    async def sessions(self, service: str, color: Color) -> int:
        """Requests in flight to a colour of a service."""
        return await asyncio.to_thread(self._driver.sessions, service, color)

    def stop(self) -> None:
        """Stop the proxy."""
        self._driver.stop()
