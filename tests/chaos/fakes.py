"""In-memory stand-ins for the platform, for pure units of the runner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from chaos.ports import ChaosPolicy, ReplicaRef, ServiceFacts
from proxy.routes import Address, Color, Endpoint


class FakeEngine:
    """Replicas as records whose state the actions change."""

    def __init__(self, service: str = "web", per_color: int = 2) -> None:
        self.replicas_by_id: dict[str, ReplicaRef] = {}
        self.actions: list[tuple[str, str]] = []
        self.refuse: set[str] = set()  # actions that raise
        for color in Color:
            for index in range(1, per_color + 1):
                cid = f"{color.value}{index}" + "0" * 20
                self.replicas_by_id[cid] = ReplicaRef(
                    cid,
                    f"{service}-{color.value}-{index}",
                    service,
                    color,
                    index,
                    "running",
                    Address("127.0.0.1", 20000 + index),
                )

    async def replicas(self, service: str, color: Color) -> list[ReplicaRef]:
        return [
            r
            for r in self.replicas_by_id.values()
            if r.service == service and r.color is color
        ]

    def _set(self, action: str, container_id: str, state: str) -> None:
        self.actions.append((action, container_id))
        if action in self.refuse:
            raise RuntimeError(f"engine refused {action}")
        replica = self.replicas_by_id[container_id]
        self.replicas_by_id[container_id] = replace(replica, state=state)

    async def kill(self, container_id: str, signal: str) -> None:
        self._set("kill", container_id, "exited")

    async def stop(self, container_id: str, timeout: float) -> None:
        self._set("stop", container_id, "exited")

    async def pause(self, container_id: str) -> None:
        self._set("pause", container_id, "paused")

    async def unpause(self, container_id: str) -> None:
        self._set("unpause", container_id, "running")

    async def restart(self, container_id: str, timeout: float) -> None:
        self._set("restart", container_id, "running")

    async def start(self, container_id: str) -> None:
        self._set("start", container_id, "running")

    def states(self, color: Color) -> list[str]:
        return [r.state for r in self.replicas_by_id.values() if r.color is color]


@dataclass
class FakeRoutes:
    """Detours kept in a dict; URLs on a port nobody listens on."""

    detours: dict[Address, Address] = field(default_factory=dict)

    async def splice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        self.detours.update(detours)

    async def unsplice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        for address, detour in detours.items():
            if self.detours.get(address) == detour:
                del self.detours[address]

    def url(self, service: str, endpoint: Endpoint) -> str:
        return "http://127.0.0.1:9"


@dataclass
class FakeServices:
    """One service with a policy; notes collected."""

    policy: ChaosPolicy = field(
        default_factory=lambda: ChaosPolicy(enabled=True, max_replicas=2)
    )
    live: Color | None = Color.BLUE
    in_flight: str | None = None
    notes: list[str] = field(default_factory=list)

    def facts(self, service: str) -> ServiceFacts | None:
        if service != "web":
            return None
        return ServiceFacts(service, self.policy, self.live, "/healthz", self.in_flight)

    def note(self, service: str, text: str) -> None:
        self.notes.append(text)
