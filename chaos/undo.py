"""Taking faults back: once each, whoever asks first, and again until it works.

The runner undoes a fault when its duration ends, the reaper when its
deadline passes, start-up when a controller died with it in place. A fault
whose undo fails stays open in the ledger with the error, and its deadline
moves on, so the reaper tries again instead of forgetting it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from chaos.errors import FaultFailed
from chaos.faults.base import Mechanism
from chaos.ledger import FaultRecord, FaultState, Ledger
from chaos.ports import FAULT_EVENT, Events, Services

log = logging.getLogger(__name__)

RETRY_AFTER = 10.0  # seconds before the reaper tries a failed undo again


class Undoer:
    """Undoes faults through their mechanisms and closes them in the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        mechanisms: Mapping[str, Mechanism],
        services: Services,
        events: Events | None = None,
    ) -> None:
        self.ledger = ledger
        self._mechanisms = mechanisms
        self._services = services
        self._events = events
        self._locks: dict[int, asyncio.Lock] = {}

    async def undo(self, fault_id: int, lost: str | None = None) -> bool:
        """Take one fault back; FaultFailed (and the fault stays open) on failure.

        ``lost`` says why a fault stopped working before its time; it is
        undone all the same and closed as failed, with that reason. False
        when someone else had taken the fault back already.
        """
        lock = self._locks.setdefault(fault_id, asyncio.Lock())
        async with lock:
            record = self.ledger.get(fault_id)
            if not record.state.is_open:
                return False
            try:
                await self._mechanisms[record.kind].undo(record)
            except Exception as exc:
                log.error("fault %s could not be undone: %s", fault_id, exc)
                self.ledger.retry_later(fault_id, f"undo failed: {exc}", RETRY_AFTER)
                raise FaultFailed(
                    f"fault {fault_id} could not be undone: {exc}"
                ) from exc
            self.ledger.close(fault_id, lost)
        self._locks.pop(fault_id, None)
        self.note(record, "undone")
        log.info("fault %s (%s) undone", fault_id, record.kind)
        return True

    async def undo_lost(self) -> list[FaultRecord]:
        """Undo at once every applied fault that is no longer in place."""
        lost = []
        for record in self.ledger.open_faults():
            if record.state is not FaultState.APPLIED:
                continue
            if self.undoing(record.id):
                continue  # its proxy stops because it is being taken back
            reason = self._mechanisms[record.kind].lost(record)
            if reason is None:
                continue
            log.error("fault %s is lost: %s; undoing it", record.id, reason)
            try:
                closed = await self.undo(record.id, f"lost: {reason}")
            except FaultFailed:
                closed = True
            if closed:
                lost.append(record)
        return lost

    def undoing(self, fault_id: int) -> bool:
        """Whether an undo of this fault is under way right now."""
        lock = self._locks.get(fault_id)
        return lock is not None and lock.locked()

    async def undo_all(self, run_id: str | None = None) -> tuple[list[int], list[str]]:
        """Undo every open fault (of one run): the ids undone, and the errors."""
        undone, errors = [], []
        for record in self.ledger.open_faults(run_id):
            try:
                await self.undo(record.id)
            except FaultFailed as exc:
                errors.append(str(exc))
            else:
                undone.append(record.id)
        return undone, errors

    def note(self, record: FaultRecord, change: str) -> None:
        """Say on the release timeline, and as an event, that a fault was
        ``applied`` or ``undone``."""
        text = f"chaos: {record.kind} fault on {record.color} {change}"
        if self._events is not None:
            service, run_id = record.service, record.run_id
            self._events.publish(FAULT_EVENT, service, run_id, change, text)
        try:
            self._services.note(record.service, f"{text} (run {record.run_id})")
        except Exception as exc:
            log.warning("could not note the fault on the release timeline: %s", exc)
