"""Errors raised by container runtimes.

EngineError
├── ImageNotFound         the reference names no image the engine has
├── ReplicaStartError     a container could not be created or started
├── ReplicaActionFailed   kill, halt, pause, unpause, start or restart failed
│   └── ReplicaNotFound   no such container, or not one of this controller's
└── EngineUnavailable     the engine did not answer, even after retries
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error a container runtime raises."""


class ImageNotFound(EngineError):
    """The engine has no image by that reference."""

    def __init__(self, reference: str, reason: str = "") -> None:
        message = f"image {reference!r} was not found on the engine"
        super().__init__(f"{message}: {reason}" if reason else message)
        self.reference = reference


class ReplicaStartError(EngineError):
    """A replica's container failed to start; ``logs`` holds its last lines."""

    def __init__(self, message: str, logs: str = "") -> None:
        super().__init__(message)
        self.logs = logs


class EngineUnavailable(EngineError):
    """The engine could not be reached."""


class ReplicaActionFailed(EngineError):
    """An action on one replica's container failed; names the container."""

    def __init__(self, container_id: str, action: str, reason: str) -> None:
        super().__init__(f"{action} of container {container_id[:12]} failed: {reason}")
        self.container_id = container_id
        self.action = action
        self.reason = reason


class ReplicaNotFound(ReplicaActionFailed):
    """The engine has no such container, or it is not this controller's replica."""
