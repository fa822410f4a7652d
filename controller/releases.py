"""Release management: the lifecycle of every release, one per service at a time.

The public methods are what the API and the CLI call: create, promote, abort
and rollback. Every phase change is written to the store before the next step
acts, so a restarted controller can tell exactly where each release stood.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from controller.errors import Conflict, InvalidInput, NotFound, ReleaseInFlight
from controller.phases import Phase
from controller.runtime.base import Replica, ReplicaState
from controller.runtime.errors import EngineError, ImageNotFound
from controller.steps import StepAborted, StepFailed, Steps
from controller.store import ReleaseRecord, ServiceRecord, SlotRecord
from proxy.routes import Color

log = logging.getLogger(__name__)

SYSTEM = "bgctl"


class ReleaseManager:
    """Runs releases as background tasks and answers the release actions."""

    def __init__(self, steps: Steps) -> None:
        self._steps = steps
        self._store = steps.store
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._aborts: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, service: str) -> asyncio.Lock:
        return self._locks.setdefault(service, asyncio.Lock())

    def _service(self, name: str) -> ServiceRecord:
        record = self._store.service(name)
        if record is None:
            raise NotFound(f'service "{name}" is not registered', service=name)
        return record

    # Actions -----------------------------------------------------------------

    async def create(self, service: str, image: str, actor: str) -> ReleaseRecord:
        """Accept a release of ``image`` and start deploying it to the idle colour."""
        record = self._service(service)
        reference = record.spec.image_reference(image)
        _check_repository(record, reference)
        async with self._lock(service):
            _refuse_in_flight(self._store.in_flight(service))
            try:
                resolved = await asyncio.to_thread(
                    self._steps.runtime.resolve_image, reference
                )
            except ImageNotFound as exc:
                raise InvalidInput(
                    "image", image, "must name an image the engine has"
                ) from exc
            color = record.live_color.other if record.live_color else Color.BLUE
            release = self._store.create_release(
                record.spec,
                reference,
                resolved.image_id,
                color,
                actor,
                f"release of {reference} ({resolved.image_id[:19]}) to {color}",
            )
            self._spawn(release)
        log.info(
            "release %s of %s created for %s",
            release.id,
            service,
            reference,
            extra={"service": service, "release": release.id, "color": color.value},
        )
        return release

    async def promote(self, service: str, actor: str) -> ReleaseRecord:
        """Flip live to the release waiting for promotion."""
        self._service(service)
        async with self._lock(service):
            release = self._store.in_flight(service)
            if release is None or release.phase is not Phase.AWAITING_PROMOTION:
                raise Conflict(
                    f'service "{service}" has no release awaiting promotion'
                    + (
                        f" (release {release.id} is {release.phase})" if release else ""
                    ),
                    service=service,
                )
            task = self._spawn(release, actor=actor, promote_only=True)
        await asyncio.wait({task})
        return self._reload(release.id)

    async def abort(self, service: str, actor: str) -> ReleaseRecord:
        """Stop the release in flight and remove its replicas; live is untouched."""
        self._service(service)
        release = self._store.in_flight(service)
        if release is None:
            raise Conflict(f'service "{service}" has no release in flight')
        if release.phase is Phase.PROMOTING:
            raise Conflict(
                f"release {release.id} is flipping live traffic; roll back once "
                "it is live",
                release=release.id,
            )
        task = self._tasks.get(service)
        if task is not None and not task.done():
            self._aborts.add(release.id)
            await asyncio.wait({task}, timeout=self._steps.stop_timeout + 30)
        else:
            async with self._lock(service):
                await self._end(release, Phase.ABORTED, actor, "aborted by request")
        return self._reload(release.id)

    async def rollback(
        self, service: str, actor: str, to: Color | None = None
    ) -> ReleaseRecord:
        """Flip live back to the standby colour; returns the release live again."""
        record = self._service(service)
        async with self._lock(service):
            _refuse_in_flight(self._store.in_flight(service))
            live = record.live_color
            if live is None:
                raise Conflict(f'service "{service}" has no live colour to roll back')
            if to is not None and to is live:
                raise InvalidInput(
                    "color", to.value, f"must be the standby colour {live.other}"
                )
            standby = self._store.slot(service, live.other)
            if standby.release_id is None or not await self._is_running(standby):
                raise Conflict(
                    f'service "{service}" has no running standby on {live.other} '
                    "to roll back to",
                    service=service,
                )
            current = self._store.slot(service, live).release_id
            try:
                await self._steps.flip(service, live.other)
            except StepFailed as exc:
                await self._steps.router.apply()
                raise Conflict(f"rollback failed, live stays on {live}: {exc}") from exc
            self._store.set_live(service, live.other)
            reason = f"rollback by {actor}: live back on {live.other}"
            if current is not None:
                self._store.transition(current, Phase.ROLLED_BACK, actor, reason)
            back = self._store.transition(standby.release_id, Phase.LIVE, actor, reason)
        log.info("service %s rolled back to %s", service, live.other)
        return back

    # Background work --------------------------------------------------------

    def _spawn(
        self, release: ReleaseRecord, actor: str = SYSTEM, promote_only: bool = False
    ) -> asyncio.Task[None]:
        work = self._promote(release, actor) if promote_only else self._run(release)
        task = asyncio.create_task(self._guard(release, work))
        self._tasks[release.service] = task
        return task

    def _reload(self, release_id: str) -> ReleaseRecord:
        found = self._store.release(release_id)
        if found is None:
            raise NotFound(f"release {release_id} does not exist", release=release_id)
        return found

    async def _guard(
        self, release: ReleaseRecord, work: Coroutine[Any, Any, None]
    ) -> None:
        """Run a release's steps and end it properly whatever they raise."""
        try:
            await work
        except StepAborted:
            await self._end(release, Phase.ABORTED, SYSTEM, "aborted by request")
        except StepFailed as exc:
            log.warning("release %s failed: %s", release.id, exc)
            await self._end(release, Phase.FAILED, SYSTEM, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("release %s failed unexpectedly", release.id)
            await self._end(
                release,
                Phase.FAILED,
                SYSTEM,
                f"internal error: {type(exc).__name__}: {exc}",
            )
        finally:
            self._aborts.discard(release.id)

    async def _run(self, release: ReleaseRecord) -> None:
        """Deploy, verify, and promote when the spec says so."""
        spec = release.spec
        deadline = time.monotonic() + spec.deploy_timeout

        # 1. Start the idle colour's replicas and wait for readiness.
        self._move(release, Phase.DEPLOYING, f"starting {spec.replicas} replicas")
        replicas = await self._steps.start_replicas(release)
        self._check_abort(release)
        await self._steps.wait_ready(
            release, replicas, deadline, lambda: release.id in self._aborts
        )

        # 2. Point preview at them, retire what the colour held, smoke-check.
        self._move(release, Phase.VERIFYING, "every replica passed readiness")
        await self._stage(release, replicas)
        for line in await self._steps.smoke(release):
            self._store.note(release.id, SYSTEM, line)
        self._check_abort(release)

        # 3. Wait for a person, or promote at once.
        if not spec.auto_promote:
            self._move(release, Phase.AWAITING_PROMOTION, "verified; promote or abort")
            return
        await self._promote(release, SYSTEM)

    async def _stage(self, release: ReleaseRecord, replicas: list[Replica]) -> None:
        """Give the release its colour's slot and send preview to it."""
        previous = self._store.slot(release.service, release.color)
        entries = tuple(
            (r.container_id, r.address) for r in replicas if r.address is not None
        )
        self._store.set_slot(release.service, release.color, release.id, entries)
        await self._steps.router.apply()
        if previous.release_id is not None:
            removed = await self._steps.remove_release_containers(
                release.service, release.color, previous.release_id
            )
            self._store.note(
                release.id,
                SYSTEM,
                f"retired {removed} replicas of release {previous.release_id} "
                f"from {release.color}",
            )

    async def _promote(self, release: ReleaseRecord, actor: str) -> None:
        """Flip live to the release's colour; on failure live stays where it was."""
        service = self._service(release.service)
        self._move(release, Phase.PROMOTING, f"flipping live to {release.color}", actor)
        try:
            result = await self._steps.flip(release.service, release.color)
        except Exception:
            await self._steps.router.apply()
            raise
        self._store.set_live(release.service, release.color)
        previous = self._store.slot(release.service, release.color.other).release_id
        self._move(
            release,
            Phase.LIVE,
            f"live answers from {release.color}: {result.describe()}",
            actor,
        )
        if previous is not None and service.live_color is not None:
            self._store.transition(
                previous, Phase.SUPERSEDED, actor, f"release {release.id} is live"
            )

    async def _end(
        self, release: ReleaseRecord, phase: Phase, actor: str, reason: str
    ) -> None:
        """Fail or abort a release: live untouched, its replicas removed."""
        slot = self._store.slot(release.service, release.color)
        if slot.release_id == release.id:
            self._store.set_slot(release.service, release.color, None)
        await self._steps.router.apply()
        await self._steps.remove_release_containers(
            release.service, release.color, release.id
        )
        self._store.transition(release.id, phase, actor, reason)

    def _move(
        self, release: ReleaseRecord, phase: Phase, reason: str, actor: str = SYSTEM
    ) -> None:
        self._store.transition(release.id, phase, actor, reason)
        log.info(
            "release %s is %s: %s",
            release.id,
            phase,
            reason,
            extra={"service": release.service, "release": release.id},
        )

    def _check_abort(self, release: ReleaseRecord) -> None:
        if release.id in self._aborts:
            raise StepAborted

    async def _is_running(self, slot: SlotRecord) -> bool:
        states = []
        for container_id, _ in slot.replicas:
            try:
                replica = await asyncio.to_thread(
                    self._steps.runtime.inspect, container_id
                )
            except EngineError:
                return False
            states.append(replica.state)
        return bool(states) and all(s is ReplicaState.RUNNING for s in states)

    async def close(self) -> None:
        """Cancel running release tasks; a restart reconciles them."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


def _refuse_in_flight(release: ReleaseRecord | None) -> None:
    if release is not None:
        raise ReleaseInFlight(release.service, release.id, release.phase.value)


def _check_repository(record: ServiceRecord, reference: str) -> None:
    repository = reference.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    if repository != record.spec.image:
        raise InvalidInput(
            "image",
            reference,
            f'must be a tag of the service\'s repository "{record.spec.image}"',
        )
