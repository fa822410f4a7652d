"""The interface every proxy driver implements."""

from __future__ import annotations

from typing import Protocol

from proxy.routes import Color, Endpoint, RouteTable


class ProxyDriver(Protocol):
    """Makes one running reverse proxy serve a route table."""

    def start(self, table: RouteTable) -> None:
        """Start the proxy serving ``table``; adopt one already running."""

    def stop(self) -> None:
        """Stop the proxy and every process it started."""

    def is_running(self) -> bool:
        """Whether the proxy answers on its control channel."""

    def apply(self, table: RouteTable) -> None:
        """Make the running proxy serve ``table``.

        A change of addresses or colours goes through the runtime API and
        drops no request; only a change of shape (a service, a port, a slot
        count) rewrites the configuration, which is checked before it is
        loaded. On any failure the proxy keeps serving what it served.
        """

    def served_colors(self, service: str) -> dict[Endpoint, Color | None]:
        """Which colour each switchable frontend sends new requests to now."""

    def sessions(self, service: str, color: Color) -> int:
        """Requests in flight to a colour's replicas, over every frontend."""
