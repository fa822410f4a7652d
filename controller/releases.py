"""Release management: the actions a release manager takes, one release at a time.

The public methods are what the API and the CLI call: create, promote, abort
and rollback. The procedures themselves live in ``pipeline``; this module
decides whether an action is allowed now and runs it as a background task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from controller.errors import Conflict, InvalidInput, NotFound, ReleaseInFlight
from controller.phases import SYSTEM, Phase
from controller.pipeline import Pipeline
from controller.policy import ImagePolicy, repository_of
from controller.runtime.base import ReplicaState
from controller.runtime.errors import EngineError, ImageNotFound
from controller.spec import ServiceSpec
from controller.steps import StepFailed, Steps
from controller.store import ReleaseRecord, ServiceRecord, SlotRecord
from proxy.routes import Color

log = logging.getLogger(__name__)


class ReleaseManager:
    """Runs releases as background tasks and answers the release actions."""

    def __init__(self, steps: Steps, policy: ImagePolicy | None = None) -> None:
        self._steps = steps
        self._policy = policy or ImagePolicy()
        self._store = steps.store
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._aborts: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self.pipeline = Pipeline(steps, lambda release_id: release_id in self._aborts)

    def lock(self, service: str) -> asyncio.Lock:
        """The lock every change of one service's colours takes."""
        return self._locks.setdefault(service, asyncio.Lock())

    # Actions -----------------------------------------------------------------

    async def create(
        self,
        service: str,
        image: str,
        actor: str,
        idempotency_key: str | None = None,
    ) -> tuple[ReleaseRecord, bool]:
        """Accept a release of ``image`` to the idle colour; (release, is_new)."""
        record = self._service(service)
        reference = record.spec.image_reference(image)
        _check_repository(record, reference)
        self._policy.check(reference)
        async with self.lock(service):
            if idempotency_key is not None:
                earlier = self._store.release_by_key(service, idempotency_key)
                if earlier is not None:
                    return _same_request(earlier, reference), False
            _refuse_in_flight(self._store.in_flight(service))
            release = await self._start(
                record, record.spec, reference, actor, "", idempotency_key
            )
        return release, True

    async def promote(self, service: str, actor: str) -> ReleaseRecord:
        """Flip live to the release waiting for promotion, and watch it."""
        self._service(service)
        async with self.lock(service):
            release = self._store.in_flight(service)
            if release is None or release.phase is not Phase.AWAITING_PROMOTION:
                detail = f" ({release.id} is {release.phase})" if release else ""
                raise Conflict(
                    f'service "{service}" has no release awaiting promotion{detail}',
                    service=service,
                )
            self._cancel(service)
            task = self._spawn(release, self.pipeline.promote(release, actor))
        # The flip is quick; the watch afterwards runs on in the background.
        while not task.done() and self._reload(release.id).phase in (
            Phase.AWAITING_PROMOTION,
            Phase.PROMOTING,
        ):
            await asyncio.sleep(0.05)
        return self._reload(release.id)

    async def abort(self, service: str, actor: str) -> ReleaseRecord:
        """Stop the release in flight; after the flip, live goes back."""
        self._service(service)
        release = self._store.in_flight(service)
        if release is None:
            raise Conflict(f'service "{service}" has no release in flight')
        if release.phase is Phase.PROMOTING:
            raise Conflict(
                f"release {release.id} is flipping live traffic right now; "
                "abort it once it is watched (PostVerifying) or roll back",
                release=release.id,
            )
        task = self._tasks.get(service)
        if task is not None and not task.done():
            self._store.note(release.id, actor, "abort requested")
            self._aborts.add(release.id)
            await asyncio.wait({task}, timeout=self._steps.stop_timeout + 30)
            found = self._reload(release.id)
            if found.phase.is_in_flight:
                raise Conflict(
                    f"abort of release {release.id} was asked but it is still "
                    f"{found.phase}; it stops at its next step",
                    release=release.id,
                )
        else:
            async with self.lock(service):
                await self.pipeline.end(
                    release.id, Phase.ABORTED, actor, "aborted by request"
                )
        return self._reload(release.id)

    async def rollback(
        self, service: str, actor: str, to: Color | None = None
    ) -> tuple[ReleaseRecord, bool]:
        """Send live back to the previous release; (release, was it a flip).

        Rollback only goes back in time: to the release the current one
        superseded. While that release's colour is warm this is a flip; once
        it has been retired, its image is deployed again as a new release
        that promotes itself.
        """
        record = self._service(service)
        async with self.lock(service):
            _refuse_in_flight(self._store.in_flight(service))
            live = record.live_color
            if live is None:
                raise Conflict(f'service "{service}" has no live colour to roll back')
            if to is not None and to is live:
                raise InvalidInput(
                    "color", to.value, f"must be the standby colour {live.other}"
                )
            standby = self._store.slot(service, live.other)
            previous = self._store.last_superseded(service)
            if (
                previous is not None
                and standby.release_id == previous.id
                and await self._is_running(standby)
            ):
                return await self._flip_back(record, live, standby, actor), True
            if previous is None:
                raise Conflict(
                    f'service "{service}" has no earlier release to roll back to',
                    service=service,
                )
            self._policy.check(previous.image_ref)
            reason = f"rollback to release {previous.id} ({previous.image_ref})"
            spec = previous.spec.model_copy(update={"auto_promote": True})
            release = await self._start(
                record, spec, previous.image_ref, actor, reason, None
            )
        return release, False

    # Background work --------------------------------------------------------

    def resume(self) -> None:
        """Pick up releases that wait on a timer or a watch after a restart."""
        for record in self._store.services():
            release = self._store.in_flight(record.name)
            if release is None:
                continue
            if release.phase is Phase.AWAITING_PROMOTION:
                delay = release.spec.auto_promote_after
                if delay is not None:
                    self._spawn(release, self.pipeline.promote_later(release, 0.0))
            elif release.phase is Phase.POST_VERIFYING:
                was_live = release.color.other
                self._spawn(release, self._rewatch(release, was_live))

    async def check_staged(self) -> None:
        """Fail a release awaiting promotion whose replicas stopped running."""
        for record in self._store.services():
            release = self._store.in_flight(record.name)
            if release is None or release.phase is not Phase.AWAITING_PROMOTION:
                continue
            slot = self._store.slot(record.name, release.color)
            dead = await self._first_dead(slot)
            if dead is None:
                continue
            async with self.lock(record.name):
                if self._reload(release.id).phase is Phase.AWAITING_PROMOTION:
                    await self.pipeline.end(
                        release.id,
                        Phase.FAILED,
                        SYSTEM,
                        f"a staged replica stopped while awaiting promotion: {dead}",
                    )

    async def _first_dead(self, slot: SlotRecord) -> str | None:
        """A sentence about the first replica of a slot that is not running."""
        for container_id, _ in slot.replicas:
            replica = await asyncio.to_thread(self._steps.runtime.inspect, container_id)
            if replica.state is ReplicaState.RUNNING:
                continue
            logs = await asyncio.to_thread(self._steps.runtime.logs, container_id, 10)
            name = replica.name or container_id[:12]
            return f"{name} is {replica.state.value}; last log lines:\n{logs.rstrip()}"
        return None

    async def _rewatch(self, release: ReleaseRecord, was_live: Color) -> None:
        self._store.note(release.id, SYSTEM, "controller restarted; watching again")
        await self.pipeline.watch(release, was_live)
        self.pipeline.go_live(release, SYSTEM)

    async def _start(
        self,
        record: ServiceRecord,
        spec: ServiceSpec,
        reference: str,
        actor: str,
        reason: str,
        idempotency_key: str | None,
    ) -> ReleaseRecord:
        """Resolve the image, store the release with its spec, start it."""
        try:
            resolved = await asyncio.to_thread(
                self._steps.runtime.resolve_image, reference
            )
        except ImageNotFound as exc:
            raise InvalidInput(
                "image", reference, "must name an image the engine has"
            ) from exc
        color = record.live_color.other if record.live_color else Color.BLUE
        release = self._store.create_release(
            spec,
            reference,
            resolved.image_id,
            color,
            actor,
            reason or f"release of {reference} ({resolved.image_id[:19]}) to {color}",
            idempotency_key,
        )
        self._spawn(release, self.pipeline.run(release))
        log.info(
            "release %s of %s created for %s",
            release.id,
            record.name,
            reference,
            extra={"service": record.name, "release": release.id},
        )
        return release

    async def _flip_back(
        self, record: ServiceRecord, live: Color, standby: SlotRecord, actor: str
    ) -> ReleaseRecord:
        assert standby.release_id is not None
        current = self._store.slot(record.name, live).release_id
        try:
            await self._steps.flip(record.name, live.other)
        except StepFailed as exc:
            await self._steps.router.apply()
            raise Conflict(f"rollback failed, live stays on {live}: {exc}") from exc
        self._store.set_live(record.name, live.other)
        reason = f"rollback by {actor}: live back on {live.other}"
        if current is not None:
            self._store.transition(current, Phase.ROLLED_BACK, actor, reason)
            ttl = record.spec.standby_ttl
            self._store.set_standby(record.name, live, time.time() + ttl)
        self._store.set_standby(record.name, live.other, None)
        log.info("service %s rolled back to %s", record.name, live.other)
        return self._store.transition(standby.release_id, Phase.LIVE, actor, reason)

    def _spawn(
        self, release: ReleaseRecord, work: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(self.pipeline.guard(release, work))
        self._tasks[release.service] = task
        task.add_done_callback(lambda _: self._aborts.discard(release.id))
        return task

    def _cancel(self, service: str) -> None:
        task = self._tasks.pop(service, None)
        if task is not None and not task.done():
            task.cancel()

    async def _is_running(self, slot: SlotRecord) -> bool:
        if not slot.replicas:
            return False
        try:
            return await self._first_dead(slot) is None
        except EngineError:
            return False

    def _service(self, name: str) -> ServiceRecord:
        record = self._store.service(name)
        if record is None:
            raise NotFound(f'service "{name}" is not registered', service=name)
        return record

    def _reload(self, release_id: str) -> ReleaseRecord:
        found = self._store.release(release_id)
        if found is None:
            raise NotFound(f"release {release_id} does not exist", release=release_id)
        return found

    async def close(self) -> None:
        """Cancel running release tasks; a restart reconciles them."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


def _refuse_in_flight(release: ReleaseRecord | None) -> None:
    if release is not None:
        raise ReleaseInFlight(release.service, release.id, release.phase.value)


def _same_request(earlier: ReleaseRecord, reference: str) -> ReleaseRecord:
    if earlier.image_ref != reference:
        raise Conflict(
            f"Idempotency-Key was used for release {earlier.id} of "
            f"{earlier.image_ref}, not {reference}",
            release=earlier.id,
        )
    return earlier


def _check_repository(record: ServiceRecord, reference: str) -> None:
    if repository_of(reference) != record.spec.image:
        raise InvalidInput(
            "image",
            reference,
            f'must be a tag of the service\'s repository "{record.spec.image}"',
        )
