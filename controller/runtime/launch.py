"""Launching one replica: create, start, and wait until it has settled.

A replica counts as started once its container has stayed up for a grace
period and the engine reports an address for it. A container that stops
inside the grace period is removed, and its last lines travel in the
``ReplicaStartError``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import docker  # type: ignore[import-untyped]

from controller.runtime import engine
from controller.runtime.base import LABEL_COLOR, LABEL_SERVICE, Replica, ReplicaRequest
from controller.runtime.base import ReplicaState as State
from controller.runtime.errors import ReplicaStartError
from controller.runtime.records import is_managed, labels_for, labels_of, replica_from
from controller.runtime.retry import with_engine_retry

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.1  # seconds between looks at a starting container
ADDRESS_WAIT = 5.0  # seconds past the grace period to wait for an address
LOG_LINES = 20  # of a failed container, kept in ReplicaStartError.logs


@dataclass(frozen=True)
class Launcher:
    """Starts replica containers the same way every time."""

    client: Any  # docker.DockerClient
    publish_host: str
    network: str | None
    start_grace: float

    def launch(self, name: str, request: ReplicaRequest) -> Replica:
        """Create and start a container named ``name``; wait until it settles."""
        container = self._create(name, request)
        self._start(container, name)
        return self._await_settled(container, name)

    def _create(self, name: str, request: ReplicaRequest) -> engine.Container:
        try:
            return self._create_once(name, request)
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: the name is taken
                raise _start_error(name, "could not be created", exc) from exc
        self._remove_stale(name, request)
        try:
            return self._create_once(name, request)
        except docker.errors.APIError as exc:
            raise _start_error(name, "could not be created", exc) from exc

    def _create_once(self, name: str, request: ReplicaRequest) -> engine.Container:
        port = f"{request.container_port}/tcp"
        return with_engine_retry(
            self.client.containers.create,
            request.image.image_id,  # the id, so that a re-tag cannot change it
            name=name,
            labels=labels_for(request),
            environment=dict(request.env),
            ports={port: (self.publish_host, None)},  # None: an ephemeral port
            network=self.network,
            restart_policy={"Name": "no"},
        )

    def _remove_stale(self, name: str, request: ReplicaRequest) -> None:
        """Remove the container holding ``name`` if it is an old replica."""
        stale = engine.find(self.client, name)
        if stale is None:
            return  # it went away by itself
        labels = labels_of(stale.attrs)
        if not is_managed(stale.attrs) or (
            labels.get(LABEL_SERVICE) != request.service
            or labels.get(LABEL_COLOR) != str(request.color)
        ):
            raise ReplicaStartError(
                f"container name {name!r} is taken by container {stale.short_id},"
                f" which bgctl does not manage as a {request.color} replica of"
                f" service {request.service!r}"
            )
        logger.warning("removing stale container %s named %s", stale.short_id, name)
        engine.remove(stale)

    def _start(self, container: engine.Container, name: str) -> None:
        try:
            with_engine_retry(container.start)
        except docker.errors.APIError as exc:
            engine.remove(container)
            raise _start_error(name, "could not be started", exc) from exc

    def _await_settled(self, container: engine.Container, name: str) -> Replica:
        """Poll until the container has run through the grace period."""
        settled_at = time.monotonic() + self.start_grace
        deadline = settled_at + ADDRESS_WAIT
        for _ in range(math.ceil((deadline - time.monotonic()) / POLL_INTERVAL) + 1):
            replica = self._reload(container, name)
            if replica.state not in (State.CREATED, State.RUNNING):
                raise self._failed(container, replica)
            now = time.monotonic()
            if now >= settled_at and replica.address is not None:
                return replica
            if now >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        engine.remove(container)
        where = self.publish_host if self.network is None else self.network
        raise ReplicaStartError(
            f"replica {name!r} still had no address on {where!r} "
            f"{ADDRESS_WAIT} s after its grace period"
        )

    def _reload(self, container: engine.Container, name: str) -> Replica:
        try:
            with_engine_retry(container.reload)
        except docker.errors.NotFound as exc:
            raise ReplicaStartError(
                f"replica {name!r} was removed as it started"
            ) from exc
        replica = replica_from(container.attrs, self.network)
        if replica is None:
            raise ReplicaStartError(f"replica {name!r} lost its bgctl labels")
        logger.debug("replica %s is %s at %s", name, replica.state, replica.address)
        return replica

    def _failed(self, container: engine.Container, replica: Replica) -> Exception:
        logs = engine.tail(container, LOG_LINES)
        engine.remove(container)
        lines = logs.strip().splitlines()
        last = f"last log line: {lines[-1]!r}" if lines else "it wrote no logs"
        message = (
            f"replica {replica.name!r} stopped right after start "
            f"({replica.state}, exit code {replica.exit_code}); {last}"
        )
        logger.warning("%s", message)
        return ReplicaStartError(message, logs=logs)


def _start_error(name: str, what: str, exc: Exception) -> ReplicaStartError:
    return ReplicaStartError(f"replica {name!r} {what}: {engine.reason(exc)}")
