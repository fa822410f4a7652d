"""Taking faults back while the reaper watches (pure units on a real ledger)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chaos.ledger import FaultRecord, Ledger
from chaos.undo import Undoer
from proxy.routes import Color
from tests.chaos.fakes import FakeServices


class SlowStop:
    """A mechanism whose undo stops its process first and returns later.

    While the undo is under way the process is gone, so ``lost`` would call
    the fault lost: the reaper must not believe it.
    """

    def __init__(self) -> None:
        self.stopped = False
        self.release = asyncio.Event()
        self.undos = 0

    async def inject(self, *args: object) -> None:
        raise NotImplementedError

    def lost(self, record: FaultRecord) -> str | None:
        return "its process exited" if self.stopped else None

    async def undo(self, record: FaultRecord) -> None:
        self.undos += 1
        self.stopped = True
        await self.release.wait()


def applied_fault(ledger: Ledger) -> FaultRecord:
    record = ledger.open("run-1", "latency", "web", Color.BLUE, [], 1e12, {})
    ledger.mark_applied(record.id)
    return record


def test_a_fault_being_undone_is_not_called_lost(tmp_path: Path) -> None:
    asyncio.run(_a_fault_being_undone_is_not_called_lost(tmp_path))


async def _a_fault_being_undone_is_not_called_lost(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state.db")
    mechanism = SlowStop()
    undoer = Undoer(ledger, {"latency": mechanism}, FakeServices())
    record = applied_fault(ledger)

    undoing = asyncio.create_task(undoer.undo(record.id))
    await asyncio.sleep(0.01)
    assert mechanism.stopped and undoer.undoing(record.id)

    assert await undoer.undo_lost() == []

    mechanism.release.set()
    assert await undoing is True
    assert mechanism.undos == 1
    closed = ledger.get(record.id)
    assert not closed.state.is_open and closed.error is None


def test_a_lost_fault_is_reported_once(tmp_path: Path) -> None:
    asyncio.run(_a_lost_fault_is_reported_once(tmp_path))


async def _a_lost_fault_is_reported_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state.db")
    mechanism = SlowStop()
    mechanism.stopped = True
    mechanism.release.set()
    undoer = Undoer(ledger, {"latency": mechanism}, FakeServices())
    record = applied_fault(ledger)

    assert [r.id for r in await undoer.undo_lost()] == [record.id]
    assert await undoer.undo_lost() == []
    assert ledger.get(record.id).error == "lost: its process exited"
