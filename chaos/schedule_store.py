"""Where schedules are kept: their rows and their events in the SQLite file.

A change to a row and its event share a transaction. A due time is claimed by
compare and set, so it starts one run at most even with two schedulers.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chaos.db import Database
from chaos.errors import RunConflict, ScheduleNotFound
from chaos.schedule_spec import ScheduleSpec
from chaos.timing import CatchUp

EVENTS_KEPT = 200  # per schedule; older events are dropped

# Times are ISO 8601 in UTC to the microsecond, so that they sort as text.
SCHEMA = """
CREATE TABLE IF NOT EXISTS chaos_schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    next_run TEXT,
    last_run_id TEXT,
    last_run_at TEXT,
    skipped INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chaos_schedule_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chaos_schedule_events_by_schedule
    ON chaos_schedule_events(schedule_id, id);
"""


class ScheduleState(enum.StrEnum):
    """Where a schedule stands."""

    ACTIVE = "active"  # starts runs as they fall due
    PAUSED = "paused"  # starts nothing until it is resumed
    FINISHED = "finished"  # a once schedule after its run or its miss


class EventKind(enum.StrEnum):
    """What happened to a schedule."""

    CREATED = "created"  # someone created it
    STARTED = "started"  # a due time started a run
    SKIPPED_OVERLAP = "skipped-overlap"  # the previous run still ran; not queued
    SKIPPED_MISSED = "skipped-missed"  # due times went by too long ago to start
    START_REFUSED = "start-refused"  # starting failed, e.g. a guard rail said no
    PAUSED = "paused"  # someone paused it
    RESUMED = "resumed"  # someone resumed it

    @property
    def level(self) -> int:
        """The log level of the event: a warning when a due time ran nothing."""
        troubles = (self.SKIPPED_OVERLAP, self.SKIPPED_MISSED, self.START_REFUSED)
        return logging.WARNING if self in troubles else logging.INFO


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule as stored, with where it stands and when it runs next."""

    id: str
    name: str
    spec: ScheduleSpec
    state: ScheduleState
    next_run: datetime | None  # aware, UTC; None unless active
    last_run_id: str | None
    last_run_at: datetime | None
    created_by: str
    created_at: datetime
    skipped: int  # due times that started no run: overlaps and misses


@dataclass(frozen=True)
class ScheduleEvent:
    """One line of a schedule's history."""

    at: datetime
    kind: EventKind
    run_id: str | None  # the run started, or the one that was still running
    reason: str


@dataclass(frozen=True)
class ScheduleChange:
    """One write to a schedule's row; state and next_run change together."""

    state: ScheduleState | None = None  # None leaves state and next_run alone
    next_run: datetime | None = None
    paused: bool | None = None  # the spec's flag, kept in step with the state
    skipped: int = 0  # due times to add to the count of skips
    last_run: tuple[str, datetime] | None = None  # the run started and when
    due: datetime | None = None  # write only while this is the next due time
    event_run: str | None = None  # the run the event names

    @classmethod
    def claim(cls, due: datetime, plan: CatchUp) -> ScheduleChange:
        """The change that moves ``next_run`` on, if ``due`` is still next."""
        state = ScheduleState.ACTIVE if plan.next_run else ScheduleState.FINISHED
        return cls(state, plan.next_run, skipped=plan.missed, due=due)

    def sql(self, record: ScheduleRecord) -> tuple[str, list[object]]:
        """The UPDATE that makes this change to the record's row."""
        sets, args = ["skipped = skipped + ?"], list[object]([self.skipped])
        if self.state is not None:
            sets.append("state = ?, next_run = ?")
            args += [self.state, _stamp(self.next_run)]
        if self.paused is not None:
            spec = record.spec.model_copy(update={"paused": self.paused})
            sets.append("spec = ?")
            args.append(spec.model_dump_json())
        if self.last_run is not None:
            sets.append("last_run_id = ?, last_run_at = ?")
            args += [self.last_run[0], _stamp(self.last_run[1])]
        sql = f"UPDATE chaos_schedules SET {', '.join(sets)} WHERE id = ?"
        args.append(record.id)
        if self.due is not None:
            sql += " AND state = ? AND next_run = ?"
            args += [ScheduleState.ACTIVE, _stamp(self.due)]
        return sql, args


