"""The stack as containers: compose brings it up, a release goes through the
published API and the published frontends, and teardown leaves nothing.

The stack's image (``bgctl-stack:local``) stays cached between runs; it is
labelled ``bgctl.compose`` and rebuilt by ``compose/stack build`` whenever
its wheels or files change. Everything else is made for one test and
removed by it: the project's containers, network and volumes, and the
replicas its controller started.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import yaml

from tests.harness import engine, free_port

pytestmark = pytest.mark.engine

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "compose"
ENDPOINTS = ("live", "preview", "blue", "green")
PROJECT_LABEL = "bgctl.compose.project"
BUILD_TIMEOUT = 600  # a first build makes wheels and the image; cached, seconds
READY_TIMEOUT = 60
PHASE_TIMEOUT = 60


def compose_program() -> list[str]:
    """``docker compose`` where the plugin exists, else ``docker-compose``."""
    plugin = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    )
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("this test needs docker compose or docker-compose; neither is here")


@dataclass
class Stack:
    """One compose project of the stack, and a client of its published API."""

    project: str
    ports: dict[str, int]
    token: str
    program: list[str]

    @property
    def env(self) -> dict[str, str]:
        variables = {
            "COMPOSE_PROJECT_NAME": self.project,
            "BGCTL_STACK_TOKENS": f"admin pytest {self.token}",
        }
        for name, port in self.ports.items():
            variables[f"BGCTL_STACK_{name.upper()}_PORT"] = str(port)
        return variables

    def compose(self, *args: str, timeout: float = 120) -> None:
        """Run one compose command for the project; fail with its output."""
        command = [
            *self.program,
            "--project-directory",
            str(COMPOSE_DIR),
            "-f",
            str(COMPOSE_DIR / "docker-compose.yml"),
            "-p",
            self.project,
            *args,
        ]
        run(command, self.env, timeout)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the controller's published API, as its admin."""
        return httpx.request(
            method,
            f"http://127.0.0.1:{self.ports['api']}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            **kwargs,
        )

    def frontend(self, endpoint: str) -> tuple[str, str]:
        """The (version, colour) a published frontend answers with."""
        response = httpx.get(
            f"http://127.0.0.1:{self.ports[endpoint]}/version", timeout=5
        )
        assert response.status_code == 200, response.text
        return response.text.strip(), response.headers.get("x-bgctl-color", "")


def run(command: list[str], env: dict[str, str], timeout: float) -> None:
    """Run a command with extra variables; fail with its output if it fails."""
    done = subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The stack up under a project of its own; torn down with its replicas."""
    client = engine()
    program = compose_program()
    wheels_from = {"BGCTL_PYTHON": sys.executable}  # this venv builds the wheels
    run([str(COMPOSE_DIR / "stack"), "build"], wheels_from, BUILD_TIMEOUT)
    ports = {name: free_port() for name in ("api", *ENDPOINTS)}
    up = Stack(
        f"bgctltest{secrets.token_hex(4)}", ports, secrets.token_hex(16), program
    )
    try:
        up.compose("up", "-d")
        wait_ready(up)
        yield up
    finally:
        tear_down(up, client)


def wait_ready(stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if stack.api("GET", "/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the stack's controller was not ready within {READY_TIMEOUT}s")


def tear_down(stack: Stack, client: docker.DockerClient) -> None:
    """Stop the controller, remove its replicas, then the compose project."""
    stack.compose("stop", "controller")
    for replica in labelled(client, stack.project, "bgctl.managed=true"):
        replica.remove(force=True)
    stack.compose("--profile", "load", "down", "--volumes", "--remove-orphans")


def labelled(client: docker.DockerClient, project: str, *more: str) -> list[Any]:
    found: list[Any] = client.containers.list(
        all=True,
        filters={"label": [f"{PROJECT_LABEL}={project}", *more]},
        ignore_removed=True,
    )
    return found


def ship(stack: Stack, image: str) -> None:
    """Release ``image`` of web and wait until it awaits promotion."""
    response = stack.api("POST", "/api/v1/services/web/releases", json={"image": image})
    assert response.status_code == 202, response.text
    url = response.json()["url"]
    deadline = time.monotonic() + PHASE_TIMEOUT
    while time.monotonic() < deadline:
        body = stack.api("GET", url).json()
        if body["phase"] in {"AwaitingPromotion", "Failed", "Aborted"}:
            assert body["phase"] == "AwaitingPromotion", body
            return
        time.sleep(0.3)
    pytest.fail(f"release of {image} stuck in {body['phase']}")


def promote(stack: Stack) -> None:
    response = stack.api("POST", "/api/v1/services/web/promote")
    assert response.status_code == 200, response.text
    assert response.json()["phase"] == "Live", response.json()


def test_the_stack_deploys_and_promotes_through_its_published_api(
    stack: Stack,
) -> None:
    spec = yaml.safe_load((COMPOSE_DIR / "web.yaml").read_text())
    response = stack.api("PUT", "/api/v1/services/web", json=spec)
    assert response.status_code in (200, 201), response.text

    ship(stack, "bgctl-sample:v1")
    promote(stack)
    assert stack.frontend("live") == ("v1", "blue")

    ship(stack, "bgctl-sample:v2")
    assert stack.frontend("preview") == ("v2", "green")
    assert stack.frontend("live") == ("v1", "blue")
    promote(stack)
    assert stack.frontend("live") == ("v2", "green")
    assert stack.frontend("blue") == ("v1", "blue")


def test_the_stack_publishes_only_on_the_loopback_and_not_the_proxy_sockets(
    stack: Stack,
) -> None:
    client = docker.from_env()
    published = {}
    compose_label = f"com.docker.compose.project={stack.project}"
    for container in client.containers.list(filters={"label": compose_label}):
        service = container.labels.get("com.docker.compose.service", "")
        for bindings in (container.ports or {}).values():
            for binding in bindings or ():
                published[int(binding["HostPort"])] = (service, binding["HostIp"])
    assert published == {
        port: ("controller" if name == "api" else "haproxy", "127.0.0.1")
        for name, port in stack.ports.items()
    }


def median_ms(stack: Stack, count: int = 15) -> float:
    """The median time of ``count`` requests to the published live port."""
    url = f"http://127.0.0.1:{stack.ports['live']}/version"
    times = []
    with httpx.Client(timeout=5) as client:
        for _ in range(count):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[count // 2]


def test_a_latency_fault_slows_live_in_the_stack_and_goes_away(
    stack: Stack,
) -> None:
    # The release test left v2 live on green with chaos allowed.
    fault = {"kind": "latency", "color": "green", "latency": "200ms", "duration": "4s"}
    experiment = {
        "title": "slow green",
        "service": "web",
        "method": [{"type": "fault", "fault": fault}],
    }
    response = stack.api("POST", "/api/v1/chaos/runs", json={"experiment": experiment})
    assert response.status_code == 202, response.text
    run = response.json()
    time.sleep(1)

    assert median_ms(stack, 5) > 150  # through the fault proxy in the controller

    deadline = time.monotonic() + 20
    while (status := stack.api("GET", run["url"]).json()["status"]) == "running":
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.3)
    assert status == "completed"
    assert median_ms(stack) < 100
