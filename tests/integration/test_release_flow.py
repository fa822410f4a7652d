"""The main job on the real engine and the real HAProxy: deploy, verify, flip,
roll back, with live traffic answered throughout."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import Controller, get, service_spec, serving, unique_name


@pytest.fixture
def controller(module_controller: Controller) -> Controller:
    """The module's controller: every test here makes services of its own."""
    return module_controller


def test_preview_shows_the_new_version_while_live_keeps_the_old(
    controller: Controller,
) -> None:
    name = controller.live_service()
    assert serving(controller, name, "live") == ("v1", "blue")

    staged = controller.ship(name, "v2")
    assert staged["color"] == "green"
    assert serving(controller, name, "preview") == ("v2", "green")
    assert serving(controller, name, "live") == ("v1", "blue")
    assert serving(controller, name, "blue") == ("v1", "blue")
    assert serving(controller, name, "green") == ("v2", "green")

    controller.promote(name)
    assert serving(controller, name, "live") == ("v2", "green")

    response = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert response.status_code == 200, response.text
    assert response.json()["image"] == "bgctl-sample:v1"
    assert serving(controller, name, "live") == ("v1", "blue")


def test_the_timeline_records_every_phase_with_time_and_reason(
    controller: Controller,
) -> None:
    name = unique_name()
    controller.register(service_spec(name))
    controller.ship(name, "v1")
    live = controller.promote(name)
    phases = [event["phase"] for event in live["timeline"]]
    distinct = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert distinct == [
        "Pending",
        "Deploying",
        "Verifying",
        "AwaitingPromotion",
        "Promoting",
        "Live",
    ]
    assert all(event["at"] and event["reason"] for event in live["timeline"])
    promoting = [e for e in live["timeline"] if e["phase"] == "Promoting"]
    assert promoting[0]["actor"] == "pytest"


def test_a_version_that_never_gets_ready_fails_and_live_keeps_answering(
    controller: Controller,
) -> None:
    name = unique_name()
    controller.register(service_spec(name, deploy_timeout="4s"))
    controller.ship(name, "v1")
    controller.promote(name)
    live_url = controller.status(name)["endpoints"]["live"] + "/version"

    release = controller.release(name, "unready")
    answers: Counter[str] = Counter()
    started = time.monotonic()
    while time.monotonic() - started < 30:
        response = get(live_url)
        answers[f"{response.status_code} {response.text.strip()}"] += 1
        body = controller.api("GET", release["url"]).json()
        if body["phase"] in {"Failed", "Aborted", "AwaitingPromotion", "Live"}:
            break
        time.sleep(0.1)

    assert body["phase"] == "Failed"
    assert "deploy_timeout 4s" in body["reason"]
    assert "/healthz" in body["reason"] and "503" in body["reason"]
    assert set(answers) == {"200 v1"}
    assert serving(controller, name, "live") == ("v1", "blue")
    green = next(c for c in controller.status(name)["colors"] if c["color"] == "green")
    assert green["replicas"] == []


def test_live_answers_only_2xx_across_three_flips(controller: Controller) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")
    live_url = controller.status(name)["endpoints"]["live"] + "/"

    statuses: Counter[int | str] = Counter()
    stop = threading.Event()

    def hammer() -> None:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=5) as client:
            for _ in range(20_000):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    statuses[client.get(live_url).status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

    loop = threading.Thread(target=hammer)
    loop.start()
    try:
        time.sleep(0.5)
        controller.promote(name)
        time.sleep(0.5)
        response = controller.api("POST", f"/api/v1/services/{name}/rollback")
        assert response.status_code == 200, response.text
        time.sleep(0.5)
        controller.ship(name, "v2")
        controller.promote(name)
        time.sleep(0.5)
    finally:
        stop.set()
        loop.join()

    assert serving(controller, name, "live") == ("v2", "green")
    assert sum(statuses.values()) > 50
    assert set(statuses) == {200}, statuses


def test_a_restarted_controller_keeps_services_live_colours_and_history(
    controller: Controller,
) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")
    controller.promote(name)
    before = controller.status(name)
    history = controller.api("GET", f"/api/v1/services/{name}/releases").json()

    live_url = before["endpoints"]["live"] + "/version"
    controller.kill()
    answer = get(live_url)
    assert (answer.text.strip(), answer.headers["x-bgctl-color"]) == ("v2", "green")
    controller.start()

    after = controller.status(name)
    assert after["live_color"] == before["live_color"] == "green"
    assert [c["release"] for c in after["colors"]] == [
        c["release"] for c in before["colors"]
    ]
    again = controller.api("GET", f"/api/v1/services/{name}/releases").json()
    assert [(r["id"], r["phase"]) for r in again] == [
        (r["id"], r["phase"]) for r in history
    ]
    assert serving(controller, name, "live") == ("v2", "green")
    response = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert response.status_code == 200, response.text
    assert serving(controller, name, "live") == ("v1", "blue")


def test_rollback_only_goes_back_to_the_release_that_was_superseded(
    controller: Controller,
) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")
    controller.promote(name)
    first = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert first.status_code == 200, first.text
    again = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert again.status_code == 409, again.text
    assert "no earlier release" in again.json()["error"]["message"]
    assert serving(controller, name, "live") == ("v1", "blue")


def scrape(controller: Controller) -> dict[tuple[str, frozenset[Any]], float]:
    """One scrape of /metrics with the viewer's token, sample by sample."""
    response = controller.api("GET", "/metrics", role="viewer")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_show_flips_the_live_colour_releases_and_replica_health(
    controller: Controller,
) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")
    controller.promote(name)

    found = scrape(controller)

    def sample(metric: str, **labels: str) -> float | None:
        return found.get((metric, frozenset({"service": name, **labels}.items())))

    # Replica health is checked every few seconds; wait for one after the flip.
    deadline = time.monotonic() + 10
    while sample("bgctl_replicas_ready", color="green") != 2:
        assert time.monotonic() < deadline, sample("bgctl_replicas", color="green")
        time.sleep(0.5)
        found = scrape(controller)

    assert sample("bgctl_flips_total", outcome="succeeded") == 2
    assert sample("bgctl_flips_total", outcome="failed") in (None, 0)
    assert sample("bgctl_flip_duration_seconds_count") == 2
    assert sample("bgctl_flip_duration_seconds_bucket", le="+Inf") == 2
    assert 0 < (sample("bgctl_flip_duration_seconds_sum") or 0) < 60
    assert sample("bgctl_service_live_color", color="green") == 1
    assert sample("bgctl_service_live_color", color="blue") == 0
    assert sample("bgctl_releases_total", outcome="succeeded") == 2
    assert sample("bgctl_releases_total", outcome="failed") == 0
    assert sample("bgctl_replicas", color="green") == 2
    assert sample("bgctl_replicas", color="blue") == 2  # warm standby
    promoting = "bgctl_release_phase_duration_seconds_count"
    assert sample(promoting, phase="Promoting") == 2
