"""What Locust measured, read from the JSON results of one headless run.

Requests are named ``<target> <path>`` by the users in ``loadtests/``, so
one run's figures split by target; percentiles come from Locust's own
response-time histograms, ranked as Locust ranks them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import OperationFailed


class LoadTestError(OperationFailed):
    """Locust could not run, or ended without writing its results."""

    code = "load_test_failed"


@dataclass(frozen=True)
class TargetStats:
    """What Locust measured on one target; response times in seconds."""

    target: str
    requests: int
    failures: int
    p50: float | None  # None when no request got an answer
    p95: float | None
    p99: float | None

    @property
    def failure_share(self) -> float:
        """Failed requests over all requests; 0 when there were none."""
        return self.failures / self.requests if self.requests else 0.0


def read_results(path: Path, targets: Mapping[str, str]) -> dict[str, TargetStats]:
    """Per-target stats from Locust's JSON results at ``path``.

    Requests are named ``<target> <path>``; every entry of a target adds to
    its counts, and its percentiles come from their merged histograms.
    """
    try:
        entries: list[dict[str, Any]] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LoadTestError(
            f"cannot read Locust's results {str(path)!r}: {exc}"
        ) from exc
    return {target: _target_stats(target, entries) for target in targets}


def _target_stats(target: str, entries: list[dict[str, Any]]) -> TargetStats:
    mine = [e for e in entries if str(e.get("name", "")).split(" ")[0] == target]
    histogram: dict[int, int] = {}
    for entry in mine:
        for millis, count in entry.get("response_times", {}).items():
            key = int(float(millis))
            histogram[key] = histogram.get(key, 0) + int(count)
    return TargetStats(
        target=target,
        requests=sum(int(e.get("num_requests", 0)) for e in mine),
        failures=sum(int(e.get("num_failures", 0)) for e in mine),
        p50=percentile(histogram, 0.50),
        p95=percentile(histogram, 0.95),
        p99=percentile(histogram, 0.99),
    )


def percentile(histogram: Mapping[int, int], share: float) -> float | None:
    """The response time in seconds below which ``share`` of answers came.

    ``histogram`` maps milliseconds to counts, as Locust records them; the
    rank is Locust's own (the answer at position floor(n * share), from 0),
    so the figures match its CSV and HTML reports.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = min(int(total * share), total - 1)
    seen = 0
    for millis in sorted(histogram):
        seen += histogram[millis]
        if seen > rank:
            return millis / 1000
    return max(histogram) / 1000
