"""Chaos's engine: container actions on the replicas of services that opted in.

Actions run the runtime's blocking calls in a worker thread, and whatever
the runtime raises leaves here as a ``FaultFailed`` naming the container.
A fault (kill, stop, pause, restart) is refused on a service whose spec
does not opt in, even if chaos's own guard rails let it through; undoing
one (start, unpause) never is, so a fault outlives no change of mind.

A replica that is started again, or restarted, comes back on a new host
port: its colour's slot is moved to the new address and the route table
applied again, so the proxy finds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from chaos.errors import FaultFailed
from chaos.ports import ReplicaRef
from controller.errors import BgctlError
from controller.routing import Router
from controller.runtime.base import ContainerRuntime, Replica, ReplicaState
from controller.runtime.errors import EngineError, ReplicaActionFailed
from controller.store import Store
from proxy.routes import Color

log = logging.getLogger(__name__)

T = TypeVar("T")


class ChaosEngine:
    """Implements ``chaos.ports.Engine`` on the controller's runtime."""

    def __init__(self, runtime: ContainerRuntime, store: Store, router: Router) -> None:
        self._runtime = runtime
        self._store = store
        self._router = router

    async def replicas(self, service: str, color: Color) -> list[ReplicaRef]:
        """The replicas of the release the colour's slot holds, in slot order."""
        slot = self._store.slot(service, color)
        if slot.release_id is None:
            return []
        found = await self._call(self._runtime.list_replicas, service, color)
        mine = [r for r in found if r.release == slot.release_id]
        return [reference(r) for r in sorted(mine, key=lambda r: r.index)]

    async def kill(self, container_id: str, signal: str) -> None:
        """Send ``signal`` to the container's main process, once."""
        await self._check_consent(container_id, "kill")
        await self._call(self._runtime.kill, container_id, signal)

    async def stop(self, container_id: str, timeout: float) -> None:
        """Stop the container gracefully, without removing it."""
        await self._check_consent(container_id, "stop")
        await self._call(self._runtime.halt, container_id, timeout)

    async def pause(self, container_id: str) -> None:
        """Freeze every process of the container."""
        await self._check_consent(container_id, "pause")
        await self._call(self._runtime.pause, container_id)

    async def unpause(self, container_id: str) -> None:
        """Thaw a paused container."""
        await self._call(self._runtime.unpause, container_id)

    async def restart(self, container_id: str, timeout: float) -> None:
        """Stop and start the container; the proxy is pointed at it again."""
        await self._check_consent(container_id, "restart")
        replica = await self._call(self._runtime.restart, container_id, timeout)
        await self._follow(replica)

    async def start(self, container_id: str) -> None:
        """Start a killed or stopped container; the proxy is pointed at it again."""
        replica = await self._call(self._runtime.start, container_id)
        await self._follow(replica)

    async def _check_consent(self, container_id: str, action: str) -> None:
        """Refuse a fault on a replica whose service has not opted in."""
        replica = await self._call(self._runtime.inspect, container_id)
        if replica.state is ReplicaState.MISSING:
            raise FaultFailed(
                f"{action} of container {container_id[:12]} failed: the engine "
                "has no such replica",
                container=container_id,
            )
        record = self._store.service(replica.service)
        if record is None or not record.spec.chaos.enabled:
            raise FaultFailed(
                f"{action} of container {container_id[:12]} refused: its service "
                f"{replica.service!r} has not opted in to chaos",
                container=container_id,
            )

    async def _follow(self, replica: Replica) -> None:
        """Move the replica's slot entry to its new address; apply the routes."""
        if replica.address is None:
            return
        moved = self._store.set_replica_address(
            replica.service, replica.color, replica.container_id, replica.address
        )
        if not moved:
            return
        fields = {"service": replica.service, "color": replica.color.value}
        log.info("replica %s is now at %s", replica.name, replica.address, extra=fields)
        try:
            await self._router.reapply()
        except BgctlError as exc:
            raise FaultFailed(
                f"replica {replica.name} runs again at {replica.address}, but the "
                f"proxy could not be pointed at it: {exc.message}",
                container=replica.container_id,
            ) from exc

    async def _call(self, call: Callable[..., T], *args: object) -> T:
        """Run a blocking runtime call in a thread; its errors as FaultFailed."""
        try:
            return await asyncio.to_thread(call, *args)
        except EngineError as exc:
            container = (
                exc.container_id if isinstance(exc, ReplicaActionFailed) else None
            )
            raise FaultFailed(str(exc), container=container) from exc


def reference(replica: Replica) -> ReplicaRef:
    """A replica as chaos sees it."""
    return ReplicaRef(
        container_id=replica.container_id,
        name=replica.name,
        service=replica.service,
        color=replica.color,
        index=replica.index,
        state=replica.state.value,
        address=replica.address,
    )
