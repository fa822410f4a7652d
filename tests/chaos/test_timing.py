"""Next-run arithmetic: intervals, cron, random windows and catching up."""

from __future__ import annotations

import itertools
import json
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from chaos.errors import ExperimentInvalid
from chaos.schedule_spec import Cron, Interval, Once, Random
from chaos.timing import (
    MAX_WALK,
    catch_up,
    check_cron,
    check_first_run,
    cron_after,
    first_run,
    following,
    interval_after,
    is_allowed,
    random_after,
)

NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
TOLERANCE = timedelta(seconds=10)
WORKING_DAYS = ["mon", "tue", "wed", "thu", "fri"]


def random_spec(**fields: Any) -> Random:
    return Random.model_validate_json(json.dumps({"mode": "random", **fields}))


def every(seconds: float) -> Interval:
    return Interval(mode="interval", every=seconds)


def test_an_interval_counts_from_due_times_so_it_never_drifts() -> None:
    when = every(60)
    due = first_run(when, NOON)
    assert due == NOON + timedelta(seconds=60)

    late_tick = due + timedelta(seconds=3)
    plan = catch_up(when, due, late_tick, TOLERANCE)

    assert plan.run_at == due
    assert plan.missed == 0
    assert plan.next_run == NOON + timedelta(seconds=120)


def test_interval_after_keeps_the_phase_of_its_anchor() -> None:
    anchor = NOON + timedelta(seconds=7)
    assert interval_after(anchor, 60, NOON) == anchor + timedelta(seconds=60)
    later = NOON + timedelta(hours=5, seconds=8)
    assert interval_after(anchor, 60, later) == NOON + timedelta(hours=5, seconds=67)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        (
            "*/5 * * * *",
            NOON + timedelta(minutes=3, seconds=10),
            NOON.replace(minute=5),
        ),
        ("*/5 * * * *", NOON, NOON.replace(minute=5)),
        (
            "0 9 * * mon-fri",
            datetime(2026, 3, 6, 10, tzinfo=UTC),
            NOON.replace(day=9, hour=9),
        ),
        ("30 2 1 * *", NOON, datetime(2026, 4, 1, 2, 30, tzinfo=UTC)),
    ],
)
def test_cron_names_the_next_time_in_utc(
    expression: str, after: datetime, expected: datetime
) -> None:
    assert cron_after(expression, after) == expected
    assert check_cron(expression, after) == expected


def test_cron_every_five_minutes_walks_in_five_minute_steps() -> None:
    when = Cron(mode="cron", expression="*/5 * * * *")
    times = [NOON]
    for _ in range(4):
        step = following(when, times[-1])
        assert step is not None
        times.append(step)
    assert [t.minute for t in times] == [0, 5, 10, 15, 20]


@pytest.mark.parametrize(
    "expression",
    [
        "*/0 * * * *",
        "61 * * * *",
        "15 12 * *",
        "0 0 * * * *",
        "0 0 30 2 *",
        "x y z w v",
    ],
)
def test_a_bad_cron_expression_names_the_field_and_the_value(expression: str) -> None:
    with pytest.raises(ExperimentInvalid) as caught:
        check_first_run(Cron(mode="cron", expression=expression), NOON)
    assert caught.value.context == {"field": "when.expression", "value": expression}
    assert str(caught.value).startswith("when.expression: ")
    assert repr(expression) in str(caught.value)


def test_a_once_in_the_past_names_when_at_and_the_value() -> None:
    when = Once(mode="once", at=NOON - timedelta(minutes=1))
    with pytest.raises(ExperimentInvalid) as caught:
        check_first_run(when, NOON)
    assert caught.value.context["field"] == "when.at"
    assert "2026-03-04T11:59:00+00:00" in str(caught.value)


def test_a_once_runs_at_its_time_and_never_again() -> None:
    when = Once(mode="once", at=NOON + timedelta(hours=1))
    assert check_first_run(when, NOON) == NOON + timedelta(hours=1)
    assert following(when, NOON + timedelta(hours=1)) is None


def test_random_gaps_average_the_mean_and_respect_the_min_gap() -> None:
    spec = random_spec(mean="10m", min_gap="2m", seed=7)
    times = [NOON]
    for _ in range(3000):
        times.append(random_after(spec, times[-1]))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]

    assert min(gaps) >= 120
    assert statistics.fmean(gaps) == pytest.approx(600, rel=0.08)
    assert statistics.median(gaps) < statistics.fmean(gaps)  # skewed, not fixed


