"""The watch after a flip: probe live, run the live hook, flip back on a breach.

Live already answers from the release's colour while it is watched, and the
previous colour is still warm. A post-verification window that breaks its
limits, a verification hook that fails on live, or an abort sends live back
to the previous colour, and the release ends there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from controller.analysis import Verdict, judge, observe
from controller.hooks import Ending, hook_text
from controller.phases import SYSTEM, Phase
from controller.steps import Steps
from controller.store import ReleaseRecord
from proxy.routes import Color

log = logging.getLogger(__name__)


def is_watched(release: ReleaseRecord) -> bool:
    """Whether anything checks live after the release's flip."""
    hook = release.spec.verify_hook
    is_hooked = hook is not None and hook.runs_on("live")
    return release.spec.post_verify.is_enabled or is_hooked


class LiveWatch:
    """Checks live after a flip; flips back to the previous colour on a breach."""

    def __init__(self, steps: Steps, should_abort: Callable[[str], bool]) -> None:
        self.steps = steps
        self.store = steps.store
        self._should_abort = should_abort

    async def run(self, release: ReleaseRecord, was_live: Color | None) -> bool:
        """Watch live; False when the release ended by flipping back."""
        gate = release.spec.post_verify
        if gate.is_enabled and not await self._window(release, was_live):
            return False
        return await self._live_hook(release, was_live)

    async def _window(self, release: ReleaseRecord, was_live: Color | None) -> bool:
        """Probe live for the post-verification window and judge it."""
        gate = release.spec.post_verify
        url = self.steps.endpoint_url(release.service, "live", gate.path)
        (window,) = await observe(
            self.steps.client, [url], gate, lambda: self._should_abort(release.id)
        )
        if self._should_abort(release.id):
            await self.flip_back(release, was_live, Phase.ABORTED, "aborted by request")
            return False
        judgement = judge(gate, window)
        self.steps.recorder.judged(release.service, "post_verify", judgement.verdict)
        if judgement.verdict is Verdict.PASSED:
            self.store.note(
                release.id, SYSTEM, f"post-verification passed: {judgement.reason}"
            )
            return True
        reason = f"post-verification {judgement.verdict}: {judgement.reason}"
        return await self._breach(release, was_live, reason)

    async def _live_hook(self, release: ReleaseRecord, was_live: Color | None) -> bool:
        """Run the verification hook on live; a failure is a breach."""
        result = await self.steps.run_verify_hook(
            release, "live", lambda: self._should_abort(release.id)
        )
        if result is None:
            return True
        self.store.note(release.id, SYSTEM, hook_text("live", result))
        if result.ending is Ending.STOPPED:
            await self.flip_back(release, was_live, Phase.ABORTED, "aborted by request")
            return False
        if result.passed:
            return True
        reason = f"verification hook on live failed: {result.summary()}"
        return await self._breach(release, was_live, reason)

    async def _breach(
        self, release: ReleaseRecord, was_live: Color | None, reason: str
    ) -> bool:
        """Flip back after a failed check, if there is a colour to go back to."""
        if was_live is None:
            self.store.note(
                release.id,
                SYSTEM,
                reason + "; no previous colour to flip back to, live stays",
            )
            return True
        await self.flip_back(release, was_live, Phase.ROLLED_BACK, reason)
        return False

    async def flip_back(
        self, release: ReleaseRecord, to: Color | None, phase: Phase, reason: str
    ) -> None:
        """Send live back to ``to`` after a promotion; the release ends."""
        if to is not None:
            await self.steps.flip(release.service, to)
            self.store.set_live(release.service, to)
        self.store.transition(release.id, phase, SYSTEM, f"{reason}; live back on {to}")
        log.warning(
            "release %s flipped back to %s: %s",
            release.id,
            to,
            reason,
            extra={"service": release.service, "release": release.id},
        )
