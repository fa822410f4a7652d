"""Fixtures for runtime tests against the real Docker engine.

Every image, container and network a test makes carries ``bgctl.test=true``
and this run's token, and is removed by the fixture that made it. Replicas
inherit both labels from the test image, so nothing else is ever touched.
A missing engine or base image fails the tests; it never skips them.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker  # type: ignore[import-untyped]
import httpx
import pytest

from controller.runtime.base import Image, ReplicaRequest
from controller.runtime.docker import DockerRuntime
from proxy.routes import Address, Color

BASE_IMAGE = "bgctl-base:bookworm"
APP_PORT = 8000
TEST_LABEL = "bgctl.test"
RUN_LABEL = "bgctl.test.run"
APP_DIR = Path(__file__).parent / "testapp"

DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY app.py /app.py
EXPOSE {APP_PORT}
CMD ["python3", "-u", "/app.py"]
"""

MakeRequest = Callable[..., ReplicaRequest]


@pytest.fixture(scope="session")
def run_token() -> str:
    """A token that marks everything this test run creates."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def test_labels(run_token: str) -> dict[str, str]:
    """The labels on every object the tests create."""
    return {TEST_LABEL: "true", RUN_LABEL: run_token}


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    """A client of the local engine; the tests fail if it does not answer."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the Docker engine is unreachable: {exc}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(
    engine: docker.DockerClient,
    test_labels: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The tag of a small HTTP app image built from the local base image."""
    try:
        engine.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"base image {BASE_IMAGE!r} is absent; build it with the offline "
            "base-image builder first",
            pytrace=False,
        )
    context = tmp_path_factory.mktemp("image")
    shutil.copy(APP_DIR / "app.py", context / "app.py")
    (context / "Dockerfile").write_text(DOCKERFILE)
    tag = f"bgctl-runtime-test:{test_labels[RUN_LABEL]}"
    image, _ = engine.images.build(
        path=str(context), tag=tag, labels=test_labels, rm=True, forcerm=True
    )
    yield tag
    engine.images.remove(image.id)


@pytest.fixture(scope="session")
def image(engine: docker.DockerClient, test_image: str) -> Image:
    """The test image as the runtime resolves it."""
    return DockerRuntime(engine).resolve_image(test_image)


@pytest.fixture(autouse=True)
def own_containers(
    engine: docker.DockerClient, test_labels: dict[str, str]
) -> Iterator[None]:
    """Remove, after each test, every container this run labelled."""
    yield
    remove_own_containers(engine, test_labels)


def remove_own_containers(
    engine: docker.DockerClient, test_labels: dict[str, str]
) -> None:
    """Force-remove the containers carrying this run's test labels."""
    wanted = [f"{key}={value}" for key, value in test_labels.items()]
    for container in engine.containers.list(all=True, filters={"label": wanted}):
        container.remove(force=True, v=True)


@pytest.fixture
def runtime(engine: docker.DockerClient) -> DockerRuntime:
    """A host-mode runtime on the shared client."""
    return DockerRuntime(engine)


@pytest.fixture
def service() -> str:
    """A service name no other test or run uses."""
    return f"rt-{secrets.token_hex(3)}"


@pytest.fixture
def make_request(image: Image, service: str) -> MakeRequest:
    """Build replica requests for the test image, defaults for one service."""

    def make(
        color: Color = Color.BLUE,
        index: int = 1,
        *,
        service: str = service,
        release: str = "r-20240101-a",
        **env: str,
    ) -> ReplicaRequest:
        return ReplicaRequest(
            service=service,
            color=color,
            release=release,
            index=index,
            image=image,
            container_port=APP_PORT,
            env=env,
        )

    return make


@pytest.fixture
def test_network(
    engine: docker.DockerClient, test_labels: dict[str, str]
) -> Iterator[str]:
    """The name of a user-defined network, as compose mode would have."""
    network = engine.networks.create(
        f"bgctl-runtime-test-{test_labels[RUN_LABEL]}", labels=test_labels
    )
    yield network.name
    remove_own_containers(engine, test_labels)  # a network in use cannot go
    network.remove()


@pytest.fixture
def fetch() -> Callable[[Address], str]:
    """GET / from a replica, waiting a little for it to listen."""

    def get(address: Address) -> str:
        error: Exception | None = None
        for _ in range(30):
            try:
                response = httpx.get(f"http://{address}/", timeout=2)
                response.raise_for_status()
                return response.text
            except httpx.HTTPError as exc:
                error = exc
                time.sleep(0.1)
        raise AssertionError(f"replica at {address} did not answer: {error}")

    return get
