"""Chaos's routes: detours through a fault proxy, and the frontends' URLs."""

from __future__ import annotations

from collections.abc import Mapping

from chaos.errors import FaultFailed, TargetRefused
from controller.errors import BgctlError
from controller.routing import Router
from controller.store import Store
from proxy.routes import Address, Color, Endpoint


class ChaosRoutes:
    """Implements ``chaos.ports.Routes`` with the router's detours."""

    def __init__(self, router: Router, store: Store, proxy_host: str) -> None:
        self._router = router
        self._store = store
        self._proxy_host = proxy_host

    async def splice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Send traffic for each replica address to its detour address instead."""
        try:
            await self._router.detour(service, color, detours)
        except BgctlError as exc:
            raise FaultFailed(
                f"detouring {service} {color} failed: {exc.message}",
                service=service,
                color=color.value,
            ) from exc

    async def unsplice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Take these detours back; one another fault set since stays."""
        try:
            await self._router.undetour(service, color, detours)
        except BgctlError as exc:
            raise FaultFailed(
                f"removing the detours of {service} {color} failed: {exc.message}",
                service=service,
                color=color.value,
            ) from exc

    def url(self, service: str, endpoint: Endpoint) -> str:
        """The base URL of one of the service's frontends, e.g. live."""
        record = self._store.service(service)
        if record is None:
            raise TargetRefused(
                f'service "{service}" is not registered', service=service
            )
        port = record.spec.endpoints.by_endpoint()[endpoint]
        return f"http://{self._proxy_host}:{port}"
