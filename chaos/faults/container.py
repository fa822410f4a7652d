"""Container faults through the engine: kill, stop, pause, restart.

Kill and stop are undone by starting the containers again, pause by
unpausing them; a restart has nothing left to undo. Undo looks the
containers up first: one the engine no longer has is already undone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from chaos.errors import FaultFailed
from chaos.fault_spec import Fault, KillFault, PauseFault, RestartFault, StopFault
from chaos.ledger import FaultRecord, Ledger
from chaos.ports import Engine, ReplicaRef, ServiceFacts

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # seconds a stopped or restarted replica gets to exit


def undo_action(fault: Fault) -> str:
    """What undoing a container fault takes: start, unpause or nothing."""
    if isinstance(fault, KillFault | StopFault):
        return "start"
    if isinstance(fault, PauseFault):
        return "unpause"
    return "none"


class ContainerFaults:
    """Applies container faults through the engine and takes them back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def inject(
        self,
        record: FaultRecord,
        fault: Fault,
        targets: Sequence[ReplicaRef],
        facts: ServiceFacts,
        ledger: Ledger,
    ) -> None:
        """Act on each target in turn; the first refusal fails the fault."""
        for target in targets:
            try:
                await self._act(fault, target.container_id)
            except Exception as exc:
                raise FaultFailed(
                    f"{fault.kind} of replica {target.name} "
                    f"({target.container_id[:12]}) failed: {exc}",
                    container=target.container_id,
                ) from exc
            log.info(
                "fault %s: %s %s",
                record.id,
                fault.kind,
                target.name,
                extra={"service": facts.name, "color": target.color.value},
            )

    def lost(self, record: FaultRecord) -> str | None:
        """Container faults need no process of their own: never lost."""
        return None

    async def undo(self, record: FaultRecord) -> None:
        """Start or unpause the record's containers that still exist."""
        action = record.undo.get("action", "none")
        if action == "none":
            return
        present = {r.container_id: r for r in await self._present(record)}
        failures = []
        for container_id in record.targets:
            replica = present.get(container_id)
            if replica is None or not _needs(action, replica.state):
                continue
            try:
                await self._undo_one(action, container_id)
            except Exception as exc:
                failures.append(f"{action} {container_id[:12]}: {exc}")
        if failures:
            raise FaultFailed(
                f"fault {record.id} not fully undone: " + "; ".join(failures)
            )

    async def _act(self, fault: Fault, container_id: str) -> None:
        if isinstance(fault, KillFault):
            await self._engine.kill(container_id, fault.signal)
        elif isinstance(fault, StopFault):
            await self._engine.stop(container_id, STOP_TIMEOUT)
        elif isinstance(fault, PauseFault):
            await self._engine.pause(container_id)
        elif isinstance(fault, RestartFault):
            await self._engine.restart(container_id, STOP_TIMEOUT)
        else:
            raise FaultFailed(f"{fault.kind} is not a container fault")

    async def _undo_one(self, action: str, container_id: str) -> None:
        if action == "start":
            await self._engine.start(container_id)
        else:
            await self._engine.unpause(container_id)

    async def _present(self, record: FaultRecord) -> list[ReplicaRef]:
        return await self._engine.replicas(record.service, record.color)


def _needs(action: str, state: str) -> bool:
    """Whether a replica in ``state`` still shows the fault."""
    if action == "unpause":
        return state == "paused"
    return state in ("exited", "created", "dead")