def test_random_times_fall_only_inside_the_allowed_hours_and_days() -> None:
    spec = random_spec(mean="2h", hours="09:00-17:00", days=["mon", "wed"], seed=3)
    moment = NOON
    for _ in range(500):
        moment = random_after(spec, moment)
        assert moment.weekday() in (0, 2), moment
        assert 9 <= moment.hour < 17, moment
        assert is_allowed(spec, moment)


def test_a_min_gap_longer_than_the_night_still_holds() -> None:
    spec = random_spec(mean="40h", min_gap="30h", hours="09:00-17:00", seed=4)
    times = [NOON]
    for _ in range(300):
        times.append(random_after(spec, times[-1]))
    assert all(b - a >= timedelta(hours=30) for a, b in itertools.pairwise(times))
    assert all(is_allowed(spec, t) for t in times[1:])


def test_a_draw_past_the_window_carries_into_the_next_one_spread_out() -> None:
    spec = random_spec(mean="6h", min_gap="3h", hours="09:00-17:00", seed=11)
    evening = NOON.replace(hour=16, minute=59)
    starts = {random_after(spec, evening + timedelta(seconds=s)) for s in range(40)}

    assert all(t.date() == evening.date() + timedelta(days=1) for t in starts)
    assert all(9 <= t.hour < 17 for t in starts)
    assert all(t - evening >= timedelta(hours=3) for t in starts)
    assert len({t.replace(microsecond=0) for t in starts}) > 30  # not bunched


def test_a_working_day_window_gets_about_one_run_per_mean_of_open_time() -> None:
    spec = random_spec(
        mean="1h", min_gap="20m", hours="10:00-16:00", days=WORKING_DAYS, seed=2
    )
    moment, runs = NOON.replace(day=9, hour=0), 0
    end = moment + timedelta(weeks=20)
    while (moment := random_after(spec, moment)) < end:
        runs += 1
    assert 5.0 < runs / (20 * 5) < 6.5  # six hours open, one run an hour


def test_a_one_minute_window_on_one_day_still_yields_a_time() -> None:
    spec = random_spec(mean="1h", hours="09:00-09:01", days=["thu"], seed=5)
    moment = NOON
    for _ in range(20):
        later = random_after(spec, moment)
        assert later - moment <= timedelta(days=8)
        assert (later.weekday(), later.hour, later.minute) == (3, 9, 0)
        moment = later


def test_a_window_may_end_at_midnight_but_not_past_it() -> None:
    spec = random_spec(mean="1h", hours="23:00-24:00", seed=1)
    assert random_after(spec, NOON).hour == 23
    with pytest.raises(ValidationError):
        random_spec(mean="1h", hours="09:00-24:30")


def test_a_seeded_random_schedule_repeats_its_draws() -> None:
    seeded = random_spec(mean="1h", seed=42)
    other = random_spec(mean="1h", seed=43)
    assert random_after(seeded, NOON) == random_after(seeded, NOON)
    assert random_after(seeded, NOON) != random_after(other, NOON)


def test_catching_up_after_a_long_gap_misses_every_late_due_time() -> None:
    when = every(60)
    due = NOON
    now = NOON + timedelta(hours=1, seconds=30)

    plan = catch_up(when, due, now, TOLERANCE)

    assert plan.run_at is None
    assert plan.missed == 61
    assert plan.next_run == NOON + timedelta(hours=1, minutes=1)


def test_catching_up_starts_the_latest_due_time_if_it_is_on_time() -> None:
    when = Cron(mode="cron", expression="* * * * *")
    now = NOON + timedelta(minutes=5, seconds=2)

    plan = catch_up(when, NOON, now, TOLERANCE)

    assert plan.run_at == NOON + timedelta(minutes=5)
    assert plan.missed == 5
    assert plan.next_run == NOON + timedelta(minutes=6)


def test_catching_up_stops_counting_but_keeps_the_phase_after_a_huge_gap() -> None:
    when = every(1)
    due = NOON + timedelta(milliseconds=250)
    now = NOON + timedelta(days=1)

    plan = catch_up(when, due, now, TOLERANCE)

    assert plan.run_at is None
    assert plan.missed > MAX_WALK
    assert plan.next_run == now + timedelta(milliseconds=250)


def test_catching_up_a_random_schedule_draws_past_now() -> None:
    spec = random_spec(mean="1m", seed=9)
    now = NOON + timedelta(hours=2)

    plan = catch_up(spec, NOON, now, TOLERANCE)

    assert plan.missed >= 2
    assert plan.next_run is not None and plan.next_run > now
