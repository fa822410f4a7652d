"""The chaos scenarios on the real engine and the real HAProxy.

One controller and one service (green live, blue standby) serve every test
in this file; each test leaves no fault open, which it checks itself.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import pytest

from tests.harness import Controller, controller_fixture, service_spec, unique_name
from tests.integration.chaos_stage import (
    answers,
    container_states,
    endpoint,
    experiment,
    fault,
    fault_proxies,
    median_seconds,
    open_faults,
    run_of,
    start,
    submit,
    two_colour_service,
    wait_faults,
    wait_run,
)


@pytest.fixture(scope="module")
def stage() -> Iterator[tuple[Controller, str]]:
    for controller in controller_fixture():
        yield controller, two_colour_service(controller)


def test_c1_a_killed_controller_leaves_no_fault_behind(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    green = endpoint(controller, service, "green") + "/version"
    before = median_seconds(green)
    document = experiment(
        service,
        fault("latency", "green", latency="500ms", duration="10m", background=True),
        fault("pause", "green", count=1, duration="10m"),
    )
    run = start(controller, document)
    wait_faults(controller, run["id"], 2)
    paused = [i for i, s in container_states(service, "green").items() if s == "paused"]
    assert len(paused) == 1
    assert fault_proxies(controller.state_dir)

    controller.kill()
    controller.start()

    assert median_seconds(green) < before + 0.1
    assert container_states(service, "green")[paused[0]] == "running"
    assert run_of(controller, run["id"])["status"] == "interrupted"
    assert open_faults(controller) == []
    assert fault_proxies(controller.state_dir) == []


def test_c2_targets_are_exact_and_opt_in(stage: tuple[Controller, str]) -> None:
    controller, service = stage
    client = docker.from_env()
    bystander = client.containers.run(
        "bgctl-sample:v1",
        name=f"{service}-backup",
        labels={"bgctl.test": "true", "bgctl.service": service, "bgctl.color": "blue"},
        detach=True,
    )
    other = unique_name("api")
    try:
        controller.register(service_spec(other))
        blue = {i for i, s in container_states(service, "blue").items()}
        dry = submit(
            controller, experiment(service, fault("kill", "blue", count=2)), True
        )
        assert dry.status_code == 200, dry.text
        planned = {c["id"] for step in dry.json()["plan"] for c in step["containers"]}
        assert planned == blue - {bystander.id}
        assert bystander.id not in planned

        run = start(controller, experiment(service, fault("pause", "blue", duration=1)))
        wait_run(controller, run["id"])
        bystander.reload()
        assert bystander.status == "running"

        refused = submit(controller, experiment(other, fault("kill", "blue")))
        assert refused.status_code == 409, refused.text
        assert "not opted in" in refused.json()["error"]["message"]
    finally:
        bystander.remove(force=True)


def test_c3_rollbacks_run_when_a_probe_cannot_reach_the_service(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    probe = {"type": "http", "endpoint": "blue", "path": "/version", "requests": 2}
    document = experiment(
        service,
        fault("kill", "blue", count=2, duration="1m"),
        hypothesis={"probes": [probe], "interval": "500ms"},
        rollbacks=[{"type": "start-replicas", "color": "blue"}],
    )
    run = wait_run(controller, start(controller, document)["id"])

    assert run["status"] == "failed" and run["deviated"] is True
    rollbacks = [a for a in run["journal"] if a["stage"] == "rollbacks"]
    assert {a["type"] for a in rollbacks} >= {"undo-faults", "start-replicas"}
    assert set(container_states(service, "blue").values()) == {"running"}
    assert open_faults(controller) == []
    time.sleep(2.5)  # the proxy's health checks see the replicas again
    assert answers(endpoint(controller, service, "blue") + "/version", 10) == {200: 10}


def test_c4_a_fault_the_engine_refuses_fails_the_experiment(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    document = experiment(
        service,
        fault("stop", "blue", count=1, duration="1m", background=True),
        fault("kill", "blue", count=1),
    )
    run = wait_run(controller, start(controller, document)["id"])

    assert run["status"] == "failed"
    failed = [a for a in run["journal"] if a["status"] == "failed"]
    assert failed and failed[0]["stage"] == "method" and failed[0]["error"]
    assert set(container_states(service, "blue").values()) == {"running"}
    assert open_faults(controller) == []


def test_c4_a_container_that_vanished_fails_the_experiment(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    document = experiment(
        service,
        {"type": "pause", "duration": "2s"},
        fault("kill", "green", count=1),
    )
    run = start(controller, document)
    victim = run["plan"][0]["containers"][0]["id"]
    docker.from_env().containers.get(victim).remove(force=True)
    done = wait_run(controller, run["id"])

    assert done["status"] == "failed"
    assert "gone" in done["reason"]
    assert open_faults(controller) == []


def test_c5_a_broken_steady_state_means_no_chaos(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    probe = {"type": "http", "endpoint": "live", "path": "/missing", "requests": 2}
    states = container_states(service, "blue")
    document = experiment(
        service,
        fault("kill", "blue", count=1, background=True),
        hypothesis={"probes": [probe]},
    )
    run = wait_run(controller, start(controller, document)["id"])

    assert run["status"] == "failed" and run["deviated"] is False
    assert "steady state did not hold before" in run["reason"]
    assert not [a for a in run["journal"] if a["type"] == "fault"]
    assert container_states(service, "blue") == states


@pytest.mark.parametrize(("probability", "low", "high"), [(0, 0, 0), (1.0, 1, 1)])
def test_c6_probability_zero_and_one_mean_what_they_say(
    stage: tuple[Controller, str], probability: float, low: float, high: float
) -> None:
    controller, service = stage
    share = _error_share(controller, service, probability, 200)
    assert low <= share <= high


def test_c6_probability_holds_over_a_thousand_requests(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    share = _error_share(controller, service, 0.3, 1000)
    assert 0.25 <= share <= 0.35


def _error_share(
    controller: Controller, service: str, probability: float, count: int
) -> float:
    document = experiment(
        service,
        fault("error", "blue", status=503, probability=probability, duration="5m"),
    )
    run = start(controller, document)
    wait_faults(controller, run["id"], 1)
    seen = answers(endpoint(controller, service, "blue") + "/version", count)
    controller.api("POST", f"/api/v1/chaos/runs/{run['id']}/abort")
    assert open_faults(controller) == []
    assert set(seen) <= {200, 503}, seen
    return seen.get(503, 0) / count


def test_c7_abort_is_immediate_and_total(stage: tuple[Controller, str]) -> None:
    controller, service = stage
    blue = endpoint(controller, service, "blue") + "/version"
    before = median_seconds(blue)
    run = start(
        controller,
        experiment(service, fault("latency", "blue", latency="300ms", duration="10m")),
    )
    wait_faults(controller, run["id"], 1)
    assert median_seconds(blue, 5) > before + 0.25

    response = controller.api("POST", f"/api/v1/chaos/runs/{run['id']}/abort")

    # The abort answers once the route is restored, not before.
    assert response.status_code == 200, response.text
    assert median_seconds(blue) < before + 0.1
    assert open_faults(controller) == []
    done: dict[str, Any] = run_of(controller, run["id"])
    assert done["status"] == "aborted" and done["aborted_at"]


def test_a_fault_proxy_that_dies_is_undone_and_fails_its_run(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    blue = endpoint(controller, service, "blue") + "/version"
    run = start(
        controller,
        experiment(service, fault("latency", "blue", latency="50ms", duration="5m")),
    )
    wait_faults(controller, run["id"], 1)
    for pid in fault_proxies(controller.state_dir):
        os.kill(pid, signal.SIGKILL)

    done = wait_run(controller, run["id"], timeout=30)
    assert done["status"] == "failed"
    assert "lost" in done["reason"], done["reason"]
    assert open_faults(controller) == []
    time.sleep(2.5)  # the proxy's health checks see the replicas again
    assert answers(blue, 10) == {200: 10}


def test_withdrawing_consent_aborts_the_service_runs(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    run = start(
        controller,
        experiment(service, fault("latency", "blue", latency="50ms", duration="5m")),
    )
    wait_faults(controller, run["id"], 1)
    spec = controller.status(service)["spec"]

    controller.register(spec | {"chaos": {"enabled": False}})

    assert run_of(controller, run["id"])["status"] == "aborted"
    assert open_faults(controller) == []
    controller.register(spec)


def test_runs_sent_together_start_one_at_a_time(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    document = experiment(service, fault("pause", "live", count=1, duration="2s"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda _: submit(controller, document), range(4)))

    started = [r.json() for r in codes if r.status_code == 202]
    assert sorted(r.status_code for r in codes) == [202, 409, 409, 409]
    done = wait_run(controller, started[0]["id"])
    assert done["status"] == "completed"
    assert open_faults(controller) == []
