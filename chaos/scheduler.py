"""Schedules of experiments: once, on an interval, by cron, or at random.

A schedule's row holds its spec, its state and its next due time, so a
restarted controller carries on where it stopped; ``chaos.schedule_store``
keeps the rows. ``tick`` runs about once a second; for each schedule that has
fallen due it:

1. claims the due time by moving ``next_run`` on, so each starts one run;
2. records the due times too late to start as one ``skipped-missed`` event;
3. skips, and records, a start while the previous run still runs (forbid);
4. starts the run; a refusal is recorded and the schedule goes on;
5. keeps the schedule's runs and events within their limits.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chaos.errors import ChaosError, RunConflict
from chaos.experiment import Experiment
from chaos.schedule_spec import Overlap, ScheduleSpec
from chaos.schedule_store import (
    EVENTS_KEPT,
    EventKind,
    ScheduleChange,
    ScheduleEvent,
    ScheduleRecord,
    ScheduleState,
    ScheduleStore,
)
from chaos.timing import MAX_WALK, CatchUp, catch_up, check_first_run, first_run, show

__all__ = [
    "EVENTS_KEPT",
    "LATE_TOLERANCE",
    "EventKind",
    "ScheduleEvent",
    "ScheduleRecord",
    "ScheduleState",
    "Scheduler",
    "StartRun",
    "utc_clock",
]

log = logging.getLogger(__name__)

StartRun = Callable[[Experiment, str, str], Awaitable[str]]
LATE_TOLERANCE = timedelta(seconds=10)  # a due time later than this is missed


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
        self._store = ScheduleStore(database, clock)
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
        new = ScheduleRecord(
            id=schedule_id,
            name=spec.name,
            spec=spec,
            state=state,
            next_run=next_run,
            last_run_id=None,
            last_run_at=None,
            created_by=actor,
            created_at=now,
            skipped=0,
        )
        self._store.add(new, reason)
        record = self.get(schedule_id)
        _log(record, EventKind.CREATED, reason)
        return record

    def list(self) -> builtins.list[ScheduleRecord]:
        """Every schedule, oldest first."""
        return self._store.records()

    def get(self, schedule_id: str) -> ScheduleRecord:
        """One schedule by id or by name; ScheduleNotFound if there is none."""
        return self._store.get(schedule_id)

    def pause(self, schedule_id: str, actor: str) -> ScheduleRecord:
        """Start nothing until resumed; RunConflict unless it is active."""
        record = self._expect(schedule_id, ScheduleState.ACTIVE, "pause")
        change = ScheduleChange(ScheduleState.PAUSED, None, paused=True)
        self._write(record, EventKind.PAUSED, f"paused by {actor}", change)
        return self.get(record.id)

    def resume(self, schedule_id: str, actor: str) -> ScheduleRecord:
        """Start runs again, the next counted from now; RunConflict unless paused.

        A once schedule whose time passed while it was paused is finished.
        """
        record = self._expect(schedule_id, ScheduleState.PAUSED, "resume")
        next_run = first_run(record.spec.when, self._now())
        if next_run is None:
            change = ScheduleChange(
                ScheduleState.FINISHED, None, paused=False, skipped=1
            )
            reason = f"resumed by {actor}; its one time passed while it was paused"
        else:
            change = ScheduleChange(ScheduleState.ACTIVE, next_run, paused=False)
            reason = f"resumed by {actor}; next run at {show(next_run)}"
        self._write(record, EventKind.RESUMED, reason, change)
        return self.get(record.id)

    def delete(self, schedule_id: str, actor: str) -> None:
        """Forget a schedule and its events; its runs stay in the journal."""
        record = self.get(schedule_id)
        self._store.delete(record.id)
        log.info("schedule %s deleted by %s", record.name, actor, extra=_fields(record))

    def events(self, schedule_id: str, limit: int = 50) -> builtins.list[ScheduleEvent]:
        """A schedule's history, newest first."""
        return self._store.events(self.get(schedule_id).id, limit)

    async def tick(self) -> builtins.list[str]:
        """Start the runs that have fallen due; the ids of those started."""
        if self._ticking.locked():
            return []
        async with self._ticking:
            started = [await self._fire(record) for record in self._due()]
            return [run_id for run_id in started if run_id is not None]

    def close(self) -> None:
        """Close the scheduler's connection."""
        self._store.close()

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
            change = ScheduleChange(skipped=1, event_run=record.last_run_id)
            self._write(record, EventKind.SKIPPED_OVERLAP, reason, change)
            return None
        return await self._start(record, plan.run_at)

    def _claim(self, record: ScheduleRecord, due: datetime, plan: CatchUp) -> bool:
        change = ScheduleChange.claim(due, plan)
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
            self._write(record, EventKind.START_REFUSED, reason, ScheduleChange())
            return None
        reason = f"started run {run_id}, due at {show(due)}"
        change = ScheduleChange(last_run=(run_id, self._now()), event_run=run_id)
        self._write(record, EventKind.STARTED, reason, change)
        self._prune(record.id, record.spec.history_limit)
        return run_id

    def _write(
        self,
        record: ScheduleRecord,
        kind: EventKind | None,
        reason: str,
        change: ScheduleChange,
    ) -> bool:
        # The event is logged only once its write has committed.
        if not self._store.write(record, kind, reason, change):
            return False
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
        return self._store.due(self._now())

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


def _log(record: ScheduleRecord, kind: EventKind, reason: str) -> None:
    log.log(kind.level, "schedule %s: %s", record.name, reason, extra=_fields(record))


def _fields(record: ScheduleRecord) -> dict[str, str]:
    return {"schedule": record.name, "service": record.spec.experiment.service}
