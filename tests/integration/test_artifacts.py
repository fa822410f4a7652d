"""Artifact integrity on the real engine: pinned image ids and the inventory."""

from __future__ import annotations

import json
import time
from typing import Any

import docker
import pytest

from tests.harness import (
    Controller,
    containers_of,
    service_spec,
    serving,
    unique_name,
)


def image_id(reference: str) -> str:
    found: str = docker.from_env().images.get(reference).id
    return found


def live_on_v1(controller: Controller, **changes: Any) -> str:
    name = unique_name()
    controller.register(service_spec(name, **changes))
    controller.ship(name, "v1")
    controller.promote(name)
    return name


def first_container(service: str, release: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = containers_of(service, release)
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"release {release} of {service} started no container")


def test_a_replica_running_another_image_fails_the_release(
    controller: Controller,
) -> None:
    readiness = {"path": "/healthz", "interval": "200ms", "min_ready": "4s"}
    name = live_on_v1(controller, readiness=readiness)
    release = controller.release(name, "v2")

    # A container that claims to be a replica of the release, from v1.
    model = first_container(name, release["id"])
    docker.from_env().containers.run(
        "bgctl-sample:v1",
        name=f"impostor-{name}",
        labels=model.labels | {"bgctl.replica": "9"},
        detach=True,
    )
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})

    assert done["phase"] == "Failed"
    expected, found = image_id("bgctl-sample:v2"), image_id("bgctl-sample:v1")
    assert (
        f"replica impostor-{name} runs image {found}, expected {expected}"
        in done["reason"]
    )
    assert containers_of(name, release["id"]) == []  # the impostor went too
    assert serving(controller, name, "live") == ("v1", "blue")


def test_the_inventory_lists_what_runs_with_role_image_and_health(
    controller: Controller,
) -> None:
    name = live_on_v1(controller)
    v1 = controller.status(name)["colors"][0]["release"]
    staged = controller.ship(name, "v2")
    v2 = staged["id"]

    artifacts = controller.api("GET", "/api/v1/inventory").json()

    assert {a["container_id"] for a in artifacts} == {c.id for c in containers_of(name)}
    by_release = {a["release"]: a for a in artifacts}
    assert {(a["release"], a["color"], a["role"]) for a in artifacts} == {
        (v1, "blue", "live"),
        (v2, "green", "staged"),
    }
    assert by_release[v1]["image"] == "bgctl-sample:v1"
    assert by_release[v1]["image_id"] == image_id("bgctl-sample:v1")
    assert by_release[v2]["image_id"] == image_id("bgctl-sample:v2")
    for artifact in artifacts:
        assert artifact["pinned"] and artifact["healthy"], artifact
        assert artifact["repo_digest"] is None  # built here, never pushed
        assert artifact["started_at"] and artifact["state"] == "running"
        assert artifact["container_name"].startswith(f"bgctl-{name}-")
        assert "/healthz -> 200" in artifact["probe"]

    notes = [event["reason"] for event in staged["timeline"]]
    verified = f"image verified: 2 replicas run {image_id('bgctl-sample:v2')}"
    assert f"{verified} (bgctl-sample:v2)" in notes

    controller.promote(name)
    roles = {
        (a["color"], a["role"])
        for a in controller.api("GET", "/api/v1/inventory").json()
    }
    assert roles == {("blue", "standby"), ("green", "live")}


def test_bgctl_inventory_prints_the_artifacts(controller: Controller) -> None:
    name = unique_name()
    controller.register(service_spec(name))
    controller.ship(name, "v1")

    as_json = bgctl(controller, "inventory", "--json")
    as_text = bgctl(controller, "inventory")

    assert {a["container_id"] for a in json.loads(as_json)} == {
        c.id for c in containers_of(name)
    }
    rows = [line for line in as_text.splitlines() if line.startswith(name)]
    assert len(rows) == 2
    short = image_id("bgctl-sample:v1").removeprefix("sha256:")[:12]
    assert all("staged" in r and short in r and "healthy" in r for r in rows)


def bgctl(controller: Controller, *args: str) -> str:
    done = controller.cli(*args, BGCTL_TOKEN=controller.tokens["admin"])
    assert done.returncode == 0, done.stderr
    return done.stdout
