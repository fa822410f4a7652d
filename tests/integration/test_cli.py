"""The CLI as a pipeline uses it: exit codes say what happened."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.harness import Controller, free_port, service_spec, unique_name


def bgctl(
    controller: Controller | None, *args: str
) -> subprocess.CompletedProcess[str]:
    if controller is not None:
        return controller.cli(*args, BGCTL_TOKEN=controller.tokens["admin"])
    env = dict(os.environ, BGCTL_URL=f"http://127.0.0.1:{free_port()}")
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_wait_exits_by_how_the_release_ended(controller: Controller) -> None:
    name = unique_name()
    controller.register(service_spec(name, deploy_timeout="3s"))
    assert bgctl(controller, "deploy", name, "v1", "--wait").returncode == 0
    assert bgctl(controller, "promote", name).returncode == 0
    failed = bgctl(controller, "deploy", name, "unready", "--wait")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    refused = bgctl(controller, "deploy", name, "no-such-tag", "--wait")
    assert refused.returncode == 2
    assert "no-such-tag" in refused.stderr


def test_an_unreachable_controller_exits_3() -> None:
    result = bgctl(None, "status")
    assert result.returncode == 3
    assert "cannot reach" in result.stderr


def test_a_malformed_url_exits_2_with_one_line() -> None:
    env = dict(os.environ, BGCTL_URL="http://127.0.0.1:notaport")
    result = subprocess.run(
        [sys.executable, "-m", "controller", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_promote_waits_for_the_watch_and_a_rollback_by_it_exits_1(
    controller: Controller,
) -> None:
    gate = {"duration": "2s", "interval": "100ms", "max_p95": "200ms"}
    name = controller.live_service(post_verify=gate)
    controller.ship(name, "v2")
    assert bgctl(controller, "promote", name).returncode == 0
    controller.ship(name, "laggy")
    result = bgctl(controller, "promote", name)
    assert result.returncode == 1, result.stdout
    assert "RolledBack" in result.stdout
