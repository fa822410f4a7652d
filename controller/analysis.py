"""Analysis windows: probe a frontend for a while and judge what came back.

A window of probes becomes an error share and a p95 latency; ``judge``
compares them with a gate's limits, absolute and relative to live. No data
is never a pass: too few answered probes make the verdict inconclusive.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from controller.spec import Gate


class Verdict(enum.StrEnum):
    """What a window says about the version it probed."""

    PASSED = "passed"  # every limit kept, with enough data
    FAILED = "failed"  # a limit broken
    INCONCLUSIVE = "inconclusive"  # too little data to tell


@dataclass
class Window:
    """Probes of one frontend: how many, how many failed, how long each took."""

    url: str
    latencies: list[float] = field(default_factory=list)  # answered probes
    errors: int = 0  # 4xx and 5xx answers, and requests that got no answer
    last_error: str | None = None

    @property
    def count(self) -> int:
        """Every probe sent."""
        return len(self.latencies) + self.errors

    @property
    def error_rate(self) -> float:
        """Share of probes that failed; 1.0 when nothing was sent."""
        return self.errors / self.count if self.count else 1.0

    @property
    def p95(self) -> float | None:
        """95th percentile latency of answered probes, in seconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]

    def describe(self) -> str:
        """A short sentence for timelines."""
        p95 = f"{self.p95 * 1000:.0f} ms" if self.p95 is not None else "n/a"
        text = (
            f"{self.count} probes of {self.url}: error rate "
            f"{self.error_rate:.1%}, p95 {p95}"
        )
        return text + (f"; last error: {self.last_error}" if self.last_error else "")


@dataclass(frozen=True)
class Judgement:
    """A verdict and the sentence that explains it."""

    verdict: Verdict
    reason: str


async def probe_once(client: httpx.AsyncClient, window: Window, timeout: float) -> None:
    """Send one probe and add what came back to the window."""
    started = time.monotonic()
    try:
        response = await client.get(window.url, timeout=timeout)
    except httpx.HTTPError as exc:
        window.errors += 1
        window.last_error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return
    if response.status_code >= 400:
        window.errors += 1
        window.last_error = f"HTTP {response.status_code}"
        return
    window.latencies.append(time.monotonic() - started)


async def observe(
    client: httpx.AsyncClient,
    urls: list[str],
    gate: Gate,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[Window]:
    """Probe every URL once per interval for the gate's duration."""
    windows = [Window(url) for url in urls]
    deadline = time.monotonic() + gate.duration
    timeout = max(gate.max_p95 * 2, 1.0)
    while time.monotonic() < deadline and not should_stop():
        tick = time.monotonic()
        await asyncio.gather(*(probe_once(client, w, timeout) for w in windows))
        await asyncio.sleep(max(0.0, gate.interval - (time.monotonic() - tick)))
    return windows


def judge(gate: Gate, window: Window, baseline: Window | None = None) -> Judgement:
    """Hold a window to the gate's limits, and to the baseline's if given."""
    answered = len(window.latencies)
    if answered < gate.min_samples:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"only {answered} answered probes, {gate.min_samples} needed: "
            + window.describe(),
        )
    if window.error_rate > gate.max_error_rate:
        return Judgement(
            Verdict.FAILED,
            f"error rate {window.error_rate:.1%} above "
            f"max_error_rate {gate.max_error_rate:.1%}: {window.describe()}",
        )
    p95 = window.p95
    assert p95 is not None  # answered > 0 above
    if p95 > gate.max_p95:
        return Judgement(
            Verdict.FAILED,
            f"p95 {p95 * 1000:.0f} ms above max_p95 "
            f"{gate.max_p95 * 1000:.0f} ms: {window.describe()}",
        )
    relative = _relative(gate, p95, baseline) or _worse_errors(gate, window, baseline)
    if relative is not None:
        return relative
    return Judgement(Verdict.PASSED, window.describe())


def _worse_errors(
    gate: Gate, window: Window, baseline: Window | None
) -> Judgement | None:
    """Preview's error rate against live's, when live answered anything."""
    if gate.max_error_rate_increase is None or baseline is None or not baseline.count:
        return None
    increase = window.error_rate - baseline.error_rate
    if increase <= gate.max_error_rate_increase:
        return None
    return Judgement(
        Verdict.FAILED,
        f"error rate {window.error_rate:.1%} is {increase:.1%} above live's "
        f"{baseline.error_rate:.1%}, more than max_error_rate_increase "
        f"{gate.max_error_rate_increase:.1%}",
    )


def _relative(gate: Gate, p95: float, baseline: Window | None) -> Judgement | None:
    if gate.max_p95_ratio is None or baseline is None or baseline.p95 is None:
        return None
    limit = baseline.p95 * gate.max_p95_ratio
    if p95 <= limit:
        return None
    return Judgement(
        Verdict.FAILED,
        f"p95 {p95 * 1000:.0f} ms above {gate.max_p95_ratio:g} x live's "
        f"{baseline.p95 * 1000:.0f} ms",
    )
