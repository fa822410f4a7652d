"""The Locust gate of a release: preview and live under the same load at once.

``run_load_gate`` loads both frontends in one Locust run in a child process,
keeping their figures apart, and ``judge_load`` holds preview's figures to
the gate's limits: absolute ones always, relative ones against live when a
colour is live. Too few requests on preview fail the gate; no data never
passes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from controller.analysis import Verdict
from controller.errors import InvalidInput
from controller.loadtest import LoadPlan, LoadTestStopped, run_locust
from controller.loadtest_results import LoadTestError, TargetStats
from controller.spec import LoadGate
from controller.steps import StepAborted, StepFailed, Steps
from controller.store import ReleaseRecord

log = logging.getLogger(__name__)

POLL = 0.1  # seconds between looks at an abort request
# Locust keeps response times in whole milliseconds; a live p95 of "0 ms"
# is taken as one, so that a ratio to it means something.
RESOLUTION = 0.001
RESULTS_FOLDER = "loadtests"  # under the state directory, one folder a release


@dataclass(frozen=True)
class LoadJudgement:
    """Whether preview kept the gate's limits, and one line that says so."""

    passed: bool
    summary: str  # the figures of both targets and the verdict


def judge_load(
    gate: LoadGate, preview: TargetStats, live: TargetStats | None
) -> LoadJudgement:
    """Hold preview to the gate's limits, and to live's figures when given."""
    figures = describe_figures(preview, live)
    breach = _absolute_breach(gate, preview) or _relative_breach(gate, preview, live)
    if breach is not None:
        return LoadJudgement(False, f"{figures}: failed, {breach}")
    return LoadJudgement(True, f"{figures}: passed")


def describe_figures(preview: TargetStats, live: TargetStats | None) -> str:
    """Both targets' requests, failure shares and p95s in one line."""
    text = (
        f"load gate: preview {preview.requests} requests, "
        f"{preview.failure_share:.1%} failed, p95 {_ms(preview.p95)}"
    )
    if live is None:
        return f"{text}; no live colour yet, so absolute limits only"
    text += f"; live {live.requests}, {live.failure_share:.1%}, p95 {_ms(live.p95)}"
    if not live.requests:
        text += ", so absolute limits only"
    return text


def _absolute_breach(gate: LoadGate, preview: TargetStats) -> str | None:
    """The first absolute limit preview broke, if any."""
    if preview.requests < gate.min_requests:
        return (
            f"only {preview.requests} requests measured on preview, "
            f"min_requests is {gate.min_requests}"
        )
    if preview.failure_share > gate.max_failure_share:
        return (
            f"failure share {preview.failure_share:.1%} above max_failure_share "
            f"{gate.max_failure_share:.1%}"
        )
    if preview.p95 is not None and preview.p95 > gate.max_p95:
        return f"p95 {_ms(preview.p95)} above max_p95 {_ms(gate.max_p95)}"
    return None


def _relative_breach(
    gate: LoadGate, preview: TargetStats, live: TargetStats | None
) -> str | None:
    """The first limit relative to live that preview broke, if any."""
    if live is None or not live.requests:
        return None
    increase = preview.failure_share - live.failure_share
    allowed = gate.max_failure_share_increase
    if allowed is not None and increase > allowed:
        return (
            f"failure share {preview.failure_share:.1%} is {increase:.1%} above "
            f"live's {live.failure_share:.1%}, more than "
            f"max_failure_share_increase {allowed:.1%}"
        )
    ratio = gate.max_p95_ratio
    if ratio is None or preview.p95 is None or live.p95 is None:
        return None
    if preview.p95 > max(live.p95, RESOLUTION) * ratio:
        return f"p95 {_ms(preview.p95)} above {ratio:g} x live's {_ms(live.p95)}"
    return None


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


async def run_load_gate(
    steps: Steps,
    release: ReleaseRecord,
    gate: LoadGate,
    should_abort: Callable[[], bool],
) -> str:
    """Load preview and live alike and judge preview; the timeline's line.

    A breach raises StepFailed with the summary, an abort StepAborted once
    Locust is dead.
    """
    # 1. Aim at preview, and at live when the service has a live colour.
    targets = {"preview": steps.endpoint_url(release.service, "preview", "")}
    record = steps.store.service(release.service)
    if record is not None and record.live_color is not None:
        targets["live"] = steps.endpoint_url(release.service, "live", "")

    # 2. Load them together, in a child process that an abort kills.
    out_dir = steps.state_dir / RESULTS_FOLDER / release.id
    fields = {"service": release.service, "release": release.id}
    log.info("load gate started: %s", ", ".join(targets), extra=fields)
    try:
        plan = LoadPlan(gate.users, gate.rate, gate.duration, gate.path)
        stats = await load(targets, plan, out_dir, should_abort)
    except LoadTestStopped as exc:
        log.info("load gate stopped by an abort", extra=fields)
        raise StepAborted from exc
    except (LoadTestError, InvalidInput) as exc:
        log.info("load gate failed to run: %s", exc, extra=fields)
        raise StepFailed(f"load gate could not run: {exc}") from exc

    # 3. Judge preview on its own and against live.
    judgement = judge_load(gate, stats["preview"], stats.get("live"))
    verdict = Verdict.PASSED if judgement.passed else Verdict.FAILED
    steps.recorder.judged(release.service, "load_gate", verdict)
    log.info("load gate finished: %s", judgement.summary, extra=fields)
    if not judgement.passed:
        raise StepFailed(judgement.summary)
    return judgement.summary


async def load(
    targets: Mapping[str, str],
    plan: LoadPlan,
    out_dir: Path,
    should_stop: Callable[[], bool],
) -> dict[str, TargetStats]:
    """Run Locust in a worker thread; ask it to stop on an abort or a cancel.

    The thread kills Locust within a fraction of a second of being asked,
    so neither an abort nor a cancelled release leaves load running.
    """
    stop = threading.Event()
    work = asyncio.ensure_future(
        asyncio.to_thread(run_locust, targets, plan, out_dir, None, stop.is_set)
    )
    try:
        while not work.done():
            if should_stop():
                stop.set()
            await asyncio.wait({work}, timeout=POLL)
        return work.result()
    finally:
        stop.set()
        # A cancelled caller never reads the stopped run's error; nor need we.
        work.add_done_callback(_forget)


def _forget(work: asyncio.Future[dict[str, TargetStats]]) -> None:
    if not work.cancelled():
        work.exception()
