"""The sample images on the real engine: what they serve and what they carry.

The images come from scripts/build-images. A missing engine or image fails
the test with the command that fixes it; these tests never skip.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

import docker
import httpx
import pytest
from docker.models.containers import Container
from docker.models.images import Image

pytestmark = pytest.mark.engine

TEST_LABELS = {"bgctl.test": "true"}
RunSample = Callable[[str], Container]


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    """The Docker engine, or a failure saying why it cannot be used."""
    try:
        client = docker.from_env(version="auto", timeout=30)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the Docker engine does not answer ({exc}); start it first")
    return client


def require_image(engine: docker.DockerClient, name: str) -> Image:
    try:
        return engine.images.get(name)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {name} is missing; build it with scripts/build-images")


@pytest.fixture
def run_sample(engine: docker.DockerClient) -> Iterator[RunSample]:
    """Run a sample image on an ephemeral port of 127.0.0.1; removed after."""
    started: list[Container] = []

    def run(tag: str) -> Container:
        image = require_image(engine, f"bgctl-sample:{tag}")
        container = engine.containers.run(
            image.id,
            detach=True,
            name=f"bgctl-test-sample-{secrets.token_hex(4)}",
            labels=TEST_LABELS,
            ports={"8000/tcp": ("127.0.0.1", None)},
        )
        started.append(container)
        container.reload()
        return container

    yield run
    for container in started:
        container.remove(force=True)


def published_url(container: Container, path: str) -> str:
    port = container.ports["8000/tcp"][0]["HostPort"]
    return f"http://127.0.0.1:{port}{path}"


def wait_ready(container: Container, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(published_url(container, "/healthz"), timeout=2).is_success:
                return
        except httpx.TransportError:
            pass  # the app is not listening yet
        time.sleep(0.1)
    logs = container.logs().decode(errors="replace")
    pytest.fail(f"{container.name} was not ready within {timeout} s; logs:\n{logs}")


def test_v1_container_serves_v1_and_stops_cleanly(run_sample: RunSample) -> None:
    container = run_sample("v1")
    wait_ready(container, timeout=15)

    version = httpx.get(published_url(container, "/version"))
    root = httpx.get(published_url(container, "/"))
    stopping = time.monotonic()
    container.stop(timeout=10)
    stopped_after = time.monotonic() - stopping
    container.reload()

    assert version.text.strip() == "v1"
    assert root.json() == {"version": "v1", "hostname": container.id[:12]}
    assert container.attrs["State"]["ExitCode"] == 0
    assert stopped_after < 5
    assert b"drained, exiting with code 0" in container.logs()


def test_crash_variant_exits_with_code_1(run_sample: RunSample) -> None:
    container = run_sample("crash")

    result = container.wait(timeout=15)

    assert result["StatusCode"] == 1
    assert b"crashing on purpose: SAMPLE_CRASH_AFTER=2" in container.logs()


@pytest.mark.parametrize(
    ("tag", "knob"),
    [
        ("v1", "SAMPLE_HEALTH_FAIL=0"),
        ("v2", "SAMPLE_HEALTH_FAIL=0"),
        ("unready", "SAMPLE_HEALTH_FAIL=1"),
        ("crash", "SAMPLE_CRASH_AFTER=2"),
        ("slow", "SAMPLE_STARTUP_DELAY=5"),
        ("errors", "SAMPLE_ERROR_RATE=0.5"),
        ("laggy", "SAMPLE_LATENCY_MS=500"),
    ],
)
def test_sample_image_carries_its_version_and_knob(
    engine: docker.DockerClient, tag: str, knob: str
) -> None:
    config = require_image(engine, f"bgctl-sample:{tag}").attrs["Config"]

    assert f"APP_VERSION={tag}" in config["Env"]
    assert knob in config["Env"]
    assert config["Labels"]["bgctl.sample"] == "true"
    assert config["User"] == "sample"
