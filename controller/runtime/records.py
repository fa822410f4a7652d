"""Replicas read from, and labels written to, the engine's container records.

The engine describes a container as the nested mapping ``docker inspect``
prints. This module turns such a record into a ``Replica`` and builds the
name and labels the runtime gives a new container, so the mapping can be
checked without an engine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from controller.runtime.base import (
    LABEL_COLOR,
    LABEL_IMAGE,
    LABEL_MANAGED,
    LABEL_PORT,
    LABEL_RELEASE,
    LABEL_REPLICA,
    LABEL_SERVICE,
    Replica,
    ReplicaRequest,
    ReplicaState,
)
from proxy.routes import Address, Color

logger = logging.getLogger(__name__)

Record = Mapping[str, Any]
"""One container as the engine's inspect call returns it."""

MANAGED = f"{LABEL_MANAGED}=true"
"""The label filter every engine query of the runtime starts from."""

RELEASE_CHARS = 12  # of the release id that go into a container name

_STATES = {
    "created": ReplicaState.CREATED,
    "running": ReplicaState.RUNNING,
    "paused": ReplicaState.PAUSED,
    "restarting": ReplicaState.RESTARTING,
    "removing": ReplicaState.EXITED,  # stopped, and about to be forgotten
    "exited": ReplicaState.EXITED,
    "dead": ReplicaState.DEAD,
}
_NEVER = "0001-01-01T00:00:00Z"  # the engine's zero time: never started
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
_REACHABLE = (ReplicaState.RUNNING, ReplicaState.PAUSED)
_STOPPED = (ReplicaState.EXITED, ReplicaState.DEAD)


def container_name(request: ReplicaRequest) -> str:
    """``bgctl-<service>-<color>-<index>-<release>``, safe for the engine."""
    release = _UNSAFE.sub("-", request.release)[:RELEASE_CHARS]
    service = _UNSAFE.sub("-", request.service)
    return f"bgctl-{service}-{request.color}-{request.index}-{release}"


def labels_for(request: ReplicaRequest) -> dict[str, str]:
    """The labels that make a container a replica the controller manages."""
    return {
        **request.labels,
        LABEL_MANAGED: "true",
        LABEL_SERVICE: request.service,
        LABEL_COLOR: str(request.color),
        LABEL_RELEASE: request.release,
        LABEL_REPLICA: str(request.index),
        LABEL_IMAGE: request.image.reference,
        LABEL_PORT: str(request.container_port),
    }


def labels_of(record: Record) -> Mapping[str, str]:
    """A record's labels, empty when it has none."""
    labels: Mapping[str, str] | None = record.get("Config", {}).get("Labels")
    return labels or {}


def is_managed(record: Record) -> bool:
    """Whether the controller created this container."""
    return labels_of(record).get(LABEL_MANAGED) == "true"


def replica_from(record: Record, network: str | None = None) -> Replica | None:
    """The replica a record describes; None if it is not a managed replica.

    With ``network`` the address is the container's own on that network;
    without, it is the host port the engine published.
    """
    labels = labels_of(record)
    if labels.get(LABEL_MANAGED) != "true":
        return None
    try:
        return _replica(record, labels, network)
    except (KeyError, ValueError) as exc:
        logger.warning(
            "container %s is labelled %s but its labels are unusable (%s): %s",
            record.get("Id", "?")[:12],
            MANAGED,
            exc,
            dict(labels),
        )
        return None


def _replica(record: Record, labels: Mapping[str, str], network: str | None) -> Replica:
    state = state_of(record)
    port = int(labels[LABEL_PORT])
    reachable = state in _REACHABLE
    return Replica(
        container_id=record["Id"],
        name=record["Name"].lstrip("/"),
        service=labels[LABEL_SERVICE],
        color=Color(labels[LABEL_COLOR]),
        release=labels[LABEL_RELEASE],
        index=int(labels[LABEL_REPLICA]),
        image_id=record["Image"],
        state=state,
        address=address_of(record, port, network) if reachable else None,
        started_at=started_at(record),
        exit_code=record["State"]["ExitCode"] if state in _STOPPED else None,
    )


def state_of(record: Record) -> ReplicaState:
    """The replica state for the engine's container status."""
    status = record["State"]["Status"]
    state = _STATES.get(status)
    if state is None:
        logger.warning("container status %r is unknown; reading it as dead", status)
        return ReplicaState.DEAD
    return state


def started_at(record: Record) -> datetime | None:
    """When the container last started; None if it never has."""
    value: str = record["State"].get("StartedAt") or _NEVER
    return None if value == _NEVER else datetime.fromisoformat(value)


def address_of(record: Record, port: int, network: str | None) -> Address | None:
    """Where the proxy reaches the container's ``port``; None if not yet known."""
    settings = record.get("NetworkSettings") or {}
    if network is not None:
        return _network_address(settings, port, network)
    return _published_address(settings, port)


def _network_address(
    settings: Mapping[str, Any], port: int, network: str
) -> Address | None:
    networks: Mapping[str, Any] = settings.get("Networks") or {}
    for name, endpoint in networks.items():
        if network in (name, endpoint.get("NetworkID")) and endpoint["IPAddress"]:
            return Address(endpoint["IPAddress"], port)
    return None


def _published_address(settings: Mapping[str, Any], port: int) -> Address | None:
    bindings = (settings.get("Ports") or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        host: str = binding.get("HostIp") or "0.0.0.0"
        if ":" in host or not binding.get("HostPort"):
            continue  # an IPv6 twin of the IPv4 binding, or none yet
        # A wildcard binding is reached, like the rest, on the loopback.
        return Address(
            "127.0.0.1" if host == "0.0.0.0" else host, int(binding["HostPort"])
        )
    return None
