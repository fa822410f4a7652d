"""What chaos needs from the platform it runs on, and nothing more.

The controller implements these interfaces and hands them in; chaos never
imports the controller. Every container id given to ``Engine`` is one
that ``Engine.replicas`` returned: chaos never acts on anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import Field

from chaos.units import StrictModel
from proxy.routes import Address, Color, Endpoint


class ChaosPolicy(StrictModel):
    """A service's consent to chaos, declared in its spec."""

    enabled: bool = Field(
        default=False, description="whether experiments may target this service"
    )
    max_replicas: int = Field(
        default=1,
        ge=1,
        le=20,
        description="how many replicas one container fault may hit at once",
    )


@dataclass(frozen=True)
class ReplicaRef:
    """One replica as chaos sees it: exact id, colour, slot and address."""

    container_id: str
    name: str
    service: str
    color: Color
    index: int
    state: str  # the engine's word: running, paused, exited, ...
    address: Address | None  # where the proxy reaches it; None if not running


@dataclass(frozen=True)
class ServiceFacts:
    """What guard rails and traffic faults need to know about a service."""

    name: str
    policy: ChaosPolicy
    live: Color | None
    health_path: str  # requests on it pass a traffic fault untouched
    release_in_flight: str | None  # the id of a release still in progress


class Engine(Protocol):
    """Container actions on the replicas of services that opted in."""

    async def replicas(self, service: str, color: Color) -> list[ReplicaRef]:
        """The colour's replicas the controller manages, in slot order."""

    async def kill(self, container_id: str, signal: str) -> None:
        """Send ``signal`` to the container's main process."""

    async def stop(self, container_id: str, timeout: float) -> None:
        """Stop the container gracefully, without removing it."""

    async def pause(self, container_id: str) -> None:
        """Freeze every process of the container."""

    async def unpause(self, container_id: str) -> None:
        """Thaw a paused container."""

    async def restart(self, container_id: str, timeout: float) -> None:
        """Stop and start the container; the proxy is pointed at it again."""

    async def start(self, container_id: str) -> None:
        """Start a killed or stopped container; the proxy is pointed at it again."""


class Routes(Protocol):
    """Detours of a colour's route through a fault-injecting proxy."""

    async def splice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Send traffic for each replica address to its detour address instead.

        Refused (FaultFailed) when a replica is detoured already: traffic
        faults on one replica do not stack.
        """

    async def unsplice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Take these detours back; one another fault set since stays."""

    def url(self, service: str, endpoint: Endpoint) -> str:
        """The base URL of one of the service's frontends, e.g. live."""


class Services(Protocol):
    """The registered services, read for guard rails and timelines."""

    def facts(self, service: str) -> ServiceFacts | None:
        """What chaos needs about a service; None if it is not registered."""

    def note(self, service: str, text: str) -> None:
        """Add a line to the timeline of the service's release in flight, if any."""


class Events(Protocol):
    """Where chaos announces, as they happen, its runs' and faults' changes."""

    def publish(
        self, kind: str, service: str, run_id: str, status: str, text: str
    ) -> None:
        """Announce one change; ``kind`` is ``RUN_EVENT`` or ``FAULT_EVENT``.

        ``status`` is the run's status, or ``applied`` or ``undone`` for a
        fault. It must return at once and never raise.
        """


RUN_EVENT = "chaos.run"  # a run started or ended
FAULT_EVENT = "chaos.fault"  # a fault was applied or undone
