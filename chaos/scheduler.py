"""Schedules of experiments: once, on an interval, by cron, or at random.

A schedule's row holds its spec, its state and its next due time, so a
restarted controller carries on where it stopped. ``tick`` runs about once a
second; for each schedule that has fallen due it:

1. claims the due time by moving ``next_run`` on, so each starts one run;
2. records the due times too late to start as one ``skipped-missed`` event;
3. skips, and records, a start while the previous run still runs (forbid);
4. starts the run; a refusal is recorded and the schedule goes on;
5. keeps the schedule's runs and events within their limits.
"""

from __future__ import annotations

import asyncio
import builtins
import enum
import logging
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chaos.db import Database
from chaos.errors import ChaosError, RunConflict, ScheduleNotFound
from chaos.experiment import Experiment
from chaos.schedule_spec import Overlap, ScheduleSpec
from chaos.timing import MAX_WALK, CatchUp, catch_up, check_first_run, first_run, show

log = logging.getLogger(__name__)

StartRun = Callable[[Experiment, str, str], Awaitable[str]]
LATE_TOLERANCE = timedelta(seconds=10)  # a due time later than this is missed
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
class _Change:
    """One write to a schedule's row; state and next_run change together."""

    state: ScheduleState | None = None  # None leaves state and next_run alone
    next_run: datetime | None = None
    paused: bool | None = None  # the spec's flag, kept in step with the state
    skipped: int = 0  # due times to add to the count of skips
    last_run: tuple[str, datetime] | None = None  # the run started and when
    due: datetime | None = None  # write only while this is the next due time
    event_run: str | None = None  # the run the event names

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


