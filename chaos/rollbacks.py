"""The rollbacks an experiment declares, each run whatever happened before."""

from __future__ import annotations

from typing import Any

from chaos.experiment import StartReplicas, UndoFaults
from chaos.ports import Engine, ServiceFacts
from chaos.undo import Undoer


async def roll_back(
    rollback: UndoFaults | StartReplicas,
    run_id: str,
    facts: ServiceFacts,
    engine: Engine,
    undoer: Undoer,
) -> dict[str, Any]:
    """Run one rollback; what it did, for the journal. Raises what it meets."""
    if isinstance(rollback, UndoFaults):
        undone, errors = await undoer.undo_all(run_id)
        return {"undone": undone, "errors": errors}
    return await start_replicas(rollback, facts, engine)


async def start_replicas(
    rollback: StartReplicas, facts: ServiceFacts, engine: Engine
) -> dict[str, Any]:
    """Unpause or start every replica of the colour that is not running."""
    color = rollback.color.resolve(facts.live)
    started = []
    for replica in await engine.replicas(facts.name, color):
        if replica.state == "paused":
            await engine.unpause(replica.container_id)
        elif replica.state != "running":
            await engine.start(replica.container_id)
        else:
            continue
        started.append(replica.name)
    return {"color": color.value, "started": started}
