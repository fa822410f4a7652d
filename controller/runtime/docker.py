"""The container runtime on a Docker engine.

Every call blocks; the controller runs them in a worker thread. Transient
engine failures are retried under ``ENGINE_RETRY``, and whatever the Docker
SDK raises leaves this module as an ``EngineError``. Containers without the
``bgctl.managed`` label are invisible here: they are never listed, never
stopped and never removed; the chaos actions (``runtime.actions``) also
need this controller's own labels.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

import docker  # type: ignore[import-untyped]

from controller.runtime import engine
from controller.runtime.actions import ReplicaActions
from controller.runtime.base import (
    LABEL_COLOR,
    LABEL_SERVICE,
    Image,
    Replica,
    ReplicaRequest,
    ReplicaState,
)
from controller.runtime.engine import engine_boundary
from controller.runtime.errors import ImageNotFound
from controller.runtime.launch import LOG_LINES, Launcher
from controller.runtime.records import (
    MANAGED,
    container_name,
    is_managed,
    replica_from,
)
from controller.runtime.retry import with_engine_retry
from proxy.routes import Color

logger = logging.getLogger(__name__)


class DockerRuntime:
    """Runs each replica as one labelled container on a Docker engine.

    In host mode (``network=None``) a replica's port is published on an
    ephemeral port of ``publish_host`` and the proxy reaches it there. With
    ``network`` the container joins that network too, and the proxy reaches
    it at its own address there. A new container must stay up for
    ``start_grace`` seconds to count as started; ``stop_timeout`` is the
    SIGTERM-to-SIGKILL delay when ``stop_replica`` is given none.
    """

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        publish_host: str = "127.0.0.1",
        network: str | None = None,
        stop_timeout: float = 10.0,
        start_grace: float = 1.0,
        scope: Mapping[str, str] | None = None,
    ) -> None:
        self._owns_client = client is None
        self._client = client if client is not None else engine.connect()
        self._network = network
        # Labels that mark this controller's containers among others' on
        # the same engine; listing sees only containers that carry them.
        self._scope = dict(scope or {})
        self._stop_timeout = stop_timeout
        self._launcher = Launcher(self._client, publish_host, network, start_grace)
        self._actions = ReplicaActions(self._client, self._scope, network)
        self._seen: dict[str, Replica] = {}  # container id -> as last seen

    def close(self) -> None:
        """Close the engine connection, if this runtime opened it."""
        if self._owns_client:
            self._client.close()

    def resolve_image(self, reference: str) -> Image:
        """The local image by that reference; never pulls from a registry."""
        with engine_boundary(f"resolving image {reference!r}"):
            try:
                found = with_engine_retry(self._client.images.get, reference)
            except docker.errors.APIError as exc:
                if not exc.is_client_error():
                    raise
                # 404: no such image; 400: a reference no image can have.
                raise ImageNotFound(reference, engine.reason(exc)) from exc
        digests: list[str] = found.attrs.get("RepoDigests") or []
        image_id: str = found.id
        return Image(reference, image_id, _matching_digest(reference, digests))

    def start_replica(self, request: ReplicaRequest) -> Replica:
        """Create and start one replica; ReplicaStartError if it will not run."""
        name = container_name(request)
        fields = _log_fields(request)
        image = request.image.reference
        logger.info("starting replica %s from %s", name, image, extra=fields)
        with engine_boundary(f"starting replica {name!r}"):
            replica = self._launcher.launch(name, request)
        self._seen[replica.container_id] = replica
        logger.info("replica %s started at %s", name, replica.address, extra=fields)
        return replica

    def inspect(self, container_id: str) -> Replica:
        """The replica's current state; MISSING if gone or not managed.

        A MISSING replica keeps the identity this runtime last saw it with;
        one it never saw carries only its container id and placeholders.
        """
        with engine_boundary(f"inspecting container {container_id!r}"):
            container = engine.find(self._client, container_id)
        replica = None
        if container is not None:
            replica = replica_from(container.attrs, self._network)
        if replica is None:
            return self._missing(container_id)
        self._seen[replica.container_id] = replica
        return replica

    def _missing(self, container_id: str) -> Replica:
        known = self._seen.get(container_id)
        if known is not None:
            return replace(known, state=ReplicaState.MISSING, address=None)
        return Replica(
            container_id=container_id,
            name="",
            service="",
            color=Color.BLUE,  # unknowable once the engine has forgotten it
            release="",
            index=0,
            image_id="",
            state=ReplicaState.MISSING,
            address=None,
        )

    def list_replicas(
        self, service: str | None = None, color: Color | None = None
    ) -> list[Replica]:
        """Every managed container, narrowed by service and colour."""
        wanted = [MANAGED, *(f"{k}={v}" for k, v in self._scope.items())]
        if service is not None:
            wanted.append(f"{LABEL_SERVICE}={service}")
        if color is not None:
            wanted.append(f"{LABEL_COLOR}={color}")
        with engine_boundary(f"listing replicas labelled {wanted}"):
            containers = with_engine_retry(
                self._client.containers.list,
                all=True,
                filters={"label": wanted},
                ignore_removed=True,  # one may go between list and inspect
            )
        found = [replica_from(c.attrs, self._network) for c in containers]
        replicas = [r for r in found if r is not None]
        self._seen.update((r.container_id, r) for r in replicas)
        return sorted(replicas, key=lambda r: (r.service, r.color, r.index, r.name))

    def logs(self, container_id: str, tail: int = LOG_LINES) -> str:
        """The last ``tail`` lines of stdout and stderr; empty if it is gone."""
        with engine_boundary(f"reading logs of container {container_id!r}"):
            container = engine.find(self._client, container_id)
            return "" if container is None else engine.tail(container, tail)

    def stop_replica(self, container_id: str, timeout: float | None = None) -> None:
        """SIGTERM, SIGKILL after ``timeout`` seconds, then remove; idempotent."""
        seconds = self._stop_timeout if timeout is None else timeout
        with engine_boundary(f"stopping container {container_id!r}"):
            container = engine.find(self._client, container_id)
            if container is None:
                logger.info("container %s is already gone", container_id[:12])
                return
            if not is_managed(container.attrs):
                logger.warning(
                    "container %s is not managed; left alone", container.name
                )
                return
            logger.info("stopping replica %s within %s s", container.name, seconds)
            engine.stop(container, seconds)
            engine.remove(container)
        logger.info("replica %s stopped and removed", container.name)

    def kill(self, container_id: str, signal: str) -> None:
        """Send ``signal`` to one replica's main process, once."""
        self._actions.kill(container_id, signal)

    def halt(self, container_id: str, timeout: float) -> None:
        """Stop one replica without removing it."""
        self._actions.halt(container_id, timeout)

    def pause(self, container_id: str) -> None:
        """Freeze one replica."""
        self._actions.pause(container_id)

    def unpause(self, container_id: str) -> None:
        """Thaw one replica, if it is paused."""
        self._actions.unpause(container_id)

    def start(self, container_id: str) -> Replica:
        """Start a stopped replica again; its address may have changed."""
        replica = self._actions.start(container_id)
        self._seen[container_id] = replica
        return replica

    def restart(self, container_id: str, timeout: float) -> Replica:
        """Restart one replica; its address may have changed."""
        replica = self._actions.restart(container_id, timeout)
        self._seen[container_id] = replica
        return replica


def _matching_digest(reference: str, digests: list[str]) -> str | None:
    """The digest under the reference's own repository, else the first one."""
    repository = reference.split("@")[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    mine = [d for d in digests if d.split("@")[0] == repository]
    chosen = mine or digests
    return chosen[0] if chosen else None


def _log_fields(request: ReplicaRequest) -> Mapping[str, object]:
    return {
        "service": request.service,
        "color": str(request.color),
        "release": request.release,
        "replica": request.index,
    }
