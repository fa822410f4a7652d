"""The image policy on a real controller: refused releases change nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.harness import (
    Controller,
    containers_of,
    controller_fixture,
    free_port,
    service_spec,
    unique_name,
)

PATTERNS = "registry.local/team/*,bgctl-sample"


@pytest.fixture
def guarded() -> Iterator[Controller]:
    """A controller that releases only from the repositories in PATTERNS."""
    yield from controller_fixture({"BGCTL_ALLOWED_IMAGES": PATTERNS})


def test_a_release_outside_the_policy_is_refused_and_changes_nothing(
    guarded: Controller,
) -> None:
    name = unique_name()
    guarded.register(service_spec(name, image="registry.local/other/web"))
    before = guarded.status(name)

    response = guarded.api(
        "POST", f"/api/v1/services/{name}/releases", json={"image": "v1"}
    )

    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "image_not_allowed"
    assert error["image"] == "registry.local/other/web:v1"
    assert error["allowed"] == ["registry.local/team/*", "bgctl-sample"]
    assert "'registry.local/other/web:v1'" in error["message"]
    assert "registry.local/team/*, bgctl-sample" in error["message"]
    assert guarded.api("GET", f"/api/v1/services/{name}/releases").json() == []
    assert guarded.status(name) == before
    labels = [f"bgctl.service={name}"]
    assert docker.from_env().containers.list(all=True, filters={"label": labels}) == []


def test_a_release_inside_the_policy_proceeds(guarded: Controller) -> None:
    name = unique_name()
    guarded.register(service_spec(name))

    staged = guarded.ship(name, "v1")

    assert staged["phase"] == "AwaitingPromotion"


def test_a_bad_policy_stops_the_controller_at_start_naming_the_variable() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="bgctl-"))
    env = dict(
        os.environ,
        BGCTL_STATE_DIR=str(state_dir),
        BGCTL_API_PORT=str(free_port()),
        BGCTL_ALLOWED_IMAGES="bgctl-sample,Team/Web",
    )
    done = subprocess.run(
        [sys.executable, "-m", "controller", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "BGCTL_ALLOWED_IMAGES" in done.stderr
    assert "'Team/Web'" in done.stderr
    assert not (state_dir / "bgctl.db").exists()
    state_dir.rmdir()


def test_a_rollback_that_would_deploy_a_refused_image_is_refused(
    controller: Controller,
) -> None:
    name = unique_name()
    controller.register(service_spec(name, standby_ttl="0s"))
    v1_release = controller.ship(name, "v1")["id"]
    controller.promote(name)
    controller.ship(name, "v2")
    controller.promote(name)
    deadline = time.monotonic() + 20
    while containers_of(name, v1_release) and time.monotonic() < deadline:
        time.sleep(0.3)  # the standby colour is retired: rollback must deploy
    assert not containers_of(name, v1_release)
    controller.kill()
    controller.extra_env["BGCTL_ALLOWED_IMAGES"] = "registry.local/team/*"
    controller.start()
    before = controller.status(name)

    response = controller.api("POST", f"/api/v1/services/{name}/rollback")

    assert response.status_code == 403, response.text
    assert response.json()["error"]["image"] == "bgctl-sample:v1"
    assert controller.status(name) == before
