"""When a schedule's runs fall due: pure arithmetic on aware UTC datetimes.

Each function takes the moment to count from and returns a due time, so the
scheduler persists a single datetime per schedule and carries on after a
restart.

Random schedules follow Chaos Monkey. A gap is ``min_gap`` plus a draw from
an exponential distribution with mean ``mean - min_gap``, so gaps average
``mean`` and none is shorter than ``min_gap``. Runs land only inside the
allowed windows: one window per allowed day, from the start to the end of
``hours`` in UTC, the end excluded. A draw that lands outside every window
moves into the next window that opens after it, carrying the time it
overshot: counted from the later of the last window's close and the last due
time, and wrapped around the window's length if it is longer. Because the
draws are memoryless, a wide window thus gets about one run per ``mean`` of
open time, spread evenly rather than bunched at the opening; and a narrow
window such as ``09:00-09:01`` on a single day still gets a time, within a
week. A seeded schedule draws each gap from the seed and the moment it counts
from, so the same history yields the same times, across restarts too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

from chaos.errors import ExperimentInvalid
from chaos.schedule_spec import Cron, Interval, Once, Random, Weekday

When = Once | Interval | Cron | Random
MAX_WALK = 1000  # due times counted one by one when catching up after a gap
SHORTEST_GAP = timedelta(milliseconds=1)  # a draw of zero still moves time on
WEEKDAYS = list(Weekday)  # in the order of datetime.weekday()


@dataclass(frozen=True)
class CatchUp:
    """What a tick does about the due times that have come by ``now``."""

    run_at: datetime | None  # the due time to start now, if one is on time
    missed: int  # due times too late to start; MAX_WALK + 1 means "more"
    next_run: datetime | None  # the first due time after now; None if none


def check_first_run(when: When, now: datetime) -> datetime | None:
    """The first due time of a new schedule, or why its time is bad.

    ExperimentInvalid names ``when.at`` for a once in the past and
    ``when.expression`` for a cron expression that is not five valid fields.
    """
    if isinstance(when, Once) and when.at <= now:
        raise ExperimentInvalid(
            f"when.at: expected a time after now ({show(now)}),"
            f" got {when.at.isoformat()!r}",
            field="when.at",
            value=when.at.isoformat(),
        )
    if isinstance(when, Cron):
        return check_cron(when.expression, now)
    return first_run(when, now)


def first_run(when: When, now: datetime) -> datetime | None:
    """The first due time after ``now``, as on creation or resumption."""
    match when:
        case Once(at=at):
            return at.astimezone(UTC) if at > now else None
        case Interval(every=every):
            return _utc(now) + timedelta(seconds=every)
        case Cron(expression=expression):
            return cron_after(expression, now)
        case Random():
            return random_after(when, now)
    raise TypeError(f"unknown schedule mode, got {when!r}")


def following(when: When, due: datetime) -> datetime | None:
    """The due time that comes after the due time ``due``; None for a once."""
    if isinstance(when, Interval):
        return _utc(due) + timedelta(seconds=when.every)
    if isinstance(when, Once):
        return None
    return first_run(when, due)


def catch_up(when: When, due: datetime, now: datetime, tolerance: timedelta) -> CatchUp:
    """Sort the due times from ``due`` to ``now`` into one start and misses.

    The latest due time starts if it is at most ``tolerance`` late; every
    other one is missed, never started late, so a long gap gives no burst.
    """
    latest, count, after = due, 1, following(when, due)
    for _ in range(MAX_WALK):
        if after is None or after > now:
            break
        latest, count, after = after, count + 1, following(when, after)
    else:
        return CatchUp(None, count, skip_past(when, latest, now))
    if now - latest <= tolerance:
        return CatchUp(latest, count - 1, after)
    return CatchUp(None, count, after)


def skip_past(when: When, due: datetime, now: datetime) -> datetime | None:
    """The first due time after ``now``; an interval keeps its phase."""
    if isinstance(when, Interval):
        return interval_after(due, when.every, now)
    return first_run(when, now)


def interval_after(anchor: datetime, every: float, now: datetime) -> datetime:
    """The first of ``anchor + k * every`` (k >= 1) that is after ``now``."""
    step = timedelta(seconds=every)
    steps = max(0, (now - anchor) // step) + 1
    return _utc(anchor) + steps * step


def check_cron(expression: str, now: datetime) -> datetime:
    """The first time a cron expression names after ``now``, or why it is bad."""
    fields = len(expression.split())
    if fields != 5:
        raise _bad_cron(expression, f"has {fields} fields")
    try:
        found = cron_after(expression, now)
    except CronSimError as exc:
        raise _bad_cron(expression, str(exc).lower()) from exc
    if found is None:
        raise _bad_cron(expression, "never falls due")
    return found


def cron_after(expression: str, after: datetime) -> datetime | None:
    """The first time the expression names after ``after``, in UTC."""
    try:
        return next(CronSim(expression, _utc(after))).astimezone(UTC)
    except StopIteration:
        return None


def random_after(spec: Random, after: datetime) -> datetime:
    """A random due time after ``after``, inside the allowed windows."""
    draws = _draws(spec.seed, after)
    spread = spec.mean - spec.min_gap
    gap = timedelta(seconds=spec.min_gap + draws.expovariate(1 / spread))
    candidate = _utc(after) + max(gap, SHORTEST_GAP)
    if is_allowed(spec, candidate):
        return candidate
    opens, closes = next_window(spec, candidate)
    closed = last_close(spec, candidate)
    overshoot = candidate - (_utc(after) if closed is None else max(closed, after))
    return opens + overshoot % (closes - opens)


def is_allowed(spec: Random, moment: datetime) -> bool:
    """Whether ``moment`` lies inside one of the schedule's windows."""
    moment = _utc(moment)
    midnight = _midnight(moment)
    start, end = window_bounds(spec.hours)
    return _weekday(midnight) in spec.days and start <= moment - midnight < end