def utc_clock() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Scheduler:
    """Schedules in the controller's SQLite file, and the tick that runs them."""

    def __init__(
        self,
        database: Path,
        start_run: StartRun,
        is_running: Callable[[str], bool],
        prune: Callable[[str, int], int],
        clock: Callable[[], datetime] = utc_clock,
    ) -> None:
        self._db = Database(database, SCHEMA)
        self._start_run = start_run
        self._is_running = is_running
        self._prune = prune
        self._clock = clock
        self._ticking = asyncio.Lock()

    def create(self, spec: ScheduleSpec, actor: str) -> ScheduleRecord:
        """Store a new schedule.

        ExperimentInvalid names a bad time; RunConflict a name already taken.
        """
        now, schedule_id = self._now(), f"sch-{secrets.token_hex(5)}"
        first = check_first_run(spec.when, now)
        state = ScheduleState.PAUSED if spec.paused else ScheduleState.ACTIVE
        next_run = None if spec.paused else first
        reason = f"created by {actor}, {state}, next run at {show(next_run)}"
        try:
            with self._db.tx() as db:
                db.execute(
                    "INSERT INTO chaos_schedules (id, name, spec, state, next_run,"
                    " created_by, created_at) VALUES (?,?,?,?,?,?,?)",
                    (
                        schedule_id,
                        spec.name,
                        spec.model_dump_json(),
                        state,
                        _stamp(next_run),
                        actor,
                        _stamp(now),
                    ),
                )
                _add_event(db, schedule_id, now, EventKind.CREATED, reason)
        except sqlite3.IntegrityError as exc:
            raise RunConflict(
                f"a schedule named {spec.name!r} exists already; expected a new"
                " name, or delete the old schedule first",
                field="name",
                value=spec.name,
            ) from exc
        record = self.get(schedule_id)
        _log(record, EventKind.CREATED, reason)
        return record

    def list(self) -> builtins.list[ScheduleRecord]:
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

    def pause(self, schedule_id: str, actor: str) -> ScheduleRecord:
        """Start nothing until resumed; RunConflict unless it is active."""
        record = self._expect(schedule_id, ScheduleState.ACTIVE, "pause")
        change = _Change(ScheduleState.PAUSED, None, paused=True)
        self._write(record, EventKind.PAUSED, f"paused by {actor}", change)
        return self.get(record.id)

    def resume(self, schedule_id: str, actor: str) -> ScheduleRecord:
        """Start runs again, the next counted from now; RunConflict unless paused.

        A once schedule whose time passed while it was paused is finished.
        """
        record = self._expect(schedule_id, ScheduleState.PAUSED, "resume")
        next_run = first_run(record.spec.when, self._now())
        if next_run is None:
            change = _Change(ScheduleState.FINISHED, None, paused=False, skipped=1)
            reason = f"resumed by {actor}; its one time passed while it was paused"
        else:
            change = _Change(ScheduleState.ACTIVE, next_run, paused=False)
            reason = f"resumed by {actor}; next run at {show(next_run)}"
        self._write(record, EventKind.RESUMED, reason, change)
        return self.get(record.id)

    def delete(self, schedule_id: str, actor: str) -> None:
        """Forget a schedule and its events; its runs stay in the journal."""
        record = self.get(schedule_id)
        with self._db.tx() as db:
            db.execute("DELETE FROM chaos_schedules WHERE id = ?", (record.id,))
            db.execute(
                "DELETE FROM chaos_schedule_events WHERE schedule_id = ?", (record.id,)
            )
        log.info("schedule %s deleted by %s", record.name, actor, extra=_fields(record))

    def events(self, schedule_id: str, limit: int = 50) -> builtins.list[ScheduleEvent]:
        """A schedule's history, newest first."""
        rows = self._db.query(
            "SELECT * FROM chaos_schedule_events WHERE schedule_id = ?"
            " ORDER BY id DESC LIMIT ?",
            self.get(schedule_id).id,
            limit,
        )
        return [_event(row) for row in rows]

    async def tick(self) -> builtins.list[str]:
        """Start the runs that have fallen due; the ids of those started."""
        if self._ticking.locked():
            return []
        async with self._ticking:
            started = [await self._fire(record) for record in self._due()]
            return [run_id for run_id in started if run_id is not None]

    def close(self) -> None:
        """Close the scheduler's connection."""
        self._db.close()

    async def _fire(self, record: ScheduleRecord) -> str | None:
        due = record.next_run
        if due is None:
            return None
        plan = catch_up(record.spec.when, due, self._now(), LATE_TOLERANCE)
        if not self._claim(record, due, plan) or plan.run_at is None:
            return None
        if self._overlaps(record):
            reason = (
                f"skipped the start due at {show(plan.run_at)}, not queued: run"
                f" {record.last_run_id} still runs and overlap is forbidden"
            )
            change = _Change(skipped=1, event_run=record.last_run_id)
            self._write(record, EventKind.SKIPPED_OVERLAP, reason, change)
            return None
        return await self._start(record, plan.run_at)

    def _claim(self, record: ScheduleRecord, due: datetime, plan: CatchUp) -> bool:
        # Moving next_run on before the start means that a due time starts one
        # run at most, even with another scheduler on the same file.
        state = ScheduleState.ACTIVE if plan.next_run else ScheduleState.FINISHED
        change = _Change(state, plan.next_run, skipped=plan.missed, due=due)
        kind = EventKind.SKIPPED_MISSED if plan.missed else None
        return self._write(record, kind, _missed(due, plan), change)

    def _overlaps(self, record: ScheduleRecord) -> bool:
        return (
            record.spec.overlap is Overlap.FORBID
            and record.last_run_id is not None
            and self._is_running(record.last_run_id)
        )

    async def _start(self, record: ScheduleRecord, due: datetime) -> str | None:
        actor = f"schedule:{record.name}"
        try:
            run_id = await self._start_run(record.spec.experiment, actor, record.id)
        except ChaosError as exc:
            reason = f"the start due at {show(due)} was refused: {exc.message}"
            self._write(record, EventKind.START_REFUSED, reason, _Change())
            return None
        reason = f"started run {run_id}, due at {show(due)}"
        change = _Change(last_run=(run_id, self._now()), event_run=run_id)
        self._write(record, EventKind.STARTED, reason, change)
        self._prune(record.id, record.spec.history_limit)
        return run_id

    def _write(
        self,
        record: ScheduleRecord,
        kind: EventKind | None,
        reason: str,
        change: _Change,
    ) -> bool:
        # One transaction for the change and its event; False if the schedule
        # was deleted meanwhile, or the due time was claimed already.
        sql, args = change.sql(record)
        with self._db.tx() as db:
            if not db.execute(sql, args).rowcount:
                return False
            if kind is not None:
                at = self._now()
                _add_event(db, record.id, at, kind, reason, change.event_run)
        if kind is not None:
            _log(record, kind, reason)
        return True

    def _expect(
        self, schedule_id: str, state: ScheduleState, verb: str
    ) -> ScheduleRecord:
        record = self.get(schedule_id)
        if record.state is not state:
            raise RunConflict(
                f"cannot {verb} schedule {record.name!r}: expected it {state},"
                f" it is {record.state}",
                field="state",
                value=record.state.value,
            )
        return record

    def _due(self) -> builtins.list[ScheduleRecord]:
        rows = self._db.query(
            "SELECT * FROM chaos_schedules WHERE state = ? AND next_run <= ?"
            " ORDER BY next_run",
            ScheduleState.ACTIVE,
            _stamp(self._now()),
        )
        return [_record(row) for row in rows]

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


def _missed(due: datetime, plan: CatchUp) -> str:
    if plan.missed == 1:
        what = f"missed the start due at {show(due)}"
    else:
        count = f"more than {MAX_WALK}" if plan.missed > MAX_WALK else plan.missed
        what = f"missed {count} due times from {show(due)} on"
    late = int(LATE_TOLERANCE.total_seconds())
    return (
        f"{what}, more than {late}s late; none is started late,"
        f" next run: {show(plan.next_run)}"
    )


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


def _log(record: ScheduleRecord, kind: EventKind, reason: str) -> None:
    log.log(kind.level, "schedule %s: %s", record.name, reason, extra=_fields(record))


def _fields(record: ScheduleRecord) -> dict[str, str]:
    return {"schedule": record.name, "service": record.spec.experiment.service}


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