class ScheduleStore:
    """Schedules and their events in the controller's SQLite file."""

    def __init__(self, database: Path, clock: Callable[[], datetime]) -> None:
        self._db = Database(database, SCHEMA)
        self._clock = clock  # stamps the events of changes

    def add(self, record: ScheduleRecord, reason: str) -> None:
        """Store a new schedule and its created event; RunConflict on its name."""
        try:
            with self._db.tx() as db:
                db.execute(
                    "INSERT INTO chaos_schedules (id, name, spec, state, next_run,"
                    " created_by, created_at) VALUES (?,?,?,?,?,?,?)",
                    (
                        record.id,
                        record.name,
                        record.spec.model_dump_json(),
                        record.state,
                        _stamp(record.next_run),
                        record.created_by,
                        _stamp(record.created_at),
                    ),
                )
                _add_event(db, record.id, record.created_at, EventKind.CREATED, reason)
        except sqlite3.IntegrityError as exc:
            raise RunConflict(
                f"a schedule named {record.name!r} exists already; expected a new"
                " name, or delete the old schedule first",
                field="name",
                value=record.name,
            ) from exc

    def records(self) -> list[ScheduleRecord]:
        """Every schedule, oldest first."""
        rows = self._db.query("SELECT * FROM chaos_schedules ORDER BY created_at, id")
        return [_record(row) for row in rows]

    def get(self, schedule_id: str) -> ScheduleRecord:
        """One schedule by id or by name; ScheduleNotFound if there is none."""
        rows = self._db.query(
            "SELECT * FROM chaos_schedules WHERE id = ?1 OR name = ?1"
            " ORDER BY id = ?1 DESC",
            schedule_id,
        )
        if not rows:
            raise ScheduleNotFound(
                f"no schedule has the id or name {schedule_id!r}",
                field="schedule",
                value=schedule_id,
            )
        return _record(rows[0])

    def due(self, now: datetime) -> list[ScheduleRecord]:
        """The active schedules due by ``now``, the earliest first."""
        rows = self._db.query(
            "SELECT * FROM chaos_schedules WHERE state = ? AND next_run <= ?"
            " ORDER BY next_run",
            ScheduleState.ACTIVE,
            _stamp(now),
        )
        return [_record(row) for row in rows]

    def events(self, schedule_id: str, limit: int) -> list[ScheduleEvent]:
        """The events of the schedule with this id, newest first."""
        rows = self._db.query(
            "SELECT * FROM chaos_schedule_events WHERE schedule_id = ?"
            " ORDER BY id DESC LIMIT ?",
            schedule_id,
            limit,
        )
        return [_event(row) for row in rows]

    def write(
        self,
        record: ScheduleRecord,
        kind: EventKind | None,
        reason: str,
        change: ScheduleChange,
    ) -> bool:
        """Make the change and record its event, if any, in one transaction.

        False if the schedule is gone, or the due time it claims was taken.
        """
        sql, args = change.sql(record)
        with self._db.tx() as db:
            if not db.execute(sql, args).rowcount:
                return False
            if kind is not None:
                _add_event(db, record.id, self._clock(), kind, reason, change.event_run)
        return True

    def delete(self, schedule_id: str) -> None:
        """Forget the schedule with this id and its events."""
        with self._db.tx() as db:
            db.execute("DELETE FROM chaos_schedules WHERE id = ?", (schedule_id,))
            db.execute(
                "DELETE FROM chaos_schedule_events WHERE schedule_id = ?",
                (schedule_id,),
            )

    def close(self) -> None:
        """Close the store's connection."""
        self._db.close()


def _add_event(
    db: sqlite3.Connection,
    schedule_id: str,
    at: datetime,
    kind: EventKind,
    reason: str,
    run_id: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO chaos_schedule_events (schedule_id, at, kind, run_id, reason)"
        " VALUES (?,?,?,?,?)",
        (schedule_id, _stamp(at), kind, run_id, reason),
    )
    db.execute(
        "DELETE FROM chaos_schedule_events WHERE schedule_id = ?1 AND id NOT IN"
        " (SELECT id FROM chaos_schedule_events WHERE schedule_id = ?1"
        " ORDER BY id DESC LIMIT ?2)",
        (schedule_id, EVENTS_KEPT),
    )


def _record(row: sqlite3.Row) -> ScheduleRecord:
    return ScheduleRecord(
        id=row["id"],
        name=row["name"],
        spec=ScheduleSpec.model_validate_json(row["spec"]),
        state=ScheduleState(row["state"]),
        next_run=_moment(row["next_run"]),
        last_run_id=row["last_run_id"],
        last_run_at=_moment(row["last_run_at"]),
        created_by=row["created_by"],
        created_at=datetime.fromisoformat(row["created_at"]),
        skipped=row["skipped"],
    )


def _event(row: sqlite3.Row) -> ScheduleEvent:
    return ScheduleEvent(
        at=datetime.fromisoformat(row["at"]),
        kind=EventKind(row["kind"]),
        run_id=row["run_id"],
        reason=row["reason"],
    )


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
