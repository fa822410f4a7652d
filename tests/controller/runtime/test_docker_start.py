"""Starting replicas: addresses, labels, name clashes and early exits."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import docker  # type: ignore[import-untyped]
import pytest

from controller.runtime.base import ReplicaRequest, ReplicaState
from controller.runtime.docker import DockerRuntime
from controller.runtime.errors import ReplicaStartError
from controller.runtime.records import container_name
from proxy.routes import Address, Color

pytestmark = pytest.mark.engine

Fetch = Callable[[Address], str]
MakeRequest = Callable[..., ReplicaRequest]


def test_two_replicas_answer_on_their_reported_loopback_ports(
    runtime: DockerRuntime, make_request: MakeRequest, fetch: Fetch
) -> None:
    first = runtime.start_replica(make_request(index=1, GREETING="hi one"))
    second = runtime.start_replica(make_request(index=2, GREETING="hi two"))

    assert first.address is not None and second.address is not None
    assert first.address.host == second.address.host == "127.0.0.1"
    assert first.address.port != second.address.port
    assert fetch(first.address).startswith("hi one from ")
    assert fetch(second.address).startswith("hi two from ")


def test_started_replica_carries_every_label_and_runs_the_image_id(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    test_image: str,
) -> None:
    request = make_request(Color.GREEN, 2, release="r-20240101-a")

    replica = runtime.start_replica(request)

    attrs = engine.containers.get(replica.container_id).attrs
    labels = attrs["Config"]["Labels"]
    assert labels["bgctl.managed"] == "true"
    assert labels["bgctl.service"] == request.service
    assert labels["bgctl.color"] == "green"
    assert labels["bgctl.release"] == "r-20240101-a"
    assert labels["bgctl.replica"] == "2"
    assert labels["bgctl.image"] == test_image
    assert labels["bgctl.test"] == "true"  # inherited, so the fixtures clean up
    assert attrs["Config"]["Image"] == request.image.image_id
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    assert replica.name == f"bgctl-{request.service}-green-2-r-20240101-a"
    assert replica.state is ReplicaState.RUNNING
    assert replica.started_at is not None
    assert replica.exit_code is None


def test_replica_that_exits_at_once_raises_with_its_last_log_line(
    runtime: DockerRuntime, engine: docker.DockerClient, make_request: MakeRequest
) -> None:
    request = make_request(APP_MODE="crash")

    with pytest.raises(ReplicaStartError) as caught:
        runtime.start_replica(request)

    assert "fatal: APP_CONFIG is not set" in caught.value.logs
    assert "fatal: APP_CONFIG is not set" in str(caught.value)
    assert "exit code 3" in str(caught.value)
    assert runtime.list_replicas(service=request.service) == []


def test_name_clash_with_a_stale_replica_replaces_it(
    runtime: DockerRuntime, make_request: MakeRequest, fetch: Fetch
) -> None:
    stale = runtime.start_replica(make_request())

    fresh = runtime.start_replica(make_request(GREETING="fresh"))

    assert fresh.container_id != stale.container_id
    assert runtime.inspect(stale.container_id).state is ReplicaState.MISSING
    assert fresh.address is not None
    assert fetch(fresh.address).startswith("fresh from ")


def test_name_clash_with_a_foreign_container_leaves_it_alone(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    test_image: str,
    test_labels: dict[str, str],
) -> None:
    request = make_request()
    name = container_name(request)
    foreign = engine.containers.create(test_image, name=name, labels=test_labels)

    with pytest.raises(ReplicaStartError, match="does not manage"):
        runtime.start_replica(request)

    assert engine.containers.get(name).id == foreign.id
    foreign.remove(force=True)


def test_network_mode_reports_the_container_address_on_that_network(
    engine: docker.DockerClient,
    make_request: MakeRequest,
    test_network: str,
    fetch: Fetch,
) -> None:
    runtime = DockerRuntime(engine, network=test_network)

    replica = runtime.start_replica(make_request(GREETING="on the network"))

    subnet = engine.networks.get(test_network).attrs["IPAM"]["Config"][0]["Subnet"]
    assert replica.address is not None
    assert ipaddress.ip_address(replica.address.host) in ipaddress.ip_network(subnet)
    assert replica.address.port == 8000
    assert runtime.inspect(replica.container_id).address == replica.address
    assert fetch(replica.address).startswith("on the network from ")
