"""Small, safe steps on single containers, and the edge where SDK errors end.

Each step retries transient failures under ``ENGINE_RETRY`` and treats a
container that has already gone as a goal reached. ``engine_boundary`` turns
whatever the Docker SDK still raises into an ``EngineError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import docker  # type: ignore[import-untyped]
import requests

from controller.runtime.errors import EngineError, EngineUnavailable
from controller.runtime.records import MANAGED, is_managed
from controller.runtime.retry import with_engine_retry

Container = Any  # docker.models.containers.Container; the SDK is untyped


def connect() -> Any:
    """A client configured from the environment, as the docker CLI would be."""
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"cannot reach the Docker engine: {exc}") from exc


@contextmanager
def engine_boundary(action: str) -> Iterator[None]:
    """Translate what the SDK raises while doing ``action`` into EngineError."""
    try:
        yield
    except docker.errors.APIError as exc:
        raise EngineError(f"{action} failed: {reason(exc)}") from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise EngineUnavailable(
            f"{action} failed: no answer from the engine: {exc}"
        ) from exc


def reason(exc: Any) -> str:
    """The engine's own words for an API error."""
    return str(getattr(exc, "explanation", None) or exc)


def find(client: Any, name_or_id: str) -> Container | None:
    """The container by that name or id, managed or not; None if none."""
    try:
        return with_engine_retry(client.containers.get, name_or_id)
    except docker.errors.NotFound:
        return None


def tail(container: Container, lines: int) -> str:
    """A managed container's last lines of output; empty once it is gone."""
    if not is_managed(container.attrs):
        return ""
    try:
        raw: bytes = with_engine_retry(
            container.logs, stdout=True, stderr=True, tail=lines
        )
    except docker.errors.NotFound:
        return ""
    return raw.decode("utf-8", errors="replace")


def stop(container: Container, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds (the engine's stop)."""
    # Removed by someone else meanwhile: the goal is reached all the same.
    with suppress(docker.errors.NotFound):
        with_engine_retry(container.stop, timeout=math.ceil(max(timeout, 0)))


def remove(container: Container) -> None:
    """Force-remove a managed container and its anonymous volumes."""
    if not is_managed(container.attrs):
        raise EngineError(
            f"refusing to remove container {container.short_id}: "
            f"it is not labelled {MANAGED}"
        )
    try:
        with_engine_retry(container.remove, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: a removal is already under way
            raise
