"""The controller's side of chaos in a real process: detours and start-up.

One controller and one service (v1 live on blue, two replicas, opted in)
serve both tests; the second kills the controller and starts it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from proxy.haproxy import HAProxyDriver
from tests.harness import Controller, controller_fixture

RUNS = "/api/v1/chaos/runs"


@pytest.fixture(scope="module")
def stage() -> Iterator[tuple[Controller, str]]:
    for controller in controller_fixture():
        yield controller, controller.live_service(chaos={"enabled": True})


def blue_route(controller: Controller, service: str) -> set[str]:
    """Where the proxy's blue frontend sends requests now."""
    servers = HAProxyDriver(controller.state_dir).runtime.servers()
    return {
        str(status.address)
        for (backend, _), status in servers.items()
        if backend == f"{service}_blue" and status.state.value != "maint"
    }


def blue_replicas(controller: Controller, service: str) -> dict[str, str]:
    """Blue's replicas as the engine sees them: container id to address."""
    colors = controller.status(service)["colors"]
    blue = next(c for c in colors if c["color"] == "blue")
    return {r["container_id"]: r["address"] for r in blue["replicas"]}


def eventually(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds}s")
        time.sleep(0.1)


def run_experiment(controller: Controller, experiment: dict[str, Any]) -> Any:
    response = controller.api("POST", RUNS, role="sre", json={"experiment": experiment})
    assert response.status_code == 202, response.text
    return response.json()


def test_a_traffic_fault_detours_blue_and_the_route_comes_back(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    direct = set(blue_replicas(controller, service).values())
    fault = {"kind": "latency", "color": "blue", "latency": "50ms", "duration": "2s"}
    experiment = {
        "title": "a slow blue",
        "service": service,
        "method": [{"type": "fault", "fault": fault}],
    }

    run = run_experiment(controller, experiment)

    eventually(lambda: blue_route(controller, service).isdisjoint(direct), "detour")
    url = run["url"]
    eventually(
        lambda: controller.api("GET", url, role="sre").json()["status"] != "running",
        "the end of the run",
    )
    ended = controller.api("GET", url, role="sre").json()
    assert ended["status"] == "completed", ended
    assert blue_route(controller, service) == direct


def test_start_up_undoes_faults_and_keeps_the_paused_replica(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    replicas = blue_replicas(controller, service)
    pause = {"kind": "pause", "color": "blue", "count": 1, "duration": "5m"}
    slow = {"kind": "latency", "color": "blue", "latency": "1s", "duration": "5m"}
    experiment = {
        "title": "a frozen and slow blue",
        "service": service,
        "method": [
            {"type": "fault", "fault": pause, "background": True},
            {"type": "fault", "fault": slow},
        ],
    }
    engine = docker.from_env()
    paused = next(iter(replicas))  # the first slot's
    run = run_experiment(controller, experiment)
    eventually(lambda: engine.containers.get(paused).status == "paused", "the pause")
    eventually(
        lambda: blue_route(controller, service).isdisjoint(replicas.values()),
        "the detour",
    )

    faults = controller.api("GET", "/api/v1/chaos/faults", role="sre").json()
    assert {(f["kind"], f["run_id"]) for f in faults} == {
        ("pause", run["id"]),
        ("latency", run["id"]),
    }
    assert [paused] in [f["targets"] for f in faults]

    controller.kill()
    controller.start()

    assert engine.containers.get(paused).status == "running"
    after = blue_replicas(controller, service)
    assert set(after) == set(replicas)  # the paused one was no orphan
    assert blue_route(controller, service) == set(after.values())
    done = controller.api("GET", run["url"], role="sre").json()
    assert done["status"] == "interrupted"
    assert controller.api("GET", "/api/v1/chaos/faults", role="sre").json() == []
