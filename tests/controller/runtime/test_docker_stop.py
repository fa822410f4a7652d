"""Stopping replicas, and what inspect and logs say afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable

import docker  # type: ignore[import-untyped]
import pytest

from controller.runtime.base import ReplicaRequest, ReplicaState
from controller.runtime.docker import DockerRuntime

pytestmark = pytest.mark.engine

MakeRequest = Callable[..., ReplicaRequest]


def exit_codes(
    engine: docker.DockerClient, container_id: str, since: float
) -> list[int]:
    """The exit codes the engine reported for a container since ``since``."""
    events = engine.events(
        since=since,
        until=time.time(),
        filters={"container": container_id, "event": "die"},
        decode=True,
    )
    return [int(event["Actor"]["Attributes"]["exitCode"]) for event in events]


def test_stop_replica_lets_the_process_exit_cleanly_on_sigterm(
    runtime: DockerRuntime, engine: docker.DockerClient, make_request: MakeRequest
) -> None:
    replica = runtime.start_replica(make_request())
    began = time.time()

    runtime.stop_replica(replica.container_id, timeout=10)

    assert time.time() - began < 5  # well before SIGKILL was due
    assert exit_codes(engine, replica.container_id, began) == [0]
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(replica.container_id)


def test_stop_replica_kills_a_process_that_ignores_sigterm_after_the_timeout(
    runtime: DockerRuntime, engine: docker.DockerClient, make_request: MakeRequest
) -> None:
    replica = runtime.start_replica(make_request(APP_MODE="stubborn"))
    began = time.time()

    runtime.stop_replica(replica.container_id, timeout=1)

    assert 1 <= time.time() - began < 8
    assert exit_codes(engine, replica.container_id, began) == [137]


def test_stop_replica_twice_or_of_an_unknown_id_is_harmless(
    runtime: DockerRuntime, make_request: MakeRequest
) -> None:
    replica = runtime.start_replica(make_request())

    runtime.stop_replica(replica.container_id, timeout=5)
    runtime.stop_replica(replica.container_id, timeout=5)
    runtime.stop_replica("0" * 64, timeout=5)

    assert runtime.list_replicas(service=replica.service) == []


def test_inspect_of_a_removed_replica_is_missing_with_its_identity(
    runtime: DockerRuntime, make_request: MakeRequest
) -> None:
    replica = runtime.start_replica(make_request())
    runtime.stop_replica(replica.container_id, timeout=5)

    gone = runtime.inspect(replica.container_id)

    assert gone.state is ReplicaState.MISSING
    assert gone.address is None
    assert (gone.service, gone.color, gone.index) == (
        replica.service,
        replica.color,
        replica.index,
    )


def test_inspect_of_an_id_never_seen_is_missing(
    engine: docker.DockerClient,
) -> None:
    fresh_runtime = DockerRuntime(engine)

    assert fresh_runtime.inspect("0" * 64).state is ReplicaState.MISSING


def test_logs_returns_the_last_lines_and_nothing_once_removed(
    runtime: DockerRuntime, make_request: MakeRequest
) -> None:
    replica = runtime.start_replica(make_request())

    assert "serving on port 8000" in runtime.logs(replica.container_id, tail=5)

    runtime.stop_replica(replica.container_id, timeout=5)
    assert runtime.logs(replica.container_id) == ""
