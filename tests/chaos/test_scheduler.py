"""Schedules: creation, lookups, pause and resume, deletion, restarts.

The tick tests in ``test_scheduler_ticks`` share the bench defined here: a
clock that moves only when told and a platform whose runs last a fixed
time on it, with a real journal in the same SQLite file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ExperimentInvalid, RunConflict, ScheduleNotFound, TargetRefused
from chaos.experiment import Experiment
from chaos.journal import Journal
from chaos.schedule_spec import ScheduleSpec
from chaos.scheduler import EventKind, Scheduler, ScheduleState

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
EXPERIMENT = {
    "title": "hold still",
    "service": "web",
    "method": [{"type": "pause", "duration": 1}],
}


def spec(name: str = "every-minute", **fields: Any) -> ScheduleSpec:
    """A schedule spec as a request body would give it; every minute unless told."""
    when = {"mode": "interval", "every": "1m"}
    data = {"name": name, "experiment": EXPERIMENT, "when": when, **fields}
    return ScheduleSpec.model_validate_json(json.dumps(data))


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Runs:
    """The platform's side: runs that last ``length`` seconds of the clock."""

    def __init__(self, clock: Clock, journal: Journal) -> None:
        self.clock, self.journal = clock, journal
        self.length = timedelta(seconds=90)
        self.started: list[tuple[str, datetime]] = []
        self.pruned: list[tuple[str, int]] = []
        self.refusal: str | None = None

    async def start(self, experiment: Experiment, actor: str, schedule_id: str) -> str:
        if self.refusal is not None:
            raise TargetRefused(self.refusal)
        run_id = f"run-{len(self.started) + 1}"
        document = experiment.model_dump(mode="json")
        self.journal.start(run_id, document, actor, schedule_id=schedule_id)
        self.started.append((run_id, self.clock()))
        return run_id

    def is_running(self, run_id: str) -> bool:
        return self.clock() < dict(self.started)[run_id] + self.length

    def prune(self, schedule_id: str, keep: int) -> int:
        self.pruned.append((schedule_id, keep))
        return self.journal.prune(schedule_id, keep)

    def starts(self) -> list[float]:
        """When each run started, in seconds after START."""
        return [(at - START).total_seconds() for _, at in self.started]


