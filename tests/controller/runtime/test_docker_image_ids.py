"""Reading back from the engine which image each replica runs."""

from __future__ import annotations

from collections.abc import Callable

import docker  # type: ignore[import-untyped]
import pytest

from controller.integrity import image_mismatches
from controller.runtime.base import Image, ReplicaRequest
from controller.runtime.docker import DockerRuntime
from tests.controller.runtime.conftest import BASE_IMAGE

pytestmark = pytest.mark.engine

MakeRequest = Callable[..., ReplicaRequest]


def test_a_replica_reads_back_the_image_id_it_was_started_from(
    runtime: DockerRuntime, make_request: MakeRequest, image: Image, service: str
) -> None:
    started = runtime.start_replica(make_request())

    (listed,) = runtime.list_replicas(service=service)

    assert started.image_id == image.image_id
    assert runtime.inspect(started.container_id).image_id == image.image_id
    assert listed.image_id == image.image_id
    assert image_mismatches(image.image_id, [started], [listed]) == []


def test_a_container_with_a_replicas_labels_but_another_image_reads_back_as_such(
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    make_request: MakeRequest,
    image: Image,
    service: str,
) -> None:
    started = runtime.start_replica(make_request())
    labels = engine.containers.get(started.container_id).labels
    impostor = engine.containers.run(
        BASE_IMAGE,
        ["sleep", "30"],
        name=f"impostor-{service}",
        labels=labels | {"bgctl.replica": "9"},
        detach=True,
    )
    base_id = engine.images.get(BASE_IMAGE).id

    found = runtime.list_replicas(service=service)
    (mismatch,) = image_mismatches(image.image_id, [started], found)

    assert {r.container_id for r in found} == {started.container_id, impostor.id}
    assert (mismatch.replica, mismatch.found) == (f"impostor-{service}", base_id)
    assert mismatch.expected == image.image_id
