"""Reading replicas out of container records, without an engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from controller.runtime.base import Image, ReplicaRequest, ReplicaState
from controller.runtime.records import container_name, labels_for, replica_from
from proxy.routes import Address, Color

IMAGE = Image("web:v2", "sha256:" + "ab" * 32)


def request(release: str = "r-1", service: str = "web") -> ReplicaRequest:
    return ReplicaRequest(service, Color.GREEN, release, 2, IMAGE, 8080)


def record(status: str = "running", **overrides: Any) -> dict[str, Any]:
    """A trimmed inspect record of a managed green replica."""
    base: dict[str, Any] = {
        "Id": "c0ffee" * 10 + "abcd",
        "Name": "/bgctl-web-green-2-r-1",
        "Image": IMAGE.image_id,
        "Config": {"Labels": labels_for(request())},
        "State": {
            "Status": status,
            "ExitCode": 0,
            "StartedAt": "2024-05-01T10:00:00.123456789Z",
        },
        "NetworkSettings": {
            "Ports": {
                "8080/tcp": [
                    {"HostIp": "127.0.0.1", "HostPort": "32801"},
                ]
            },
            "Networks": {"bgctl": {"NetworkID": "n" * 64, "IPAddress": "10.9.0.4"}},
        },
    }
    return base | overrides


def test_container_name_keeps_service_colour_index_and_a_short_release() -> None:
    name = container_name(request(release="3f2a9c1e-77aa-4e0b-9d1c"))

    assert name == "bgctl-web-green-2-3f2a9c1e-77a"


def test_container_name_replaces_characters_the_engine_rejects() -> None:
    assert container_name(request(release="v1/2 rc")) == "bgctl-web-green-2-v1-2-rc"


def test_running_record_reads_as_a_replica_on_its_published_port() -> None:
    replica = replica_from(record())

    assert replica is not None
    assert replica.name == "bgctl-web-green-2-r-1"
    assert (replica.service, replica.color, replica.index) == ("web", Color.GREEN, 2)
    assert replica.state is ReplicaState.RUNNING
    assert replica.address == Address("127.0.0.1", 32801)
    assert replica.started_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert replica.exit_code is None


def test_network_mode_reads_the_address_on_that_network() -> None:
    replica = replica_from(record(), network="bgctl")

    assert replica is not None
    assert replica.address == Address("10.9.0.4", 8080)


def test_wildcard_binding_is_reached_on_the_loopback_and_ipv6_is_skipped() -> None:
    ports = {
        "8080/tcp": [
            {"HostIp": "::", "HostPort": "32900"},
            {"HostIp": "0.0.0.0", "HostPort": "32901"},
        ]
    }
    replica = replica_from(record(NetworkSettings={"Ports": ports}))

    assert replica is not None
    assert replica.address == Address("127.0.0.1", 32901)


def test_exited_record_has_an_exit_code_and_no_address() -> None:
    never = {"Status": "exited", "ExitCode": 3, "StartedAt": "0001-01-01T00:00:00Z"}
    replica = replica_from(record(State=never))

    assert replica is not None
    assert replica.state is ReplicaState.EXITED
    assert replica.exit_code == 3
    assert replica.address is None
    assert replica.started_at is None


def test_unknown_engine_status_reads_as_dead() -> None:
    replica = replica_from(record("hibernating"))

    assert replica is not None
    assert replica.state is ReplicaState.DEAD


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"bgctl.managed": "false"},
        labels_for(request()) | {"bgctl.color": "purple"},
        labels_for(request()) | {"bgctl.replica": "first"},
    ],
)
def test_record_without_usable_bgctl_labels_is_not_a_replica(
    labels: dict[str, str],
) -> None:
    assert replica_from(record(Config={"Labels": labels})) is None
