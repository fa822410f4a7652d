"""Figures from samples: percentiles, windows around flips, buckets, rates."""

from __future__ import annotations

import pytest

from loadtests.bench.figures import (
    Bucket,
    LoadFigures,
    Spread,
    around,
    load_figures,
    percentile,
    series,
    summary,
    throughput,
)
from loadtests.bench.samples import Sample

T0 = 1_800_000_000.0


def sample(
    at: float, ms: float = 1.0, ok: bool = True, target: str = "haproxy"
) -> Sample:
    return Sample(t=T0 + at, target=target, ms=ms, ok=ok)


def test_a_percentile_is_the_nearest_ranked_value() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


@pytest.mark.parametrize(
    ("values", "q", "words"),
    [
        ([], 50, "at least one value"),
        ([1.0], -1, "from 0 to 100, got -1"),
        ([1.0], 100.5, "from 0 to 100, got 100.5"),
    ],
)
def test_a_percentile_of_nothing_or_out_of_range_is_refused(
    values: list[float], q: float, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        percentile(values, q)


def test_a_summary_of_no_numbers_has_none_figures() -> None:
    assert summary([]) == Spread(count=0, p50=None, p99=None, max=None)
    assert summary([0.2, 0.1, 0.4]).as_dict() == {
        "count": 3,
        "p50": 0.2,
        "p99": 0.4,
        "max": 0.4,
    }


def test_load_figures_count_one_target_or_all() -> None:
    samples = [
        sample(0, 10.0),
        sample(1, 20.0, ok=False),
        sample(2, 30.0, target="nginx"),
    ]
    assert load_figures(samples, "haproxy") == LoadFigures(2, 1, 10.0, 20.0, 20.0)
    assert load_figures(samples).requests == 3
    assert load_figures(samples, "haproxy").failure_share == 0.5


def test_no_requests_give_no_latency_and_no_failure_share() -> None:
    figures = load_figures([], "haproxy")
    assert figures.as_dict() == {
        "requests": 0,
        "failures": 0,
        "p50": None,
        "p99": None,
        "max": None,
        "failure_share": 0.0,
    }


def test_around_counts_requests_near_a_moment_once() -> None:
    samples = [sample(at) for at in (0.0, 0.9, 1.0, 1.5, 2.0, 2.6, 5.0)]
    samples.append(sample(1.0, target="nginx"))
    # Windows [0.5, 1.5] and [1.2, 2.2] overlap: 1.5 counts once.
    figures = around(samples, "haproxy", [T0 + 1.7, T0 + 1.0])
    assert figures.requests == 4


def test_around_with_no_moments_counts_nothing() -> None:
    assert around([sample(0)], "haproxy", []).requests == 0


def test_series_includes_empty_buckets_between_the_first_and_last_request() -> None:
    samples = [sample(0.1, 5.0), sample(0.4, 7.0, ok=False), sample(2.2, 9.0)]
    buckets = series(samples, "haproxy", bucket=1.0)
    assert buckets == [
        Bucket(start=T0 + 0.1, rate=2.0, failures=1, p50=5.0, p99=7.0),
        Bucket(start=T0 + 1.1, rate=0.0, failures=0, p50=None, p99=None),
        Bucket(start=T0 + 2.1, rate=1.0, failures=0, p50=9.0, p99=9.0),
    ]


def test_series_rate_is_per_second_whatever_the_bucket() -> None:
    samples = [sample(n * 0.1) for n in range(10)]
    buckets = series(samples, "haproxy", bucket=0.5)
    assert [bucket.rate for bucket in buckets] == [10.0, 10.0]


def test_series_of_an_absent_target_is_empty() -> None:
    assert series([sample(0)], "nginx") == []
    with pytest.raises(ValueError, match="more than 0 seconds, got 0"):
        series([sample(0)], "haproxy", bucket=0)


def test_throughput_counts_successes_over_the_span_of_starts() -> None:
    samples = [sample(0), sample(1, ok=False), sample(2), sample(4)]
    assert throughput(samples, "haproxy") == 0.75
    assert throughput([sample(0)], "haproxy") == 0.0
    assert throughput([sample(0), sample(0)], "haproxy") == 0.0
