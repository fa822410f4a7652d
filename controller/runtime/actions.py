"""Actions on one replica's container, for chaos: kill, halt, pause, start...

Each action first finds the container and checks that it carries this
controller's labels; a container it cannot find, or one that belongs to
someone else, is a ``ReplicaNotFound`` and is never touched.

Halt, pause, unpause and start may be repeated without harm, so they retry
transient failures under ``ENGINE_RETRY`` and count a goal already reached
as done. A kill and a restart are sent once: a second signal or a second
restart is another event, not a retry of the first.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import docker  # type: ignore[import-untyped]
import requests

from controller.runtime import engine
from controller.runtime.base import Replica, ReplicaState
from controller.runtime.errors import ReplicaActionFailed, ReplicaNotFound
from controller.runtime.records import is_managed, labels_of, replica_from, state_of
from controller.runtime.retry import with_engine_retry

logger = logging.getLogger(__name__)

SETTLE_WAIT = 10.0  # seconds a started container may take to run with an address
POLL_INTERVAL = 0.1  # seconds between looks at a starting container


class ReplicaActions:
    """Acts on single containers of one controller, found by id."""

    def __init__(
        self, client: Any, scope: Mapping[str, str], network: str | None
    ) -> None:
        self._client = client
        self._scope = dict(scope)
        self._network = network

    def kill(self, container_id: str, signal: str) -> None:
        """Send ``signal`` once; an unanswered request is not sent again."""
        container = self._own(container_id, "kill")
        with _boundary(container_id, f"kill with {signal}", sent_once=True):
            container.kill(signal=signal)
        logger.info("sent %s to container %s", signal, container.name)

    def halt(self, container_id: str, timeout: float) -> None:
        """SIGTERM, SIGKILL after ``timeout`` seconds; the container is kept."""
        container = self._own(container_id, "halt")
        with _boundary(container_id, "halt"):
            with_engine_retry(container.stop, timeout=math.ceil(max(timeout, 0)))
        logger.info("halted container %s", container.name)

    def pause(self, container_id: str) -> None:
        """Freeze the container; one already paused stays as it is."""
        container = self._own(container_id, "pause")
        if state_of(container.attrs) is ReplicaState.PAUSED:
            return
        with _boundary(container_id, "pause"):
            with_engine_retry(container.pause)
        logger.info("paused container %s", container.name)

    def unpause(self, container_id: str) -> None:
        """Thaw the container; one that is not paused stays as it is."""
        container = self._own(container_id, "unpause")
        if state_of(container.attrs) is not ReplicaState.PAUSED:
            return
        with _boundary(container_id, "unpause"):
            with_engine_retry(container.unpause)
        logger.info("unpaused container %s", container.name)

    def start(self, container_id: str) -> Replica:
        """Start the container (a running one is left alone) until it settles."""
        container = self._own(container_id, "start")
        if state_of(container.attrs) is not ReplicaState.RUNNING:
            with _boundary(container_id, "start"):
                with_engine_retry(container.start)
            logger.info("started container %s", container.name)
        return self._settled(container, "start")

    def restart(self, container_id: str, timeout: float) -> Replica:
        """Restart the container once, then wait until it settles."""
        container = self._own(container_id, "restart")
        with _boundary(container_id, "restart", sent_once=True):
            container.restart(timeout=math.ceil(max(timeout, 0)))
        logger.info("restarted container %s", container.name)
        return self._settled(container, "restart")

    def _own(self, container_id: str, action: str) -> engine.Container:
        """The container, if it is one of this controller's replicas."""
        with _boundary(container_id, action):
            container = engine.find(self._client, container_id)
        if container is None:
            raise ReplicaNotFound(container_id, action, "the engine has no such one")
        labels = labels_of(container.attrs)
        strangers = {k: v for k, v in self._scope.items() if labels.get(k) != v}
        if not is_managed(container.attrs) or strangers:
            raise ReplicaNotFound(
                container_id,
                action,
                f"container {container.name!r} is not a replica of this controller",
            )
        return container

    def _settled(self, container: engine.Container, action: str) -> Replica:
        """Poll until the container runs with an address, within SETTLE_WAIT."""
        deadline = time.monotonic() + SETTLE_WAIT
        for _ in range(math.ceil(SETTLE_WAIT / POLL_INTERVAL) + 1):
            with _boundary(container.id, action):
                with_engine_retry(container.reload)
            replica = replica_from(container.attrs, self._network)
            if replica is None:
                raise ReplicaNotFound(container.id, action, "it lost its labels")
            if replica.state in (ReplicaState.EXITED, ReplicaState.DEAD):
                raise ReplicaActionFailed(
                    container.id, action, _exited(container, replica)
                )
            if replica.state is ReplicaState.RUNNING and replica.address:
                return replica
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        raise ReplicaActionFailed(
            container.id,
            action,
            f"it was not running with an address {SETTLE_WAIT:g} s later",
        )


def _exited(container: engine.Container, replica: Replica) -> str:
    lines = engine.tail(container, 5).strip().splitlines()
    last = f"last log line {lines[-1]!r}" if lines else "no log lines"
    return f"it stopped right away (exit code {replica.exit_code}, {last})"


@contextmanager
def _boundary(
    container_id: str, action: str, *, sent_once: bool = False
) -> Iterator[None]:
    """Translate what the SDK raises into errors that name the container."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise ReplicaNotFound(container_id, action, engine.reason(exc)) from exc
    except docker.errors.APIError as exc:
        raise ReplicaActionFailed(container_id, action, engine.reason(exc)) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        # Whether a request that got no answer took effect is unknown.
        caveat = "; it may have taken effect and is not sent again" if sent_once else ""
        raise ReplicaActionFailed(
            container_id, action, f"no answer from the engine: {exc}{caveat}"
        ) from exc
