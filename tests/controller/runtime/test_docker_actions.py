"""Chaos actions on replicas: kill, halt, pause, unpause, start, restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker  # type: ignore[import-untyped]
import httpx
import pytest
import requests

from controller.runtime.actions import ReplicaActions
from controller.runtime.base import LABEL_CONTROLLER, ReplicaRequest, ReplicaState
from controller.runtime.docker import DockerRuntime
from controller.runtime.errors import ReplicaActionFailed, ReplicaNotFound
from proxy.routes import Address

pytestmark = pytest.mark.engine

Fetch = Callable[[Address], str]
MakeRequest = Callable[..., ReplicaRequest]


def engine_state(engine: docker.DockerClient, container_id: str) -> str:
    status: str = engine.containers.get(container_id).attrs["State"]["Status"]
    return status


def test_kill_then_start_brings_the_replica_back_on_its_new_address(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    fetch: Fetch,
) -> None:
    replica = runtime.start_replica(make_request(GREETING="back"))

    runtime.kill(replica.container_id, "SIGKILL")
    killed = engine.containers.get(replica.container_id).attrs["State"]
    assert (killed["Status"], killed["ExitCode"]) == ("exited", 137)
    assert runtime.inspect(replica.container_id).address is None

    again = runtime.start(replica.container_id)

    assert again.state is ReplicaState.RUNNING
    assert again.address is not None
    assert again.address == runtime.inspect(replica.container_id).address
    assert fetch(again.address).startswith("back from ")


def test_kill_sends_the_signal_asked_for(
    runtime: DockerRuntime, engine: docker.DockerClient, make_request: MakeRequest
) -> None:
    replica = runtime.start_replica(make_request())

    runtime.kill(replica.container_id, "SIGTERM")

    state = engine.containers.get(replica.container_id).wait(timeout=10)
    assert state["StatusCode"] == 0  # the app's SIGTERM handler exits cleanly


def test_halt_keeps_the_container_and_start_runs_it_again(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    fetch: Fetch,
) -> None:
    replica = runtime.start_replica(make_request())

    runtime.halt(replica.container_id, timeout=5)
    runtime.halt(replica.container_id, timeout=5)  # already stopped: harmless

    assert engine_state(engine, replica.container_id) == "exited"
    again = runtime.start(replica.container_id)
    assert again.address is not None
    fetch(again.address)
    assert runtime.start(replica.container_id).address == again.address


def test_pause_freezes_the_replica_until_unpause(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    fetch: Fetch,
) -> None:
    replica = runtime.start_replica(make_request())
    assert replica.address is not None
    fetch(replica.address)

    runtime.pause(replica.container_id)
    runtime.pause(replica.container_id)  # already paused: harmless

    assert engine_state(engine, replica.container_id) == "paused"
    with pytest.raises(httpx.TimeoutException):
        httpx.get(f"http://{replica.address}/", timeout=0.5)
    runtime.unpause(replica.container_id)
    runtime.unpause(replica.container_id)  # not paused: harmless
    assert engine_state(engine, replica.container_id) == "running"
    fetch(replica.address)


def test_restart_runs_the_replica_again_with_a_fresh_start_time(
    runtime: DockerRuntime, make_request: MakeRequest, fetch: Fetch
) -> None:
    replica = runtime.start_replica(make_request())

    again = runtime.restart(replica.container_id, timeout=5)

    assert again.state is ReplicaState.RUNNING and again.address is not None
    assert again.started_at and replica.started_at
    assert again.started_at > replica.started_at
    fetch(again.address)


def test_a_container_bgctl_did_not_create_is_never_touched(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    test_image: str,
    test_labels: dict[str, str],
) -> None:
    stranger = engine.containers.run(test_image, detach=True, labels=test_labels)

    for act in (
        lambda cid: runtime.kill(cid, "SIGKILL"),
        lambda cid: runtime.halt(cid, 1),
        runtime.pause,
        lambda cid: runtime.restart(cid, 1),
    ):
        with pytest.raises(ReplicaNotFound, match=stranger.id[:12]):
            act(stranger.id)

    assert engine_state(engine, stranger.id) == "running"


def test_another_controllers_replica_is_never_touched(
    engine: docker.DockerClient, make_request: MakeRequest
) -> None:
    mine = DockerRuntime(engine, scope={LABEL_CONTROLLER: "one"})
    theirs = DockerRuntime(engine, scope={LABEL_CONTROLLER: "two"})
    request = make_request()
    replica = mine.start_replica(
        ReplicaRequest(**{**request.__dict__, "labels": {LABEL_CONTROLLER: "one"}})
    )

    with pytest.raises(ReplicaNotFound, match="not a replica of this controller"):
        theirs.kill(replica.container_id, "SIGKILL")

    assert engine_state(engine, replica.container_id) == "running"
    mine.pause(replica.container_id)
    assert engine_state(engine, replica.container_id) == "paused"


def test_an_unknown_id_is_not_found_and_a_refusal_names_the_container(
    runtime: DockerRuntime, make_request: MakeRequest
) -> None:
    with pytest.raises(ReplicaNotFound, match="0000000000"):
        runtime.start("0" * 64)

    replica = runtime.start_replica(make_request())
    runtime.halt(replica.container_id, timeout=5)
    with pytest.raises(ReplicaActionFailed) as caught:
        runtime.kill(replica.container_id, "SIGKILL")  # the engine: not running
    assert caught.value.container_id == replica.container_id
    assert replica.container_id[:12] in str(caught.value)


class FlakyContainer:
    """A managed container whose engine fails every kill with a 500."""

    id = "f" * 64
    name = "bgctl-flaky"
    attrs: dict[str, Any] = {  # noqa: RUF012 - read-only test data
        "Config": {"Labels": {"bgctl.managed": "true"}},
        "State": {"Status": "running"},
    }

    def __init__(self) -> None:
        self.kills = 0

    def kill(self, signal: str) -> None:
        self.kills += 1
        response = requests.Response()
        response.status_code = 500
        raise docker.errors.APIError("boom", response=response, explanation="boom")


class OneContainerClient:
    def __init__(self, container: FlakyContainer) -> None:
        self.containers = self
        self._container = container

    def get(self, container_id: str) -> FlakyContainer:
        return self._container


def test_a_failed_kill_is_reported_and_never_sent_again() -> None:
    container = FlakyContainer()
    actions = ReplicaActions(OneContainerClient(container), {}, None)

    with pytest.raises(ReplicaActionFailed, match="kill with SIGTERM of container"):
        actions.kill(container.id, "SIGTERM")

    assert container.kills == 1
