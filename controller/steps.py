"""The steps a release takes, each a short procedure over engine and proxy.

Each step raises StepFailed with a sentence for the release's timeline; the
caller decides what a failure means for the release as a whole.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from controller.hooks import HookResult, run_hook
from controller.integrity import image_mismatches
from controller.metrics.recorder import Recorder
from controller.probes import ProbeResult, confirm_color, probe, replica_url
from controller.routing import Router
from controller.runtime.base import (
    ContainerRuntime,
    Image,
    Replica,
    ReplicaRequest,
    ReplicaState,
)
from controller.runtime.errors import EngineError, ReplicaStartError
from controller.spec import ServiceSpec
from controller.store import ReleaseRecord, Store
from proxy.routes import Color, Endpoint

log = logging.getLogger(__name__)

LOG_TAIL = 10


class StepFailed(Exception):
    """A step could not complete; the message goes into the timeline."""


class StepAborted(Exception):
    """A person asked the release to stop."""


@dataclass
class Steps:
    """The engine, the proxy and the store, as one release's steps use them."""

    store: Store
    runtime: ContainerRuntime
    router: Router
    client: httpx.AsyncClient
    proxy_host: str
    stop_timeout: float
    state_dir: Path  # load gates keep their results under it
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    recorder: Recorder = field(default_factory=Recorder)  # flips and verdicts

    # Deploying ---------------------------------------------------------------

    async def start_replicas(self, release: ReleaseRecord) -> list[Replica]:
        """Start every replica of the release's colour from its exact image."""
        spec = release.spec
        image = Image(release.image_ref, release.image_id)
        requests = [
            ReplicaRequest(
                service=spec.name,
                color=release.color,
                release=release.id,
                index=index,
                image=image,
                container_port=spec.port,
                env=dict(spec.env),
                labels=dict(self.extra_labels),
            )
            for index in range(1, spec.replicas + 1)
        ]
        results = await asyncio.gather(
            *(asyncio.to_thread(self.runtime.start_replica, r) for r in requests),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise StepFailed(_start_failure(failures[0])) from failures[0]
        return [r for r in results if isinstance(r, Replica)]

    async def wait_ready(
        self,
        release: ReleaseRecord,
        replicas: list[Replica],
        deadline: float,
        should_abort: Callable[[], bool],
    ) -> list[Replica]:
        """Probe every replica until each passes readiness or the deadline ends."""
        spec = release.spec
        pending = {r.container_id: r for r in replicas}
        streaks = dict.fromkeys(pending, 0)
        last: ProbeResult | None = None
        while pending:
            if should_abort():
                raise StepAborted
            for replica in list(pending.values()):
                last = await self._probe_replica(spec, replica)
                streaks[replica.container_id] = (
                    streaks[replica.container_id] + 1 if last.is_ok else 0
                )
                if streaks[replica.container_id] >= spec.readiness.healthy_threshold:
                    del pending[replica.container_id]
            if pending and time.monotonic() >= deadline:
                raise StepFailed(_deadline_failure(spec, len(pending), last))
            if pending:
                pause = min(spec.readiness.interval, deadline - time.monotonic())
                await nap(pause, should_abort)
        await self._hold_ready(release, replicas, should_abort)
        return replicas

    async def _hold_ready(
        self,
        release: ReleaseRecord,
        replicas: list[Replica],
        should_abort: Callable[[], bool],
    ) -> None:
        """Every replica must stay up and ready for ``min_ready`` seconds."""
        spec = release.spec
        until = time.monotonic() + spec.readiness.min_ready
        while time.monotonic() < until:
            await nap(min(spec.readiness.interval, 0.5), should_abort)
            for replica in replicas:
                result = await self._probe_replica(spec, replica)
                if not result.is_ok:
                    logs = await asyncio.to_thread(
                        self.runtime.logs, replica.container_id, LOG_TAIL
                    )
                    raise StepFailed(
                        f"replica {replica.name} stopped passing readiness within "
                        f"min_ready {spec.readiness.min_ready:g}s: {result.describe()}"
                        f"; last log lines:\n{logs.rstrip()}"
                    )

    async def _probe_replica(self, spec: ServiceSpec, replica: Replica) -> ProbeResult:
        """One readiness probe; a container that stopped fails the step at once."""
        current = await asyncio.to_thread(self.runtime.inspect, replica.container_id)
        if current.state is not ReplicaState.RUNNING or current.address is None:
            logs = await asyncio.to_thread(
                self.runtime.logs, replica.container_id, LOG_TAIL
            )
            raise StepFailed(
                f"replica {replica.name} is {current.state.value}"
                + (f" (exit code {current.exit_code})" if current.exit_code else "")
                + f" before it became ready; last log lines:\n{logs.rstrip()}"
            )
        url = replica_url(current.address, spec.readiness.path)
        result = await probe(self.client, url, spec.readiness.timeout)
        log.debug("readiness of %s: %s", replica.name, result.describe())
        return result

    # Verifying ---------------------------------------------------------------

    async def verify_images(
        self, release: ReleaseRecord, started: list[Replica]
    ) -> str:
        """Confirm every replica of the release runs its pinned image id."""
        found = await asyncio.to_thread(
            self.runtime.list_replicas, release.service, release.color
        )
        mine = [replica for replica in found if replica.release == release.id]
        mismatches = image_mismatches(release.image_id, started, mine)
        if mismatches:
            details = "; ".join(m.describe() for m in mismatches)
            raise StepFailed(
                f"image verification of {release.image_ref} failed: {details}"
            )
        return (
            f"image verified: {len(mine)} replicas run {release.image_id} "
            f"({release.image_ref})"
        )

    async def smoke(self, release: ReleaseRecord) -> list[str]:
        """Send the spec's smoke requests through preview; lines for the timeline."""
        spec = release.spec
        port = spec.endpoints.preview
        lines = []
        for check in spec.smoke:
            url = f"http://{self.proxy_host}:{port}{check.path}"
            result = await confirm_color(self.client, url, release.color, needed=1)
            if result.color != release.color:
                raise StepFailed(
                    f"preview did not answer from {release.color}: "
                    f"{result.describe()} (colour {result.color})"
                )
            result = await probe(self.client, url, 5.0, check.method)
            if result.status != check.expect_status:
                raise StepFailed(
                    f"smoke check {check.method} {check.path} expected "
                    f"{check.expect_status}: {result.describe()}"
                )
            lines.append(f"smoke check {check.method} {check.path}: {result.status}")
        return lines

    async def run_verify_hook(
        self, release: ReleaseRecord, endpoint: str, should_abort: Callable[[], bool]
    ) -> HookResult | None:
        """Run the spec's verification hook on ``endpoint`` if it runs there."""
        hook = release.spec.verify_hook
        if hook is None or not hook.runs_on(endpoint):
            return None
        url = self.endpoint_url(release.service, endpoint, "")
        env = {
            **os.environ,
            "BGCTL_TARGET_URL": url,
            "BGCTL_SERVICE": release.service,
            "BGCTL_RELEASE": release.id,
            "BGCTL_COLOR": str(release.color),
        }
        fields = {"service": release.service, "release": release.id}
        log.info("verification hook on %s started: %s", endpoint, url, extra=fields)
        result = await run_hook(hook.command, env, hook.timeout, should_abort)
        log.info(
            "verification hook on %s finished: %s",
            endpoint,
            result.summary(),
            extra=fields,
        )
        return result

    def endpoint_url(self, service: str, endpoint: str, path: str = "/") -> str:
        """The URL of a path on one of a service's frontends."""
        record = self.store.service(service)
        if record is None:
            raise StepFailed(f'service "{service}" is no longer registered')
        port = record.spec.endpoints.by_endpoint()[Endpoint(endpoint)]
        return f"http://{self.proxy_host}:{port}{path}"

    # Promoting ---------------------------------------------------------------

    async def check_color(self, service: str, color: Color) -> None:
        """Every replica of ``color`` runs and passes readiness, or StepFailed."""
        record = self.store.service(service)
        slot = self.store.slot(service, color)
        if record is None or not slot.replicas:
            raise StepFailed(f"{color} of {service} has no replicas to send live to")
        path = record.spec.readiness.path
        for container_id, _ in slot.replicas:
            replica = await asyncio.to_thread(self.runtime.inspect, container_id)
            if replica.state is not ReplicaState.RUNNING or replica.address is None:
                raise StepFailed(
                    f"replica {replica.name or container_id[:12]} of {color} is "
                    f"{replica.state.value}; live stays where it is"
                )
            url = replica_url(replica.address, path)
            result = await probe(self.client, url, record.spec.readiness.timeout)
            if not result.is_ok:
                raise StepFailed(
                    f"replica {replica.name} of {color} is not ready "
                    f"({result.describe()}); live stays where it is"
                )

    async def flip(self, service: str, color: Color) -> ProbeResult:
        """Send live traffic to ``color`` and confirm the proxy serves it.

        The colour's replicas are checked first, so live is never sent to a
        colour that cannot answer.
        """
        with self.recorder.flip(service):
            await self.check_color(service, color)
            await self.router.apply({service: color})
            url = self.endpoint_url(service, "live")
            result = await confirm_color(self.client, url, color)
            if not (result.is_ok and result.color == color):
                raise StepFailed(
                    f"live did not answer from {color} after the flip: "
                    f"{result.describe()} (colour {result.color})"
                )
            return result

    # Cleaning up -------------------------------------------------------------

    async def remove_release_containers(
        self, service: str, color: Color, release_id: str
    ) -> int:
        """Stop and remove every container of one release; returns how many."""
        found = await asyncio.to_thread(self.runtime.list_replicas, service, color)
        mine = [r for r in found if r.release == release_id]
        await asyncio.gather(
            *(
                asyncio.to_thread(
                    self.runtime.stop_replica, r.container_id, self.stop_timeout
                )
                for r in mine
            )
        )
        return len(mine)


async def nap(seconds: float, should_abort: Callable[[], bool]) -> None:
    """Sleep in short slices; StepAborted as soon as an abort is asked."""
    until = time.monotonic() + max(0.0, seconds)
    while True:
        if should_abort():
            raise StepAborted
        left = until - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.1))


def _start_failure(exc: BaseException) -> str:
    if isinstance(exc, ReplicaStartError) and exc.logs:
        return f"{exc}; last log lines:\n{exc.logs.rstrip()}"
    if isinstance(exc, EngineError):
        return f"the engine refused to start a replica: {exc}"
    return f"starting a replica failed: {type(exc).__name__}: {exc}"


def _deadline_failure(spec: ServiceSpec, pending: int, last: ProbeResult | None) -> str:
    probe_text = last.describe() if last else "no probe was answered"
    return (
        f"{pending} of {spec.replicas} replicas not ready within deploy_timeout "
        f"{spec.deploy_timeout:g}s; last probe: {probe_text}"
    )
