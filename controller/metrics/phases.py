"""How long releases spend in each phase, read from their stored timelines.

Timing phases from the timelines rather than in the pipeline has two
gains: the histogram needs no hook in the release procedure, and a
restarted controller rebuilds the same histogram from the same history, so
it never drops to zero as an in-process one would. The clock reads each
timeline line once: it remembers the last line it read and, for every
release still in flight, the phase it is in and since when.

A phase is timed when the release leaves it, so the histogram holds the
in-flight phases (Pending to PostVerifying) that ended; the time a release
stays live, superseded or finished is not a phase of the procedure and is
not timed. A controller that died during a phase counts its downtime in
that phase, as the timeline does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import HistogramMetricFamily

from controller.phases import Phase
from controller.store.tallies import TimelineLine

# From a quick Pending to a person who promotes after lunch.
PHASE_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
PHASE_METRIC = "bgctl_release_phase_duration_seconds"


@dataclass
class Buckets:
    """One histogram's cumulative-to-be counts: one per bound, then +Inf."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(PHASE_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        """Count one duration in the first bucket that holds it."""
        index = next(
            (i for i, bound in enumerate(PHASE_BUCKETS) if seconds <= bound),
            len(PHASE_BUCKETS),
        )
        self.counts[index] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """The counts as Prometheus buckets: each holds every smaller one."""
        bounds = [*(repr(bound) for bound in PHASE_BUCKETS), "+Inf"]
        running, found = 0, []
        for bound, count in zip(bounds, self.counts, strict=True):
            running += count
            found.append((bound, float(running)))
        return found


@dataclass(frozen=True)
class _Entered:
    phase: Phase
    at: float


class PhaseClock:
    """Phase durations by service and phase, kept up to date from timelines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # two scrapes may read at once
        self._last_line = 0
        self._entered: dict[str, _Entered] = {}  # release id -> current phase
        self._histograms: dict[tuple[str, Phase], Buckets] = {}

    @property
    def last_line(self) -> int:
        """The id of the last timeline line read."""
        return self._last_line

    def advance(self, lines: Iterable[TimelineLine]) -> None:
        """Read timeline lines newer than the last read, oldest first."""
        with self._lock:
            for line in lines:
                if line.id > self._last_line:
                    self._read(line)
                    self._last_line = line.id

    def _read(self, line: TimelineLine) -> None:
        entered = self._entered.get(line.release_id)
        if entered is not None and entered.phase is line.phase:
            return  # a note: the release stays where it was
        if entered is not None:
            key = (line.service, entered.phase)
            buckets = self._histograms.setdefault(key, Buckets())
            buckets.observe(max(0.0, line.at - entered.at))
        if line.phase.is_in_flight:
            self._entered[line.release_id] = _Entered(line.phase, line.at)
        else:
            self._entered.pop(line.release_id, None)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """The histogram family of every phase timed so far."""
        family = HistogramMetricFamily(
            PHASE_METRIC,
            "Time releases spent in each phase of the release procedure, "
            "counted when they left it, from the stored timelines.",
            labels=["service", "phase"],
        )
        with self._lock:
            for (service, phase), buckets in sorted(self._histograms.items()):
                family.add_metric(
                    [service, phase.value], buckets.cumulative(), buckets.total
                )
        yield family
