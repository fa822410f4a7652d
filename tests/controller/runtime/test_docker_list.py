"""Listing replicas by service and colour, blind to unlabelled containers."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import docker  # type: ignore[import-untyped]
import pytest

from controller.runtime.base import ReplicaRequest, ReplicaState
from controller.runtime.docker import DockerRuntime
from proxy.routes import Color

pytestmark = pytest.mark.engine

MakeRequest = Callable[..., ReplicaRequest]


@pytest.fixture
def web_backup(
    engine: docker.DockerClient, test_image: str, test_labels: dict[str, str]
) -> Iterator[docker.models.containers.Container]:
    """A running container without bgctl labels, as an operator might keep."""
    container = engine.containers.run(
        test_image,
        name=f"web-backup-{secrets.token_hex(3)}",
        labels=test_labels,
        detach=True,
    )
    yield container
    container.remove(force=True)


def test_list_replicas_narrows_by_service_and_colour(
    runtime: DockerRuntime, make_request: MakeRequest, service: str
) -> None:
    other = f"{service}-other"
    blue = runtime.start_replica(make_request(Color.BLUE, 1))
    green = runtime.start_replica(make_request(Color.GREEN, 1))
    elsewhere = runtime.start_replica(make_request(Color.BLUE, 1, service=other))

    mine = runtime.list_replicas(service=service)
    mine_blue = runtime.list_replicas(service=service, color=Color.BLUE)
    all_blue = runtime.list_replicas(color=Color.BLUE)

    assert [r.container_id for r in mine] == [blue.container_id, green.container_id]
    assert [r.container_id for r in mine_blue] == [blue.container_id]
    assert {blue.container_id, elsewhere.container_id} <= {
        r.container_id for r in all_blue
    }
    assert green.container_id not in {r.container_id for r in all_blue}
    assert all(r.state is ReplicaState.RUNNING for r in mine)
    assert mine[0].address == blue.address


def test_list_replicas_reports_a_stopped_replica_with_its_exit_code(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    service: str,
) -> None:
    replica = runtime.start_replica(make_request())
    engine.containers.get(replica.container_id).stop(timeout=5)

    (listed,) = runtime.list_replicas(service=service)

    assert listed.state is ReplicaState.EXITED
    assert listed.exit_code == 0
    assert listed.address is None


def test_unlabelled_container_is_invisible_and_untouched(
    runtime: DockerRuntime, web_backup: docker.models.containers.Container
) -> None:
    listed = {r.container_id for r in runtime.list_replicas()}

    runtime.stop_replica(web_backup.id, timeout=1)

    assert web_backup.id not in listed
    assert runtime.inspect(web_backup.id).state is ReplicaState.MISSING
    assert runtime.logs(web_backup.id) == ""
    web_backup.reload()
    assert web_backup.status == "running"