class Bench:
    """A scheduler on a fake clock and fake runs, with a real SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path, self.clock = path, Clock()
        self.journal = Journal(path)
        self.runs = Runs(self.clock, self.journal)
        self.scheduler = self.open()

    def open(self) -> Scheduler:
        """A new scheduler on the same file, as after a controller restart."""
        return Scheduler(
            self.path,
            self.runs.start,
            self.runs.is_running,
            self.runs.prune,
            clock=self.clock,
        )

    def restart(self, down_for: float) -> Scheduler:
        """Close the scheduler, let time pass, and open a new one."""
        self.scheduler.close()
        self.clock.advance(down_for)
        self.scheduler = self.open()
        return self.scheduler

    def drive(self, seconds: int) -> list[str]:
        """Tick once a second for ``seconds``; the run ids started."""
        return asyncio.run(self._drive(seconds))

    async def _drive(self, seconds: int) -> list[str]:
        started = []
        for _ in range(seconds):
            self.clock.advance(1)
            started += await self.scheduler.tick()
        return started


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    """A fresh bench; closed afterwards."""
    made = Bench(tmp_path / "state.sqlite")
    yield made
    made.scheduler.close()
    made.journal.shutdown()


def test_a_new_schedule_is_active_and_first_runs_one_interval_later(
    bench: Bench,
) -> None:
    record = bench.scheduler.create(spec(), "alice")

    assert record.state is ScheduleState.ACTIVE
    assert record.next_run == START + timedelta(minutes=1)
    assert (record.created_by, record.created_at) == ("alice", START)
    assert (record.last_run_id, record.skipped) == (None, 0)
    assert record.id.startswith("sch-")
    assert bench.scheduler.list() == [record]
    [created] = bench.scheduler.events(record.id)
    assert created.kind is EventKind.CREATED and "alice" in created.reason


def test_get_takes_an_id_or_a_name_and_quotes_what_it_cannot_find(
    bench: Bench,
) -> None:
    record = bench.scheduler.create(spec(), "alice")

    assert bench.scheduler.get(record.id) == bench.scheduler.get("every-minute")
    with pytest.raises(ScheduleNotFound, match="'nope'"):
        bench.scheduler.get("nope")


def test_a_taken_name_is_a_conflict_that_names_it(bench: Bench) -> None:
    bench.scheduler.create(spec(), "alice")

    with pytest.raises(RunConflict, match="'every-minute'") as caught:
        bench.scheduler.create(spec(), "bob")
    assert caught.value.context == {"field": "name", "value": "every-minute"}
    assert len(bench.scheduler.list()) == 1


@pytest.mark.parametrize(
    ("when", "field"),
    [
        ({"mode": "cron", "expression": "*/5 * * * * *"}, "when.expression"),
        ({"mode": "cron", "expression": "0 25 * * *"}, "when.expression"),
        ({"mode": "once", "at": "2026-03-04T11:59:00+00:00"}, "when.at"),
    ],
)
def test_a_bad_time_is_refused_at_creation_and_nothing_is_stored(
    bench: Bench, when: dict[str, str], field: str
) -> None:
    with pytest.raises(ExperimentInvalid) as caught:
        bench.scheduler.create(spec(when=when), "alice")
    assert caught.value.context["field"] == field
    assert bench.scheduler.list() == []


def test_pause_starts_nothing_and_resume_counts_from_now(bench: Bench) -> None:
    bench.scheduler.create(spec(), "alice")
    bench.clock.advance(30)

    paused = bench.scheduler.pause("every-minute", "bob")
    assert (paused.state, paused.next_run) == (ScheduleState.PAUSED, None)
    assert paused.spec.paused is True
    assert bench.drive(600) == []

    resumed = bench.scheduler.resume("every-minute", "bob")
    assert resumed.state is ScheduleState.ACTIVE
    assert resumed.next_run == bench.clock() + timedelta(minutes=1)
    assert bench.drive(60) == ["run-1"]
    kinds = [e.kind for e in bench.scheduler.events("every-minute")]
    assert kinds == [
        EventKind.STARTED,
        EventKind.RESUMED,
        EventKind.PAUSED,
        EventKind.CREATED,
    ]


def test_a_wrong_transition_is_a_conflict_that_names_the_state(bench: Bench) -> None:
    bench.scheduler.create(spec(), "alice")

    with pytest.raises(RunConflict, match="it is active"):
        bench.scheduler.resume("every-minute", "bob")
    bench.scheduler.pause("every-minute", "bob")
    with pytest.raises(RunConflict, match="it is paused"):
        bench.scheduler.pause("every-minute", "bob")


def test_a_schedule_created_paused_waits_for_resume(bench: Bench) -> None:
    record = bench.scheduler.create(spec(paused=True), "alice")

    assert (record.state, record.next_run) == (ScheduleState.PAUSED, None)
    assert bench.drive(120) == []
    assert bench.scheduler.resume(record.id, "alice").next_run is not None


def test_a_schedule_carries_on_in_a_new_scheduler_on_the_same_file(
    bench: Bench,
) -> None:
    cron = {"mode": "cron", "expression": "*/5 * * * *"}
    record = bench.scheduler.create(spec("every-five", when=cron), "alice")
    assert bench.drive(300) == ["run-1"]
    before = bench.scheduler.get(record.id)

    again = bench.restart(down_for=0).get(record.id)

    assert again == before
    assert again.next_run == START + timedelta(minutes=10)
    assert (again.last_run_id, again.last_run_at) == ("run-1", START.replace(minute=5))
    assert len(bench.scheduler.events(record.id)) == 2
    assert bench.drive(300) == ["run-2"]


def test_deleting_a_schedule_keeps_its_runs(bench: Bench) -> None:
    record = bench.scheduler.create(spec(), "alice")
    assert bench.drive(60) == ["run-1"]

    bench.scheduler.delete("every-minute", "bob")

    with pytest.raises(ScheduleNotFound):
        bench.scheduler.get(record.id)
    with pytest.raises(ScheduleNotFound):
        bench.scheduler.events(record.id)
    assert [r.id for r in bench.journal.runs(schedule_id=record.id)] == ["run-1"]
    assert bench.drive(120) == []


def test_milestones_log_at_info(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="chaos.scheduler")
    bench.scheduler.create(spec(), "alice")
    bench.drive(60)
    bench.scheduler.pause("every-minute", "bob")
    bench.scheduler.resume("every-minute", "bob")
    bench.scheduler.delete("every-minute", "bob")

    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert all(level == "INFO" for level, _ in lines)
    for word in ("created by alice", "started run run-1", "paused by", "resumed by"):
        assert any(word in text for _, text in lines), word
    assert any("deleted by bob" in text for _, text in lines)
    assert {getattr(r, "schedule", None) for r in caplog.records} == {"every-minute"}
