"""Figures from samples: counts, latency percentiles and buckets over time.

Latency figures take every request, failed or not, as the load generator
timed it. Percentiles are nearest-rank, so each is a value that was measured.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from loadtests.bench.samples import Sample

Number = float | int | None


@dataclass(frozen=True)
class LoadFigures:
    """Requests, failures and latency in milliseconds of one set of samples."""

    requests: int
    failures: int
    p50: float | None  # None when there was no request
    p99: float | None
    max: float | None

    @property
    def failure_share(self) -> float:
        """Failures as a share of requests, from 0 to 1; 0.0 with no request."""
        return self.failures / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Number]:
        """The figures and the failure share as plain values for JSON."""
        return {**asdict(self), "failure_share": self.failure_share}


@dataclass(frozen=True)
class Spread:
    """Count, median, 99th percentile and maximum of a set of numbers."""

    count: int
    p50: float | None  # None when there was no number
    p99: float | None
    max: float | None

    def as_dict(self) -> dict[str, Number]:
        """The figures as plain values for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Bucket:
    """One slice of time of one target's requests."""

    start: float  # unix time the slice starts
    rate: float  # requests that started in it, per second
    failures: int
    p50: float | None  # ms; None for an empty slice
    p99: float | None


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``values``, ``q`` from 0 to 100."""
    if not values:
        raise ValueError("a percentile needs at least one value, got none")
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile must be from 0 to 100, got {q!r}")
    return _ranked(sorted(values), q)


def summary(values: Sequence[float]) -> Spread:
    """Count, p50, p99 and maximum of ``values``; None figures when empty."""
    if not values:
        return Spread(count=0, p50=None, p99=None, max=None)
    ordered = sorted(values)
    p50, p99 = _ranked(ordered, 50), _ranked(ordered, 99)
    return Spread(count=len(ordered), p50=p50, p99=p99, max=ordered[-1])


def load_figures(samples: Iterable[Sample], target: str | None = None) -> LoadFigures:
    """Figures of ``target``'s requests, or of every request when it is None."""
    return _figures([s for s in samples if target is None or s.target == target])


def around(
    samples: Iterable[Sample],
    target: str,
    moments: Sequence[float],
    half_width: float = 0.5,
) -> LoadFigures:
    """Figures of ``target``'s requests that started near any of ``moments``.

    Near means within ``half_width`` seconds either side; a request near two
    moments counts once.
    """
    if half_width < 0:
        raise ValueError(f"half_width must be 0 or more, got {half_width!r}")
    marks = sorted(moments)
    near = [s for s in _of(samples, target) if _is_near(s.t, marks, half_width)]
    return _figures(near)


def series(samples: Iterable[Sample], target: str, bucket: float = 1.0) -> list[Bucket]:
    """``target``'s requests in slices of ``bucket`` seconds, empty ones included.

    The slices run from the target's first request to its last.
    """
    if bucket <= 0:
        raise ValueError(f"bucket must be more than 0 seconds, got {bucket!r}")
    chosen = _of(samples, target)
    if not chosen:
        return []
    first = chosen[0].t
    count = _slot(chosen[-1].t - first, bucket) + 1
    slots: list[list[Sample]] = [[] for _ in range(count)]
    for sample in chosen:
        slots[_slot(sample.t - first, bucket)].append(sample)
    return [_bucket(first + i * bucket, slot, bucket) for i, slot in enumerate(slots)]


def throughput(samples: Iterable[Sample], target: str) -> float:
    """Successful requests of ``target`` per second, first start to last start.

    0.0 when there are fewer than two requests or they all started at once.
    """
    chosen = _of(samples, target)
    span = chosen[-1].t - chosen[0].t if len(chosen) > 1 else 0.0
    return sum(s.ok for s in chosen) / span if span > 0 else 0.0


def _ranked(ordered: Sequence[float], q: float) -> float:
    # Rounding first keeps 99 % of 100 values at rank 99, not 100.
    rank = math.ceil(round(q * len(ordered) / 100, 9))
    return ordered[max(rank, 1) - 1]


def _figures(chosen: Sequence[Sample]) -> LoadFigures:
    spread = summary([s.ms for s in chosen])
    failures = sum(not s.ok for s in chosen)
    return LoadFigures(len(chosen), failures, spread.p50, spread.p99, spread.max)


def _of(samples: Iterable[Sample], target: str) -> list[Sample]:
    return sorted((s for s in samples if s.target == target), key=lambda s: s.t)


def _is_near(t: float, marks: Sequence[float], half_width: float) -> bool:
    after = bisect_left(marks, t)
    neighbours = marks[max(after - 1, 0) : after + 1]
    return any(abs(t - mark) <= half_width for mark in neighbours)


def _slot(offset: float, bucket: float) -> int:
    return int(offset // bucket)


def _bucket(start: float, slot: Sequence[Sample], width: float) -> Bucket:
    spread = summary([s.ms for s in slot])
    failures = sum(not s.ok for s in slot)
    return Bucket(start, len(slot) / width, failures, spread.p50, spread.p99)