def next_window(spec: Random, moment: datetime) -> tuple[datetime, datetime]:
    """The first allowed window that opens after ``moment``: (opens, closes)."""
    start, end = window_bounds(spec.hours)
    midnight = _midnight(_utc(moment))
    for offset in range(8):
        day = midnight + timedelta(days=offset)
        if day + start > moment and _weekday(day) in spec.days:
            return day + start, day + end
    raise ValueError(f"a random schedule needs an allowed day, got {spec.days!r}")


def last_close(spec: Random, moment: datetime) -> datetime | None:
    """When the last allowed window before ``moment`` closed, within a week."""
    end = window_bounds(spec.hours)[1]
    midnight = _midnight(_utc(moment))
    for offset in range(8):
        day = midnight - timedelta(days=offset)
        if day + end <= moment and _weekday(day) in spec.days:
            return day + end
    return None


def window_bounds(hours: str) -> tuple[timedelta, timedelta]:
    """Where a window opens and closes, as offsets from midnight."""
    start, end = hours.split("-")
    return _since_midnight(start), _since_midnight(end)


def show(moment: datetime | None) -> str:
    """A due time for people: ISO 8601 to the second, or "never"."""
    return "never" if moment is None else moment.isoformat(timespec="seconds")


def _since_midnight(clock: str) -> timedelta:
    hour, minute = clock.split(":")
    return timedelta(hours=int(hour), minutes=int(minute))


def _draws(seed: int | None, after: datetime) -> random.Random:
    # A seeded draw depends only on the seed and the moment it counts from,
    # so a restarted controller makes the same draw again.
    if seed is None:
        return random.Random()
    return random.Random(f"{seed}@{_utc(after).isoformat()}")


def _bad_cron(expression: str, why: str) -> ExperimentInvalid:
    return ExperimentInvalid(
        f"when.expression: {why}; expected a five-field cron expression in UTC"
        f" such as '*/5 * * * *', got {expression!r}",
        field="when.expression",
        value=expression,
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _weekday(moment: datetime) -> Weekday:
    return WEEKDAYS[moment.weekday()]
