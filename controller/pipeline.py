"""The procedure one release follows, step by step.

Deploy and verify on the idle colour, wait for promotion, flip, watch live,
and end: each phase change is stored before the next step acts. Steps raise
StepFailed or StepAborted; ``guard`` turns those into the release's end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from controller.analysis import Verdict, judge, observe
from controller.hooks import Ending, hook_text
from controller.load_gate import run_load_gate
from controller.phases import SYSTEM, Phase
from controller.runtime.base import Replica
from controller.steps import StepAborted, StepFailed, Steps
from controller.store import ReleaseRecord, SlotRecord
from controller.watch import LiveWatch, is_watched
from proxy.routes import Color

log = logging.getLogger(__name__)


class Pipeline:
    """Moves releases through their phases; one instance serves every release."""

    def __init__(self, steps: Steps, should_abort: Callable[[str], bool]) -> None:
        self.steps = steps
        self.store = steps.store
        self._should_abort = should_abort
        self._watch = LiveWatch(steps, should_abort)
        # What a staged release displaced from its colour, kept warm until
        # the release is verified, so a failed release gives it back.
        self._displaced: dict[str, SlotRecord] = {}

    # Entry points --------------------------------------------------------

    async def guard(
        self, release: ReleaseRecord, work: Coroutine[Any, Any, None]
    ) -> None:
        """Run a release's steps and end it properly whatever they raise."""
        try:
            await work
        except _Ended:
            pass
        except StepAborted:
            await self.end(release.id, Phase.ABORTED, SYSTEM, "aborted by request")
        except StepFailed as exc:
            log.warning("release %s failed: %s", release.id, exc)
            await self.end(release.id, Phase.FAILED, SYSTEM, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("release %s failed unexpectedly", release.id)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            await self.end(release.id, Phase.FAILED, SYSTEM, reason)

    async def run(self, release: ReleaseRecord) -> None:
        """Deploy and verify, then wait for promotion or promote."""
        spec = release.spec
        try:
            async with asyncio.timeout(spec.progress_deadline):
                await self._deploy_and_verify(release)
        except TimeoutError as exc:
            phase = self._reload(release.id).phase
            raise StepFailed(
                f"progress_deadline {spec.progress_deadline:g}s passed during {phase}"
            ) from exc
        except _Inconclusive as exc:
            reason = f"{exc}; promote by hand or abort"
            self._move(release, Phase.AWAITING_PROMOTION, reason)
            return
        await self._await_promotion(release)

    async def promote(self, release: ReleaseRecord, actor: str) -> None:
        """Flip live to the release's colour, watch it, and make it live."""
        previous = self.store.service(release.service)
        was_live = previous.live_color if previous else None

        # 1. Flip, and confirm live answers from the new colour.
        self._move(release, Phase.PROMOTING, f"flipping live to {release.color}", actor)
        await self._retire_displaced(release)  # when verified by a person
        try:
            result = await self.steps.flip(release.service, release.color)
        except Exception:
            await self.steps.router.apply()
            raise
        self.store.set_live(release.service, release.color)
        self.store.note(
            release.id, actor, f"live answers from {release.color}: {result.describe()}"
        )

        # 2. Watch live: the post-verification window, then the live hook.
        if is_watched(release):
            await self.watch(release, was_live)

        # 3. Live; the previous colour stays warm for the standby window.
        self.go_live(release, actor)

    async def watch(self, release: ReleaseRecord, was_live: Color | None) -> None:
        """Watch live after the flip; a breach, a failed hook or an abort flips back."""
        gate = release.spec.post_verify
        reason = "running the verification hook on live"
        if gate.is_enabled:
            reason = f"watching live for {gate.duration:g}s"
        if self._reload(release.id).phase is Phase.POST_VERIFYING:
            self.store.note(release.id, SYSTEM, reason)  # watched again
        else:
            self._move(release, Phase.POST_VERIFYING, reason)
        if not await self._watch.run(release, was_live):
            raise _Ended

    def go_live(self, release: ReleaseRecord, actor: str) -> None:
        """Mark the release live and start the previous colour's standby window."""
        other = self.store.slot(release.service, release.color.other)
        self._move(release, Phase.LIVE, f"live on {release.color}", actor)
        previous = self.store.release(other.release_id) if other.release_id else None
        if previous is not None and previous.phase is Phase.LIVE:
            self.store.transition(
                previous.id, Phase.SUPERSEDED, actor, f"release {release.id} is live"
            )
        if other.release_id is not None:
            until = time.time() + release.spec.standby_ttl
            self.store.set_standby(release.service, release.color.other, until)

    async def end(self, release_id: str, phase: Phase, actor: str, reason: str) -> None:
        """Fail or abort a release before it went live; its replicas go."""
        release = self._reload(release_id)
        if release.phase.is_terminal or release.phase in (Phase.LIVE,):
            return
        slot = self.store.slot(release.service, release.color)
        displaced = self._displaced.pop(release.id, None)
        if slot.release_id == release.id:
            self._give_back(release, displaced)
        await self.steps.router.apply()
        await self.steps.remove_release_containers(
            release.service, release.color, release.id
        )
        self.store.transition(release.id, phase, actor, reason)

    def _give_back(self, release: ReleaseRecord, displaced: SlotRecord | None) -> None:
        """Return the colour to the standby it held before this release."""
        if displaced is None or displaced.release_id is None:
            self.store.set_slot(release.service, release.color, None)
            return
        self.store.set_slot(
            release.service, release.color, displaced.release_id, displaced.replicas
        )
        self.store.set_standby(release.service, release.color, displaced.standby_until)
        self.store.note(
            displaced.release_id,
            SYSTEM,
            f"warm again on {release.color} after release {release.id} did not go live",
        )

    # Steps -----------------------------------------------------------------

    async def _deploy_and_verify(self, release: ReleaseRecord) -> None:
        spec = release.spec
        deadline = time.monotonic() + spec.deploy_timeout

        # 1. Start the idle colour's replicas and wait for readiness.
        self._move(release, Phase.DEPLOYING, f"starting {spec.replicas} replicas")
        replicas = await self.steps.start_replicas(release)
        self._check_abort(release)
        await self.steps.wait_ready(
            release, replicas, deadline, lambda: self._should_abort(release.id)
        )

        # 2. Confirm that every replica runs the image the release pinned.
        self._move(release, Phase.VERIFYING, "every replica passed readiness")
        verified = await self.steps.verify_images(release, replicas)
        self.store.note(release.id, SYSTEM, verified)

        # 3. Point preview at them, retire what the colour held, smoke-check.
        await self._stage(release, replicas)
        for line in await self.steps.smoke(release):
            self.store.note(release.id, SYSTEM, line)
        self._check_abort(release)

        # 4. Compare preview with live over the analysis window.
        undecided = await self._analyse(release) if spec.analysis.is_enabled else None

        # 5. Load preview and live alike with Locust, when the spec asks.
        if spec.load_gate is not None:
            text = await run_load_gate(
                self.steps,
                release,
                spec.load_gate,
                lambda: self._should_abort(release.id),
            )
            self.store.note(release.id, SYSTEM, text)

        # 6. Run the verification hook on preview; an undecided analysis waits.
        await self._preview_hook(release)
        if undecided is not None:
            raise _Inconclusive(undecided)

        # 7. Verified: what the colour held before can go now.
        await self._retire_displaced(release)

    async def _analyse(self, release: ReleaseRecord) -> str | None:
        """Judge preview against live; the reason when too little data came."""
        gate = release.spec.analysis
        preview = self.steps.endpoint_url(release.service, "preview", gate.path)
        urls = [preview]
        service = self.store.service(release.service)
        if service is not None and service.live_color is not None:
            urls.append(self.steps.endpoint_url(release.service, "live", gate.path))
        windows = await observe(
            self.steps.client, urls, gate, lambda: self._should_abort(release.id)
        )
        self._check_abort(release)
        baseline = windows[1] if len(windows) > 1 else None
        judgement = judge(gate, windows[0], baseline)
        self.steps.recorder.judged(release.service, "analysis", judgement.verdict)
        text = f"analysis {judgement.verdict}: {judgement.reason}"
        if baseline is not None:
            text += f" (live: {baseline.describe()})"
        if judgement.verdict is Verdict.FAILED:
            raise StepFailed(text)
        self.store.note(release.id, SYSTEM, text)
        return text if judgement.verdict is Verdict.INCONCLUSIVE else None

    async def _preview_hook(self, release: ReleaseRecord) -> None:
        """Run the verification hook on preview; anything but exit 0 fails."""
        result = await self.steps.run_verify_hook(
            release, "preview", lambda: self._should_abort(release.id)
        )
        if result is None:
            return
        self.store.note(release.id, SYSTEM, hook_text("preview", result))
        if result.ending is Ending.STOPPED:
            raise StepAborted
        if not result.passed:
            raise StepFailed(f"verification hook on preview failed: {result.summary()}")

    async def _await_promotion(self, release: ReleaseRecord) -> None:
        spec = release.spec
        if spec.auto_promote and spec.auto_promote_after is None:
            await self.promote(release, SYSTEM)
            return
        if spec.auto_promote_after is None:
            self._move(release, Phase.AWAITING_PROMOTION, "verified; promote or abort")
            return
        self._move(
            release,
            Phase.AWAITING_PROMOTION,
            f"verified; promotes itself after {spec.auto_promote_after:g}s",
        )
        await self.promote_later(release, spec.auto_promote_after)

    async def promote_later(self, release: ReleaseRecord, delay: float) -> None:
        """Promote after ``delay`` seconds unless someone acted first."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if self._reload(release.id).phase is not Phase.AWAITING_PROMOTION:
                return
            self._check_abort(release)
            await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        if self._reload(release.id).phase is Phase.AWAITING_PROMOTION:
            await self.promote(release, SYSTEM)

    async def _stage(self, release: ReleaseRecord, replicas: list[Replica]) -> None:
        """Give the release its colour's slot and send preview to it.

        What the colour held keeps running, out of the proxy, until the
        release is verified.
        """
        previous = self.store.slot(release.service, release.color)
        if previous.release_id is not None:
            self._displaced[release.id] = previous
        entries = tuple(
            (r.container_id, r.address) for r in replicas if r.address is not None
        )
        self.store.set_slot(release.service, release.color, release.id, entries)
        await self.steps.router.apply()

    async def _retire_displaced(self, release: ReleaseRecord) -> None:
        previous = self._displaced.pop(release.id, None)
        if previous is None or previous.release_id is None:
            return
        removed = await self.steps.remove_release_containers(
            release.service, release.color, previous.release_id
        )
        self.store.note(
            release.id,
            SYSTEM,
            f"retired {removed} replicas of release {previous.release_id} "
            f"from {release.color}",
        )

    # Helpers ---------------------------------------------------------------

    def _move(
        self, release: ReleaseRecord, phase: Phase, reason: str, actor: str = SYSTEM
    ) -> None:
        self.store.transition(release.id, phase, actor, reason)
        log.info(
            "release %s is %s: %s",
            release.id,
            phase,
            reason,
            extra={"service": release.service, "release": release.id},
        )

    def _check_abort(self, release: ReleaseRecord) -> None:
        if self._should_abort(release.id):
            raise StepAborted

    def _reload(self, release_id: str) -> ReleaseRecord:
        found = self.store.release(release_id)
        if found is None:
            raise KeyError(release_id)
        return found


class _Ended(Exception):
    """The release already reached its end inside a step."""


class _Inconclusive(Exception):
    """The analysis had too little data: a person must decide."""
