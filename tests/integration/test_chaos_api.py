"""The chaos API and CLI on a real controller, engine and proxy.

One controller and one service (v1 live on blue, two replicas, opted in to
chaos) serve every test here; each test ends with its runs finished and
the service's replicas running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from proxy.haproxy import HAProxyDriver
from tests.harness import Controller, controller_fixture

RUNS = "/api/v1/chaos/runs"
CHAOS = {"chaos": {"enabled": True, "max_replicas": 1}}


@pytest.fixture(scope="module")
def stage() -> Iterator[tuple[Controller, str]]:
    for controller in controller_fixture():
        yield controller, controller.live_service(**CHAOS)


def kill_one(service: str, **changes: Any) -> dict[str, Any]:
    """An experiment that kills one blue replica for a moment."""
    fault = {"kind": "kill", "color": "blue", "count": 1, "duration": "1s"}
    experiment = {
        "title": "kill one blue replica",
        "service": service,
        "method": [{"type": "fault", "fault": fault}],
        "rollbacks": [{"type": "start-replicas", "color": "blue"}],
    }
    return experiment | changes


def wait_run(controller: Controller, run: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found: dict[str, Any] = controller.api("GET", run["url"], role="sre").json()
        if found["status"] != "running":
            return found
        time.sleep(0.2)
    pytest.fail(f"run {run['id']} still running: {found}\n{controller.log_tail()}")


def blue_replicas(controller: Controller, service: str) -> list[dict[str, Any]]:
    colors = controller.status(service)["colors"]
    found: list[dict[str, Any]] = next(c for c in colors if c["color"] == "blue")[
        "replicas"
    ]
    return found


def healthy_blue(controller: Controller, service: str) -> list[dict[str, Any]]:
    """Blue's replicas once each answers its readiness probe (within 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = blue_replicas(controller, service)
        if all(r["healthy"] for r in found) or time.monotonic() > deadline:
            assert all(r["healthy"] for r in found), found
            return found
        time.sleep(0.2)


def test_a_dry_run_lists_the_exact_containers_and_touches_nothing(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    before = blue_replicas(controller, service)

    response = controller.api(
        "POST",
        RUNS,
        role="sre",
        json={"experiment": kill_one(service), "dry_run": True},
    )

    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["dry_run"], run["actor"]) == (
        "completed",
        True,
        "oncall",
    )
    [step] = run["plan"]
    assert (step["kind"], step["color"]) == ("kill", "blue")
    [target] = step["containers"]
    assert target["id"] == before[0]["container_id"]  # the first slot
    assert blue_replicas(controller, service) == before


def test_a_killed_replica_comes_back_and_the_proxy_reaches_it(
    stage: tuple[Controller, str],
) -> None:
    controller, service = stage
    before = blue_replicas(controller, service)

    response = controller.api(
        "POST", RUNS, role="sre", json={"experiment": kill_one(service)}
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == response.json()["url"]
    run = wait_run(controller, response.json())

    assert run["status"] == "completed", run
    after = healthy_blue(controller, service)
    assert [r["container_id"] for r in after] == [r["container_id"] for r in before]
    assert after[0]["address"] != before[0]["address"]  # a new host port
    servers = HAProxyDriver(controller.state_dir).runtime.servers().values()
    served = {str(server.address) for server in servers}
    assert after[0]["address"] in served and before[0]["address"] not in served
    killed = docker.from_env().containers.get(before[0]["container_id"])
    assert killed.attrs["RestartCount"] == 0 and killed.attrs["State"]["Running"]
    blue = controller.status(service)["endpoints"]["blue"]
    answers = {httpx.get(f"{blue}/version", timeout=5).status_code for _ in range(10)}
    assert answers == {200}
    audit = controller.api("GET", f"/api/v1/audit?service={service}").json()
    assert any(e["path"] == RUNS and e["actor"] == "oncall" for e in audit)


def test_bad_requests_get_the_usual_error_json(stage: tuple[Controller, str]) -> None:
    controller, service = stage
    bad = kill_one(service, method=[{"type": "fault", "fault": {"kind": "melt"}}])

    invalid = controller.api("POST", RUNS, role="sre", json={"experiment": bad})
    viewer = controller.api("POST", RUNS, role="viewer", json={"experiment": bad})
    unknown = controller.api("GET", f"{RUNS}/run-0000000000", role="sre")

    assert invalid.status_code == 422
    assert invalid.json()["error"]["field"] == "experiment.method.0.fault"
    assert "'melt'" in invalid.json()["error"]["message"]
    assert viewer.status_code == 403
    assert viewer.json()["error"]["required_role"] == "sre"
    assert unknown.status_code == 404
    assert "run-0000000000" in unknown.json()["error"]["message"]


def test_the_cli_runs_follows_and_shows_a_run(
    stage: tuple[Controller, str], tmp_path: Path
) -> None:
    controller, service = stage
    token = controller.tokens["sre"]
    ok_file = tmp_path / "kill.json"
    ok_file.write_text(json.dumps(kill_one(service)))
    broken = {"probes": [{"type": "http", "path": "/no-such-page", "requests": 2}]}
    broken_file = tmp_path / "broken.json"
    broken_file.write_text(json.dumps(kill_one(service, hypothesis=broken)))

    passed = controller.cli("chaos", "run", str(ok_file), "--wait", BGCTL_TOKEN=token)
    failed = controller.cli(
        "chaos", "run", str(broken_file), "--wait", BGCTL_TOKEN=token
    )
    listed = controller.cli("chaos", "list", "--service", service, BGCTL_TOKEN=token)

    assert passed.returncode == 0, passed.stderr + passed.stdout
    assert ": completed" in passed.stdout
    assert failed.returncode == 1, failed.stderr + failed.stdout
    assert ": failed" in failed.stdout and "journal:" in failed.stdout
    run_id = listed.stdout.splitlines()[1].split()[0]
    shown = controller.cli("chaos", "show", run_id, BGCTL_TOKEN=token)
    assert shown.returncode == 0 and "hypothesis-before" in shown.stdout
    refused = controller.cli("chaos", "list", BGCTL_TOKEN=controller.tokens["viewer"])
    assert refused.returncode == 2 and "needs role sre or admin" in refused.stderr


def test_the_cli_manages_a_schedule(
    stage: tuple[Controller, str], tmp_path: Path
) -> None:
    controller, service = stage
    token = controller.tokens["sre"]
    spec = {
        "name": "weekly-kill",
        "when": {"mode": "cron", "expression": "0 3 * * 1"},
        "experiment": kill_one(service),
    }
    path = tmp_path / "schedule.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML too

    def bgctl(*args: str) -> str:
        done = controller.cli("chaos", "schedule", *args, BGCTL_TOKEN=token)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    assert "is active" in bgctl("add", str(path))
    assert "weekly-kill" in bgctl("list")
    assert "is paused" in bgctl("pause", "weekly-kill")
    assert "is active" in bgctl("resume", "weekly-kill")
    assert "history:" in bgctl("show", "weekly-kill")
    assert "deleted" in bgctl("rm", "weekly-kill")
    assert bgctl("list").strip() == "no schedules"
