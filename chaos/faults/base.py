"""The interface every fault mechanism implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chaos.fault_spec import Fault
from chaos.ledger import FaultRecord, Ledger
from chaos.ports import ReplicaRef, ServiceFacts


class Mechanism(Protocol):
    """Applies faults of some kinds and takes them back."""

    async def inject(
        self,
        record: FaultRecord,
        fault: Fault,
        targets: Sequence[ReplicaRef],
        facts: ServiceFacts,
        ledger: Ledger,
    ) -> None:
        """Put the fault in place on exactly ``targets``.

        ``record`` is already in the ledger; anything undoing will need
        that is learnt on the way (a process id, a detour) goes into it
        with ``ledger.add_undo`` before it takes effect. Raises FaultFailed
        when the engine or the proxy refuses; what was done stays undoable.
        """

    def lost(self, record: FaultRecord) -> str | None:
        """Why an applied fault is no longer in place as it should be, or None.

        The reaper asks every second; a lost fault is undone at once, so a
        broken fault never turns into something worse than itself.
        """

    async def undo(self, record: FaultRecord) -> None:
        """Take the fault back; safe to repeat and after a restart.

        Missing containers or processes count as undone. Raises FaultFailed
        when something is still in place and cannot be taken back.
        """
