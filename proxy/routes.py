"""The route table: what the proxy must serve, independent of any proxy.

The controller builds one ``RouteTable`` from its store and hands it to a
driver; the driver makes the running proxy match it. Nothing here knows
about containers or releases, only colours, addresses and ports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Color(enum.StrEnum):
    """One of the two environments every service runs as."""

    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Color:
        """The opposite colour."""
        return Color.GREEN if self is Color.BLUE else Color.BLUE


class Endpoint(enum.StrEnum):
    """The frontends the proxy publishes for every service."""

    LIVE = "live"  # the service's public port, on the live colour
    PREVIEW = "preview"  # the idle colour, for verification and testers
    BLUE = "blue"  # always blue, for load tests against one colour
    GREEN = "green"  # always green


COLOR_HEADER = "X-Bgctl-Color"
"""Response header naming the colour whose replica answered."""


@dataclass(frozen=True)
class Address:
    """Where the proxy reaches one replica."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ServiceRoutes:
    """Everything the proxy needs to know about one service.

    ``slots`` is the number of servers per colour; a slot whose address is
    ``None`` is kept in maintenance. ``live`` and ``preview`` name the colour
    each of those frontends sends new requests to, or ``None`` for none.
    """

    service: str
    ports: dict[Endpoint, int]
    slots: int
    servers: dict[Color, tuple[Address | None, ...]]
    live: Color | None = None
    preview: Color | None = None
    health_path: str = "/healthz"

    def addresses(self, color: Color) -> tuple[Address | None, ...]:
        """The addresses of a colour's slots, padded with ``None``."""
        given = self.servers.get(color, ())
        return tuple(given) + (None,) * (self.slots - len(given))

    def served(self, endpoint: Endpoint) -> Color | None:
        """The colour whose replicas should take new requests at ``endpoint``."""
        if endpoint is Endpoint.LIVE:
            return self.live
        if endpoint is Endpoint.PREVIEW:
            return self.preview
        return Color(endpoint.value)


@dataclass(frozen=True)
class RouteTable:
    """Every service the proxy serves, by name."""

    services: dict[str, ServiceRoutes] = field(default_factory=dict)
    bind: str = "127.0.0.1"
