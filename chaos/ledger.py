"""The fault ledger: every fault with its undo, written before it is applied.

A row is opened (``pending``) with what undoing it takes before anything is
touched, brought to ``applied`` once the fault is in place, and closed
(``undone`` or ``failed``) when it is undone. Whatever is not closed is
open: the reaper undoes open faults past their deadline, and start-up
undoes every open fault, so a controller killed mid-fault leaves none.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.db import Database, utc_now
from proxy.routes import Color

SCHEMA = """
CREATE TABLE IF NOT EXISTS chaos_faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    service TEXT NOT NULL,
    color TEXT NOT NULL,
    targets TEXT NOT NULL,
    undo TEXT NOT NULL,
    state TEXT NOT NULL,
    deadline REAL NOT NULL,
    opened_at TEXT NOT NULL,
    applied_at TEXT,
    closed_at TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS chaos_faults_open ON chaos_faults(state, deadline);
"""


class FaultState(enum.StrEnum):
    """Where a fault in the ledger stands."""

    PENDING = "pending"  # written, being applied; may be partly in place
    APPLIED = "applied"  # in place until its deadline
    UNDONE = "undone"  # taken back
    FAILED = "failed"  # given up on; the error says what may be left

    @property
    def is_open(self) -> bool:
        """Whether the fault may still be in place."""
        return self in (FaultState.PENDING, FaultState.APPLIED)


@dataclass(frozen=True)
class FaultRecord:
    """One fault as the ledger holds it."""

    id: int
    run_id: str
    kind: str
    service: str
    color: Color
    targets: tuple[str, ...]  # exact container ids
    undo: dict[str, Any]  # what the mechanism needs to take it back
    state: FaultState
    deadline: float  # epoch seconds
    opened_at: str
    applied_at: str | None
    closed_at: str | None
    error: str | None


class Ledger:
    """The ledger's table in the controller's SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = Database(path, SCHEMA)

    def open(
        self,
        run_id: str,
        kind: str,
        service: str,
        color: Color,
        targets: list[str],
        deadline: float,
        undo: dict[str, Any],
    ) -> FaultRecord:
        """Write a fault and its undo before it is applied."""
        with self._db.tx() as db:
            cursor = db.execute(
                "INSERT INTO chaos_faults (run_id, kind, service, color, targets,"
                " undo, state, deadline, opened_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    kind,
                    service,
                    color.value,
                    json.dumps(targets),
                    json.dumps(undo),
                    FaultState.PENDING.value,
                    deadline,
                    utc_now(),
                ),
            )
            fault_id = cursor.lastrowid
        return self._get(int(fault_id or 0))

    def add_undo(self, fault_id: int, **undo: Any) -> FaultRecord:
        """Add what undoing needs once it is known (a process id, detours)."""
        record = self._get(fault_id)
        merged = {**record.undo, **undo}
        with self._db.tx() as db:
            db.execute(
                "UPDATE chaos_faults SET undo = ? WHERE id = ?",
                (json.dumps(merged), fault_id),
            )
        return self._get(fault_id)

    def mark_applied(self, fault_id: int) -> None:
        """The fault is in place."""
        self._set(fault_id, FaultState.APPLIED, "applied_at", None)

    def close(self, fault_id: int, error: str | None = None) -> None:
        """The fault is undone, or undoing it failed with ``error``."""
        state = FaultState.UNDONE if error is None else FaultState.FAILED
        self._set(fault_id, state, "closed_at", error)

    def retry_later(self, fault_id: int, error: str, seconds: float) -> None:
        """Keep a fault open after a failed undo, due again in ``seconds``."""
        with self._db.tx() as db:
            db.execute(
                "UPDATE chaos_faults SET error = ?, deadline = ? WHERE id = ?",
                (error, time.time() + seconds, fault_id),
            )

    def open_faults(self, run_id: str | None = None) -> list[FaultRecord]:
        """Faults that may still be in place, oldest first."""
        sql = "SELECT * FROM chaos_faults WHERE state IN ('pending', 'applied')"
        args: tuple[str, ...] = ()
        if run_id is not None:
            sql += " AND run_id = ?"
            args = (run_id,)
        return [_record(row) for row in self._db.query(sql + " ORDER BY id", *args)]

    def due(self, now: float) -> list[FaultRecord]:
        """Open faults whose deadline has passed."""
        return [f for f in self.open_faults() if f.deadline <= now]

    def of_run(self, run_id: str) -> list[FaultRecord]:
        """Every fault of a run, open or closed."""
        rows = self._db.query(
            "SELECT * FROM chaos_faults WHERE run_id = ? ORDER BY id", run_id
        )
        return [_record(row) for row in rows]

    def get(self, fault_id: int) -> FaultRecord:
        """One fault as it stands now."""
        return self._get(fault_id)

    def shutdown(self) -> None:
        """Close the ledger's connection."""
        self._db.close()

    def _get(self, fault_id: int) -> FaultRecord:
        rows = self._db.query("SELECT * FROM chaos_faults WHERE id = ?", fault_id)
        return _record(rows[0])

    def _set(
        self, fault_id: int, state: FaultState, stamp: str, error: str | None
    ) -> None:
        with self._db.tx() as db:
            db.execute(
                f"UPDATE chaos_faults SET state = ?, {stamp} = ?, error = ?"
                " WHERE id = ?",
                (state.value, utc_now(), error, fault_id),
            )


def _record(row: sqlite3.Row) -> FaultRecord:
    return FaultRecord(
        id=row["id"],
        run_id=row["run_id"],
        kind=row["kind"],
        service=row["service"],
        color=Color(row["color"]),
        targets=tuple(json.loads(row["targets"])),
        undo=json.loads(row["undo"]),
        state=FaultState(row["state"]),
        deadline=row["deadline"],
        opened_at=row["opened_at"],
        applied_at=row["applied_at"],
        closed_at=row["closed_at"],
        error=row["error"],
    )
