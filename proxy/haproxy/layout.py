"""Names and intended states of every HAProxy frontend, backend and server.

The renderer and the runtime API both work from the plan built here, so the
configuration file and the running proxy never disagree about which server
is where or what state it should be in.

Per service there is one frontend and one backend per endpoint. The live and
preview backends hold the servers of both colours; the blue and green
backends hold only their own. Servers are named ``<colour>-<slot>``, slots
counted from 1, so a server's colour is always the first part of its name.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from proxy.routes import Address, Color, Endpoint, RouteTable, ServiceRoutes

PARKED = Address("127.0.0.1", 1)
"""Where a server without a replica points; it is kept in maintenance."""


class ServerState(enum.StrEnum):
    """The administrative states the runtime API can put a server in."""

    READY = "ready"  # takes new requests
    DRAIN = "drain"  # finishes what it holds, takes no new requests
    MAINT = "maint"  # takes nothing and is not health-checked


@dataclass(frozen=True)
class ServerPlan:
    """Where one server of one backend should point, and in which state."""

    backend: str
    server: str
    color: Color
    address: Address | None
    state: ServerState

    @property
    def target(self) -> Address:
        """The address the proxy should hold, the parked one for no replica."""
        return self.address or PARKED


def proxy_name(service: str, endpoint: Endpoint) -> str:
    """The name shared by a service's frontend and backend for ``endpoint``."""
    return f"{service}_{endpoint}"


def server_name(color: Color, slot: int) -> str:
    """The name of a colour's server in ``slot`` (counted from 1)."""
    return f"{color}-{slot}"


def color_of(server: str) -> Color | None:
    """The colour a server name stands for, or None for a foreign name."""
    try:
        return Color(server.partition("-")[0])
    except ValueError:
        return None


def backend_colors(endpoint: Endpoint) -> tuple[Color, ...]:
    """The colours whose servers a backend holds."""
    if endpoint in (Endpoint.LIVE, Endpoint.PREVIEW):
        return (Color.BLUE, Color.GREEN)
    return (Color(endpoint.value),)


def intended_state(address: Address | None, is_served: bool) -> ServerState:
    """Ready for the served colour, drained for the other, maint if empty."""
    if address is None:
        return ServerState.MAINT
    return ServerState.READY if is_served else ServerState.DRAIN


def backend_plan(routes: ServiceRoutes, endpoint: Endpoint) -> list[ServerPlan]:
    """Every server of one backend of a service, in rendering order."""
    backend = proxy_name(routes.service, endpoint)
    served = routes.served(endpoint)
    return [
        ServerPlan(
            backend=backend,
            server=server_name(color, slot),
            color=color,
            address=address,
            state=intended_state(address, color is served),
        )
        for color in backend_colors(endpoint)
        for slot, address in enumerate(routes.addresses(color), start=1)
    ]


def service_plan(routes: ServiceRoutes) -> list[ServerPlan]:
    """Every server of every backend of a service."""
    return [plan for ep in Endpoint for plan in backend_plan(routes, ep)]


def table_plan(table: RouteTable) -> list[ServerPlan]:
    """Every server the proxy should hold for ``table``."""
    return [
        plan
        for name in sorted(table.services)
        for plan in service_plan(table.services[name])
    ]


def skeleton(table: RouteTable) -> RouteTable:
    """``table`` without replicas or colours: what only a reload can change.

    Two tables with the same skeleton differ only in addresses and colours,
    which the runtime API changes without a reload.
    """
    services = {
        name: dataclasses.replace(routes, servers={}, live=None, preview=None)
        for name, routes in table.services.items()
    }
    return RouteTable(services=services, bind=table.bind)
