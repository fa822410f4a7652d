"""The container runtime on a Docker engine.

Every call blocks; the controller runs them in a worker thread. Transient
engine failures are retried under ``ENGINE_RETRY``, and whatever the Docker
SDK raises leaves this module as an ``EngineError``. Containers without the
``bgctl.managed`` label are invisible here: they are never listed, never
stopped and never removed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

import docker  # type: ignore[import-untyped]
import requests

from controller.runtime.base import (
    LABEL_COLOR,
    LABEL_SERVICE,
    Image,
    Replica,
    ReplicaRequest,
    ReplicaState,
)
from controller.runtime.errors import (
    EngineError,
    EngineUnavailable,
    ImageNotFound,
    ReplicaStartError,
)
from controller.runtime.records import (
    MANAGED,
    container_name,
    is_managed,
    labels_for,
    labels_of,
    replica_from,
)
from controller.runtime.retry import with_engine_retry
from proxy.routes import Color

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.1  # seconds between looks at a starting container
ADDRESS_WAIT = 5.0  # seconds past the grace period to wait for an address
LOG_LINES = 20  # of a failed container, kept in ReplicaStartError.logs


class DockerRuntime:
    """Runs each replica as one labelled container on a Docker engine.

    In host mode (``network=None``) a replica's port is published on an
    ephemeral port of ``publish_host`` and the proxy reaches it there. With
    ``network`` the container also joins that network and the proxy reaches
    it at its own address there. ``start_grace`` is how long a new container
    must stay up before it counts as started.
    """

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        publish_host: str = "127.0.0.1",
        network: str | None = None,
        stop_timeout: float = 10.0,
        start_grace: float = 1.0,
    ) -> None:
        self._owns_client = client is None
        self._client = client if client is not None else _client_from_env()
        self._publish_host = publish_host
        self._network = network
        self._stop_timeout = stop_timeout
        self._start_grace = start_grace
        self._seen: dict[str, Replica] = {}  # container id -> last seen

    def close(self) -> None:
        """Close the engine connection, if this runtime opened it."""
        if self._owns_client:
            self._client.close()

    # Images

    def resolve_image(self, reference: str) -> Image:
        """The local image by that reference; never pulls from a registry."""
        with _engine_boundary(f"resolving image {reference!r}"):
            try:
                found = with_engine_retry(self._client.images.get, reference)
            except docker.errors.APIError as exc:
                if not exc.is_client_error():
                    raise
                # 404: no such image; 400: a reference no image can have.
                raise ImageNotFound(reference, _reason(exc)) from exc
        digests: list[str] = found.attrs.get("RepoDigests") or []
        image_id: str = found.id
        return Image(reference, image_id, _matching_digest(reference, digests))

    # Starting

    def start_replica(self, request: ReplicaRequest) -> Replica:
        """Create and start one replica; ReplicaStartError if it will not run."""
        name = container_name(request)
        fields = _log_fields(request)
        logger.info(
            "starting replica %s from %s", name, request.image.reference, extra=fields
        )
        with _engine_boundary(f"starting replica {name!r}"):
            container = self._create(name, request)
            self._start(container, name)
            replica = self._await_started(container, name)
        self._seen[replica.container_id] = replica
        logger.info("replica %s started at %s", name, replica.address, extra=fields)
        return replica

    def _create(self, name: str, request: ReplicaRequest) -> Any:
        try:
            return self._create_once(name, request)
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise _start_error(name, "could not be created", exc) from exc
        self._remove_stale(name, request)
        try:
            return self._create_once(name, request)
        except docker.errors.APIError as exc:
            raise _start_error(name, "could not be created", exc) from exc

    def _create_once(self, name: str, request: ReplicaRequest) -> Any:
        port = request.container_port
        return with_engine_retry(
            self._client.containers.create,
            request.image.image_id,  # the id, so a re-tag cannot change it
            name=name,
            labels=labels_for(request),
            environment=dict(request.env),
            ports={f"{port}/tcp": (self._publish_host, None)},
            network=self._network,
            restart_policy={"Name": "no"},
        )

    def _remove_stale(self, name: str, request: ReplicaRequest) -> None:
        stale = self._find(name)
        if stale is None:
            return  # it went away by itself
        labels = labels_of(stale.attrs)
        ours = is_managed(stale.attrs) and (
            labels.get(LABEL_SERVICE) == request.service
            and labels.get(LABEL_COLOR) == str(request.color)
        )
        if not ours:
            raise ReplicaStartError(
                f"container name {name!r} is taken by container "
                f"{stale.short_id} that bgctl does not manage; expected a "
                f"replica of service {request.service!r}, {request.color}"
            )
        logger.warning("removing stale container %s named %s", stale.short_id, name)
        self._remove(stale)

    def _start(self, container: Any, name: str) -> None:
        try:
            with_engine_retry(container.start)
        except docker.errors.APIError as exc:
            self._remove(container)
            raise _start_error(name, "could not be started", exc) from exc

    def _await_started(self, container: Any, name: str) -> Replica:
        """Poll until the replica has run for the grace period with an address."""
        now = time.monotonic()
        settled_at = now + self._start_grace
        deadline = settled_at + ADDRESS_WAIT
        polls = math.ceil((deadline - now) / POLL_INTERVAL) + 1
        for _ in range(polls):
            replica = self._reload(container, name)
            if replica.state not in (ReplicaState.CREATED, ReplicaState.RUNNING):
                raise self._start_failed(container, replica)
            now = time.monotonic()
            if now >= settled_at and replica.address is not None:
                return replica
            if now >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        self._remove(container)
        where = self._publish_host if self._network is None else self._network
        raise ReplicaStartError(
            f"replica {name!r} still has no address on {where!r} "
            f"{ADDRESS_WAIT} s after its grace period"
        )

    def _reload(self, container: Any, name: str) -> Replica:
        try:
            with_engine_retry(container.reload)
        except docker.errors.NotFound as exc:
            raise ReplicaStartError(
                f"replica {name!r} was removed while it started"
            ) from exc
        replica = replica_from(container.attrs, self._network)
        if replica is None:
            raise ReplicaStartError(f"replica {name!r} lost its bgctl labels")
        logger.debug("replica %s is %s at %s", name, replica.state, replica.address)
        return replica

    def _start_failed(self, container: Any, replica: Replica) -> ReplicaStartError:
        logs = self._tail(container, LOG_LINES)
        self._remove(container)
        lines = logs.strip().splitlines()
        last = f"last log line: {lines[-1]!r}" if lines else "it wrote no logs"
        message = (
            f"replica {replica.name!r} stopped right after start "
            f"({replica.state}, exit code {replica.exit_code}); {last}"
        )
        logger.warning("%s", message)
        return ReplicaStartError(message, logs=logs)

    # Looking

    def inspect(self, container_id: str) -> Replica:
        """The replica's current state; MISSING if gone or not managed.

        The identity of a MISSING replica comes from the last time this
        runtime saw it. One it never saw carries only its container id.
        """
        with _engine_boundary(f"inspecting container {container_id!r}"):
            container = self._find(container_id)
        replica = None
        if container is not None:
            replica = replica_from(container.attrs, self._network)
        if replica is None:
            return self._missing(container_id)
        self._seen[replica.container_id] = replica
        return replica

    def _missing(self, container_id: str) -> Replica:
        known = self._seen.get(container_id)
        if known is None:
            # Placeholders: the engine has forgotten who this container was.
            return Replica(
                container_id=container_id,
                name="",
                service="",
                color=Color.BLUE,
                release="",
                index=0,
                image_id="",
                state=ReplicaState.MISSING,
                address=None,
            )
        return replace(known, state=ReplicaState.MISSING, address=None)

    def list_replicas(
        self, service: str | None = None, color: Color | None = None
    ) -> list[Replica]:
        """Every managed container, narrowed by service and colour."""
        wanted = [MANAGED]
        if service is not None:
            wanted.append(f"{LABEL_SERVICE}={service}")
        if color is not None:
            wanted.append(f"{LABEL_COLOR}={color}")
        with _engine_boundary(f"listing replicas labelled {wanted}"):
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
        with _engine_boundary(f"reading logs of container {container_id!r}"):
            container = self._find(container_id)
            return "" if container is None else self._tail(container, tail)

    def _tail(self, container: Any, tail: int) -> str:
        if not is_managed(container.attrs):
            return ""
        try:
            raw: bytes = with_engine_retry(
                container.logs, stdout=True, stderr=True, tail=tail
            )
        except docker.errors.NotFound:
            return ""
        return raw.decode("utf-8", errors="replace")

    # Stopping

    def stop_replica(self, container_id: str, timeout: float | None = None) -> None:
        """SIGTERM, SIGKILL after ``timeout`` seconds, then remove; idempotent."""
        seconds = self._stop_timeout if timeout is None else timeout
        with _engine_boundary(f"stopping container {container_id!r}"):
            container = self._find(container_id)
            if container is None:
                logger.info("container %s is already gone", container_id[:12])
                return
            if not is_managed(container.attrs):
                logger.warning(
                    "container %s is not managed; left alone", container.name
                )
                return
            logger.info("stopping replica %s", container.name)
            self._stop(container, seconds)
            self._remove(container)
        logger.info("replica %s stopped and removed", container.name)

    def _stop(self, container: Any, timeout: float) -> None:
        # Removed by someone else meanwhile: the goal is reached all the same.
        with suppress(docker.errors.NotFound):
            with_engine_retry(container.stop, timeout=math.ceil(max(timeout, 0)))

    def _remove(self, container: Any) -> None:
        if not is_managed(container.attrs):
            raise EngineError(f"refusing to remove unmanaged container {container.id}")
        try:
            with_engine_retry(container.remove, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: a removal is already under way
                raise

    def _find(self, name_or_id: str) -> Any | None:
        try:
            return with_engine_retry(self._client.containers.get, name_or_id)
        except docker.errors.NotFound:
            return None


def _client_from_env() -> Any:
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"cannot reach the Docker engine: {exc}") from exc


@contextmanager
def _engine_boundary(action: str) -> Iterator[None]:
    """Translate what the SDK raises while doing ``action`` into EngineError."""
    try:
        yield
    except EngineError:
        raise
    except docker.errors.APIError as exc:
        raise EngineError(f"{action} failed: {_reason(exc)}") from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise EngineUnavailable(
            f"{action} failed: no answer from engine: {exc}"
        ) from exc


def _reason(exc: Any) -> str:
    """The engine's own words for an API error."""
    return str(exc.explanation or exc)


def _start_error(name: str, what: str, exc: Any) -> ReplicaStartError:
    return ReplicaStartError(f"replica {name!r} {what}: {_reason(exc)}")


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
