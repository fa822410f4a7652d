"""The tick: one run at a time, misses skipped not queued, refusals recorded."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from chaos import schedule_store
from chaos.journal import RunStatus
from chaos.scheduler import EventKind, ScheduleState
from tests.chaos.test_scheduler import START, Bench, bench, spec

__all__ = ["bench"]  # the fixture, shared with the lifecycle tests

EVERY_MINUTE = [
    {"mode": "interval", "every": "60s"},
    {"mode": "cron", "expression": "* * * * *"},
]


@pytest.mark.parametrize("when", EVERY_MINUTE, ids=["interval", "cron"])
def test_c8_runs_of_90s_every_minute_never_overlap_and_skips_are_not_queued(
    bench: Bench, when: dict[str, str]
) -> None:
    bench.scheduler.create(spec(when=when), "alice")

    started = bench.drive(600)

    assert started == ["run-1", "run-2", "run-3", "run-4", "run-5"]
    assert bench.runs.starts() == [60, 180, 300, 420, 540]
    for (_, first), (_, second) in itertools.pairwise(bench.runs.started):
        assert second - first >= bench.runs.length
    events = bench.scheduler.events("every-minute", limit=100)
    skips = [e for e in events if e.kind is EventKind.SKIPPED_OVERLAP]
    skipped_at = sorted((e.at - START).total_seconds() for e in skips)
    assert skipped_at == [120, 240, 360, 480, 600]
    assert all(e.run_id is not None and "not queued" in e.reason for e in skips)
    assert bench.scheduler.get("every-minute").skipped == 5


def test_overlap_allow_starts_while_the_previous_run_still_runs(bench: Bench) -> None:
    bench.scheduler.create(spec(overlap="allow"), "alice")

    assert len(bench.drive(600)) == 10
    kinds = {e.kind for e in bench.scheduler.events("every-minute", limit=100)}
    assert EventKind.SKIPPED_OVERLAP not in kinds


def test_an_hour_down_gives_one_missed_event_and_no_burst(bench: Bench) -> None:
    bench.scheduler.create(spec(), "alice")

    again = bench.restart(down_for=3630)

    assert bench.drive(1) == []
    record = again.get("every-minute")
    [missed] = [
        e for e in again.events(record.id) if e.kind is EventKind.SKIPPED_MISSED
    ]
    assert missed.reason.startswith("missed 60 due times")
    assert record.skipped == 60
    assert record.next_run == START + timedelta(seconds=3660)
    assert bench.drive(60) == ["run-1"]
    assert bench.runs.starts() == [3660]
    kinds = [e.kind for e in again.events(record.id)]
    assert kinds.count(EventKind.SKIPPED_MISSED) == 1


def test_a_due_time_a_little_late_still_starts(bench: Bench) -> None:
    bench.scheduler.create(spec(), "alice")

    bench.restart(down_for=63)

    assert bench.drive(1) == ["run-1"]
    assert bench.scheduler.get("every-minute").next_run == START + timedelta(minutes=2)


def test_a_once_schedule_runs_once_then_finishes(bench: Bench) -> None:
    at = (START + timedelta(seconds=30)).isoformat()
    bench.scheduler.create(spec(when={"mode": "once", "at": at}), "alice")

    assert bench.drive(120) == ["run-1"]
    record = bench.scheduler.get("every-minute")
    assert (record.state, record.next_run) == (ScheduleState.FINISHED, None)


def test_a_once_missed_while_down_finishes_without_a_run(bench: Bench) -> None:
    at = (START + timedelta(seconds=30)).isoformat()
    bench.scheduler.create(spec(when={"mode": "once", "at": at}), "alice")

    bench.restart(down_for=600)

    assert bench.drive(5) == []
    record = bench.scheduler.get("every-minute")
    assert record.state is ScheduleState.FINISHED
    assert bench.scheduler.events(record.id)[0].reason.startswith(
        "missed the start due at 2026-03-04T12:00:30+00:00"
    )


def test_a_refused_start_is_recorded_and_the_schedule_goes_on(bench: Bench) -> None:
    bench.scheduler.create(spec(), "alice")
    bench.runs.refusal = "service 'web' has not opted in to chaos"

    assert bench.drive(60) == []
    [refused] = bench.scheduler.events("every-minute", limit=1)
    assert refused.kind is EventKind.START_REFUSED
    assert "has not opted in" in refused.reason

    bench.runs.refusal = None
    assert bench.drive(60) == ["run-1"]


def test_each_start_prunes_the_journal_to_the_history_limit(bench: Bench) -> None:
    record = bench.scheduler.create(spec(history_limit=2, overlap="allow"), "alice")

    for _ in range(5):
        for run_id in bench.drive(60):
            bench.journal.finish(run_id, RunStatus.COMPLETED, False, "held")

    assert bench.runs.pruned == [(record.id, 2)] * 5
    kept = {r.id for r in bench.journal.runs(schedule_id=record.id)}
    assert kept == {"run-3", "run-4", "run-5"}


def test_a_schedule_keeps_a_bounded_number_of_events(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule_store, "EVENTS_KEPT", 3)
    bench.scheduler.create(spec(overlap="allow"), "alice")

    assert len(bench.drive(300)) == 5

    events = bench.scheduler.events("every-minute")
    assert [e.run_id for e in events] == ["run-5", "run-4", "run-3"]


def test_skips_and_refusals_log_warnings(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    bench.scheduler.create(spec(), "alice")
    bench.drive(120)
    bench.runs.refusal = "a release is in flight"
    bench.drive(120)

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("not queued" in text for text in warnings)
    assert any("a release is in flight" in text for text in warnings)
