"""What the controller needs from a container runtime."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from proxy.routes import Address, Color

LABEL_MANAGED = "bgctl.managed"
LABEL_SERVICE = "bgctl.service"
LABEL_COLOR = "bgctl.color"
LABEL_RELEASE = "bgctl.release"
LABEL_REPLICA = "bgctl.replica"
LABEL_CONTROLLER = "bgctl.controller"  # the controller that owns it
LABEL_IMAGE = "bgctl.image"  # the reference the release asked for
LABEL_PORT = "bgctl.port"  # the container port the proxy reaches


@dataclass(frozen=True)
class Image:
    """An image reference resolved to the exact artifact that will run."""

    reference: str  # what the user asked for, e.g. "bgctl-sample:v2"
    image_id: str  # "sha256:...", what containers are started from
    repo_digest: str | None = None  # "repo@sha256:..." when a registry knows it


@dataclass(frozen=True)
class ReplicaRequest:
    """Everything needed to start one replica of one colour."""

    service: str
    color: Color
    release: str
    index: int  # 1-based slot within the colour
    image: Image
    container_port: int
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # beside ours


class ReplicaState(enum.StrEnum):
    """What the engine says about a replica's container."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"  # stopped or crashed; see exit_code
    DEAD = "dead"
    MISSING = "missing"  # the engine no longer knows the container


@dataclass(frozen=True)
class Replica:
    """One running (or once running) container of a colour."""

    container_id: str
    name: str
    service: str
    color: Color
    release: str
    index: int
    image_id: str
    state: ReplicaState
    address: Address | None  # where the proxy reaches it; None if not running
    started_at: datetime | None = None
    exit_code: int | None = None


class ContainerRuntime(Protocol):
    """Starts, finds and stops the labelled containers of every colour."""

    def resolve_image(self, reference: str) -> Image:
        """Resolve a reference to the image that will run; ImageNotFound if none."""

    def start_replica(self, request: ReplicaRequest) -> Replica:
        """Create and start one labelled container; ReplicaStartError on failure."""

    def inspect(self, container_id: str) -> Replica:
        """The replica's current state; MISSING if the engine lost it."""

    def list_replicas(
        self, service: str | None = None, color: Color | None = None
    ) -> list[Replica]:
        """Every managed container, narrowed by service and colour."""

    def logs(self, container_id: str, tail: int = 20) -> str:
        """The last lines the container wrote, stdout and stderr together."""

    def stop_replica(self, container_id: str, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds, then remove it."""

    # Chaos actions: each acts only on this controller's replicas, and each
    # raises ReplicaActionFailed (ReplicaNotFound for a stranger) naming it.

    def kill(self, container_id: str, signal: str) -> None:
        """Send ``signal`` to the container's main process, once."""

    def halt(self, container_id: str, timeout: float) -> None:
        """Stop the container (SIGTERM, SIGKILL after ``timeout``); keep it."""

    def pause(self, container_id: str) -> None:
        """Freeze every process of the container."""

    def unpause(self, container_id: str) -> None:
        """Thaw a paused container; one that is not paused is left as it is."""

    def start(self, container_id: str) -> Replica:
        """Start a stopped container and wait until it runs with an address."""

    def restart(self, container_id: str, timeout: float) -> Replica:
        """Stop and start the container; wait until it runs with an address."""
