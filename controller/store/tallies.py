"""Counts over releases and timelines, read for the controller's metrics.

Both reads are cheap enough for every scrape: the release tally groups the
releases table once, and phase changes are read from a given timeline line
on, so a caller that remembers where it stopped reads each line once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from controller.phases import Phase
from controller.store.base import StoreBase

PHASE_CHANGE_BATCH = 5000  # timeline lines read at most in one go


@dataclass(frozen=True)
class ReleaseTally:
    """How many releases of a service stand in one phase."""

    service: str
    phase: Phase
    went_live: bool  # whether these releases were ever live
    count: int


@dataclass(frozen=True)
class TimelineLine:
    """One timeline line with the service of its release, for timing phases."""

    id: int  # the line's place in the store; later lines have larger ones
    release_id: str
    service: str
    phase: Phase
    at: float  # epoch seconds


class Tallies(StoreBase):
    """Reads that count releases and walk timelines in order."""

    def release_tally(self) -> list[ReleaseTally]:
        """Releases by service, phase and whether they were ever live."""
        with self._lock:
            rows = self._db.execute(
                "SELECT service, phase, EXISTS (SELECT 1 FROM events e "
                "WHERE e.release_id = r.id AND e.phase = ?) AS went_live, "
                "COUNT(*) AS count FROM releases r "
                "GROUP BY service, phase, went_live",
                (Phase.LIVE.value,),
            ).fetchall()
        return [_tally_from_row(row) for row in rows]

    def timeline_since(
        self, after: int, limit: int = PHASE_CHANGE_BATCH
    ) -> list[TimelineLine]:
        """Timeline lines of every release after line ``after``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.id, e.release_id, r.service, e.phase, e.at FROM events e "
                "JOIN releases r ON r.id = e.release_id "
                "WHERE e.id > ? ORDER BY e.id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [_line_from_row(row) for row in rows]


def _tally_from_row(row: sqlite3.Row) -> ReleaseTally:
    return ReleaseTally(
        row["service"], Phase(row["phase"]), bool(row["went_live"]), row["count"]
    )


def _line_from_row(row: sqlite3.Row) -> TimelineLine:
    return TimelineLine(
        row["id"],
        row["release_id"],
        row["service"],
        Phase(row["phase"]),
        datetime.fromisoformat(row["at"]).timestamp(),
    )
