"""Hypothesis probes: requests through the service's frontends, replica counts.

A probe answers whether one part of the steady state holds, with the
figures that decided it. No data is never a pass: a traffic probe that got
fewer answers than it needs fails, and so does one that could not run.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.experiment import HttpProbe, Probe, ReplicasProbe, TrafficProbe
from chaos.ports import Engine, Routes
from proxy.routes import Color

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    """Whether a probe held, what it saw, and why it did not hold."""

    ok: bool
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Sample:
    """One request of a probe: its status (None without an answer) and time."""

    status: int | None
    seconds: float
    error: str | None = None


class Prober:
    """Runs probes of one service against its frontends and its replicas."""

    def __init__(self, routes: Routes, engine: Engine, client: httpx.AsyncClient):
        self._routes = routes
        self._engine = engine
        self._client = client

    async def check(
        self, probe: Probe, service: str, live: Color | None
    ) -> ProbeResult:
        """Run one probe; an error while running it is a failed probe."""
        try:
            if isinstance(probe, HttpProbe):
                return await self._http(probe, service)
            if isinstance(probe, TrafficProbe):
                return await self._traffic(probe, service)
            return await self._replicas(probe, service, live)
        except (ValueError, OSError, httpx.HTTPError) as exc:
            log.warning("probe %s of %s could not run: %s", probe.name, service, exc)
            return ProbeResult(False, error=f"probe could not run: {exc}")

    async def _http(self, probe: HttpProbe, service: str) -> ProbeResult:
        url = self._routes.url(service, probe.endpoint) + probe.path
        samples = [await self._send(url, probe.timeout) for _ in range(probe.requests)]
        passed = sum(s.status in probe.expect_status for s in samples)
        share = passed / len(samples)
        output = {"url": url, "requests": len(samples), "passed": passed}
        output.update(summary(samples))
        if share >= probe.min_success:
            return ProbeResult(True, output)
        return ProbeResult(
            False,
            output,
            f"{passed} of {len(samples)} requests to {url} answered "
            f"{probe.expect_status}; needed a share of {probe.min_success}"
            + first_error(samples),
        )

    async def _traffic(self, probe: TrafficProbe, service: str) -> ProbeResult:
        url = self._routes.url(service, probe.endpoint) + probe.path
        samples = await self._paced(url, probe)
        output = {"url": url, "requests": len(samples), **summary(samples)}
        problems = traffic_problems(probe, samples)
        if not problems:
            return ProbeResult(True, output)
        return ProbeResult(False, output, "; ".join(problems) + first_error(samples))

    async def _replicas(
        self, probe: ReplicasProbe, service: str, live: Color | None
    ) -> ProbeResult:
        color = probe.color.resolve(live)
        replicas = await self._engine.replicas(service, color)
        running = [r.container_id[:12] for r in replicas if r.state == "running"]
        output = {"color": color.value, "running": len(running), "ids": running}
        if len(running) >= probe.min_running:
            return ProbeResult(True, output)
        return ProbeResult(
            False,
            output,
            f"{color.value} has {len(running)} running replicas, "
            f"needed at least {probe.min_running}",
        )

    async def _paced(self, url: str, probe: TrafficProbe) -> list[Sample]:
        """Requests at ``rate`` a second for ``window``, each in its own task."""
        count = max(1, math.floor(probe.rate * probe.window))
        gap = 1.0 / probe.rate
        started = time.monotonic()
        tasks: list[asyncio.Task[Sample]] = []
        try:
            for number in range(count):
                delay = started + number * gap - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._send(url, probe.timeout)))
            return list(await asyncio.gather(*tasks))
        finally:
            # An aborted run stops its probes' traffic at once.
            for task in tasks:
                task.cancel()

    async def _send(self, url: str, timeout: float) -> Sample:
        began = time.perf_counter()
        try:
            response = await self._client.get(url, timeout=timeout)
        except httpx.HTTPError as exc:
            spent = time.perf_counter() - began
            return Sample(None, spent, f"{type(exc).__name__}: {exc}".strip(": "))
        return Sample(response.status_code, time.perf_counter() - began)


def summary(samples: list[Sample]) -> dict[str, Any]:
    """Statuses, error share and latency percentiles of answered requests."""
    statuses = Counter(str(s.status) if s.status else "no answer" for s in samples)
    errors = sum(1 for s in samples if s.status is None or s.status >= 500)
    times = sorted(s.seconds for s in samples if s.status is not None)
    result: dict[str, Any] = {
        "statuses": dict(statuses),
        "error_share": round(errors / len(samples), 4) if samples else None,
    }
    for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        result[name] = round(percentile(times, share), 4) if times else None
    return result


def traffic_problems(probe: TrafficProbe, samples: list[Sample]) -> list[str]:
    """Every tolerance a traffic probe's samples break, as sentences."""
    figures = summary(samples)
    answered = sum(1 for s in samples if s.status is not None)
    problems = []
    if answered < probe.min_requests:
        problems.append(
            f"only {answered} requests answered, needed {probe.min_requests}"
        )
    if figures["error_share"] is not None and (
        figures["error_share"] > probe.max_error_share
    ):
        problems.append(
            f"error share {figures['error_share']} above {probe.max_error_share}"
        )
    for name in ("p50", "p95", "p99"):
        limit = getattr(probe, f"max_{name}")
        if limit is not None and figures[name] is not None and figures[name] > limit:
            problems.append(f"{name} {figures[name]}s above {limit}s")
    return problems


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of an ordered, non-empty list."""
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def first_error(samples: list[Sample]) -> str:
    """The first transport error seen, as a clause to append, or nothing."""
    for sample in samples:
        if sample.error:
            return f" (first error: {sample.error})"
    return ""
