"""Release safety on the real engine and HAProxy: the release scenarios.

Windows and timeouts are scaled down from the scenarios' minutes to seconds;
the behaviour at each edge of a window is what is checked.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.harness import (
    Controller,
    TrafficLoop,
    containers_of,
    get,
    service_spec,
    serving,
    unique_name,
)


@pytest.fixture
def controller(module_controller: Controller) -> Controller:
    """The module's controller: every test here makes services of its own."""
    return module_controller


def test_r1_a_crashing_version_fails_with_its_logs_and_live_stays(
    controller: Controller,
) -> None:
    readiness = {"path": "/healthz", "interval": "200ms", "min_ready": "3s"}
    name = controller.live_service(deploy_timeout="15s", readiness=readiness)
    live = controller.status(name)["endpoints"]["live"] + "/version"
    with TrafficLoop(live, seconds=30) as loop:
        release = controller.release(name, "crash")
        done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})
    assert done["phase"] == "Failed"
    took = _seconds_between(done["created_at"], done["updated_at"])
    assert took < 15 + 5
    assert "last log lines" in done["reason"]
    assert loop.failures == {}
    assert set(loop.answers) == {"200 v1"}
    assert containers_of(name, release["id"]) == []


def test_r3_the_old_colour_stays_warm_then_is_retired(controller: Controller) -> None:
    name = controller.live_service(standby_ttl="6s")
    controller.ship(name, "v2")
    controller.promote(name)
    blue = {c.id for c in containers_of(name) if c.labels["bgctl.color"] == "blue"}
    assert len(blue) == 2

    time.sleep(2)
    status = controller.status(name)
    standby = next(c for c in status["colors"] if c["color"] == "blue")
    assert standby["role"] == "standby"
    assert all(r["healthy"] for r in standby["replicas"])

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not {c.id for c in containers_of(name)} & blue:
            break
        time.sleep(0.5)
    assert not {c.id for c in containers_of(name)} & blue
    assert serving(controller, name, "live") == ("v2", "green")


def test_r3_a_rollback_inside_the_window_is_a_flip_that_starts_nothing(
    controller: Controller,
) -> None:
    name = controller.live_service(standby_ttl="600s")
    controller.ship(name, "v2")
    controller.promote(name)
    before = {c.id for c in containers_of(name)}
    response = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert response.status_code == 200, response.text
    assert serving(controller, name, "live") == ("v1", "blue")
    assert {c.id for c in containers_of(name)} == before


def test_a_rollback_after_the_window_deploys_the_previous_image_again(
    controller: Controller,
) -> None:
    name = controller.live_service(standby_ttl="1s")
    controller.ship(name, "v2")
    controller.promote(name)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        colors = controller.status(name)["colors"]
        if not next(c for c in colors if c["color"] == "blue")["replicas"]:
            break
        time.sleep(0.5)
    response = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert response.status_code == 202, response.text
    redeploy = controller.wait_phase(response.json(), {"Live", "Failed"})
    assert redeploy["phase"] == "Live", redeploy
    assert redeploy["image"] == "bgctl-sample:v1"
    assert serving(controller, name, "live") == ("v1", "blue")


def test_r4_one_release_at_a_time_including_the_watch(controller: Controller) -> None:
    gate = {"duration": "6s", "interval": "200ms"}
    name = controller.live_service(post_verify=gate)
    staged = controller.ship(name, "v2")
    controller.api("POST", f"/api/v1/services/{name}/promote")
    assert controller.api("GET", staged["url"]).json()["phase"] == "PostVerifying"

    response = controller.api(
        "POST", f"/api/v1/services/{name}/releases", json={"image": "v1"}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["release"] == staged["id"]
    assert staged["id"] in error["message"]
    assert len(controller.api("GET", f"/api/v1/services/{name}/releases").json()) == 2

    done = controller.wait_phase(staged, {"Live", "RolledBack"})
    assert done["phase"] == "Live"


def test_r5_r9_a_slow_request_finishes_on_the_old_colour_and_none_fail(
    controller: Controller,
) -> None:
    name = controller.live_service(standby_ttl="0s", drain_timeout="20s")
    controller.ship(name, "v2")
    live = controller.status(name)["endpoints"]["live"]
    slow: dict[str, object] = {}

    def slow_request() -> None:
        response = httpx.get(f"{live}/slow?seconds=4", timeout=30)
        slow.update(
            status=response.status_code, color=response.headers["x-bgctl-color"]
        )

    with TrafficLoop(f"{live}/version", seconds=60) as loop:
        request = threading.Thread(target=slow_request)
        request.start()
        time.sleep(0.5)
        controller.promote(name)
        assert serving(controller, name, "live") == ("v2", "green")
        request.join(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            c.labels["bgctl.color"] == "blue" for c in containers_of(name)
        ):
            time.sleep(0.3)

    assert slow == {"status": 200, "color": "blue"}
    assert not [c for c in containers_of(name) if c.labels["bgctl.color"] == "blue"]
    assert loop.failures == {}, loop.answers
    assert loop.answers["200 v2"] > 0


def test_r6_a_slow_starter_fails_with_the_deadline_then_deploys_with_more(
    controller: Controller,
) -> None:
    name = controller.live_service(deploy_timeout="3s")
    release = controller.release(name, "slow")
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})
    assert done["phase"] == "Failed"
    assert "deploy_timeout 3s" in done["reason"] and "last probe" in done["reason"]
    assert serving(controller, name, "live") == ("v1", "blue")

    spec = controller.status(name)["spec"] | {"deploy_timeout": "20s"}
    controller.register(spec)
    staged = controller.ship(name, "slow")
    assert staged["phase"] == "AwaitingPromotion"


def test_r7_an_analysis_that_reaches_nothing_never_promotes(
    controller: Controller,
) -> None:
    gate = {"duration": "2s", "interval": "200ms", "path": "/no-such-page"}
    name = controller.live_service()
    spec = controller.status(name)["spec"] | {"analysis": gate, "auto_promote": True}
    controller.register(spec)
    release = controller.release(name, "v2")
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion", "Live"})
    assert done["phase"] in {"Failed", "AwaitingPromotion"}
    assert "analysis" in done["reason"]
    assert serving(controller, name, "live") == ("v1", "blue")


def test_an_erroring_version_fails_its_analysis(controller: Controller) -> None:
    gate = {"duration": "2s", "interval": "100ms", "max_error_rate": 0.05}
    name = controller.live_service(analysis=gate, smoke=[])
    release = controller.release(name, "errors")
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})
    assert done["phase"] == "Failed"
    assert "max_error_rate" in done["reason"]


def test_r8_a_version_that_dies_before_the_flip_leaves_live_on_the_old(
    controller: Controller,
) -> None:
    name = controller.live_service()
    staged = controller.ship(name, "v2")
    for container in containers_of(name, staged["id"]):
        container.kill()
    # Either the promotion's flip finds them dead, or the controller noticed
    # first and failed the staged release; live never moves in both cases.
    response = controller.api("POST", f"/api/v1/services/{name}/promote")
    assert response.status_code in (200, 409), response.text
    done = controller.wait_phase(staged, {"Failed", "Live"})
    assert done["phase"] == "Failed"
    assert done["reason"]
    assert serving(controller, name, "live") == ("v1", "blue")
    blue = [c for c in containers_of(name) if c.labels["bgctl.color"] == "blue"]
    assert len(blue) == 2 and all(c.status == "running" for c in blue)


def test_a_breach_after_the_flip_flips_back(controller: Controller) -> None:
    gate = {"duration": "3s", "interval": "100ms", "max_p95": "200ms"}
    name = controller.live_service(post_verify=gate)
    staged = controller.ship(name, "laggy")
    controller.api("POST", f"/api/v1/services/{name}/promote")
    done = controller.wait_phase(staged, {"Live", "RolledBack"})
    assert done["phase"] == "RolledBack"
    assert "post-verification" in done["reason"]
    assert serving(controller, name, "live") == ("v1", "blue")


def test_abort_inside_the_watch_flips_back_at_once(controller: Controller) -> None:
    gate = {"duration": "60s", "interval": "200ms"}
    name = controller.live_service(post_verify=gate)
    staged = controller.ship(name, "v2")
    controller.api("POST", f"/api/v1/services/{name}/promote")
    assert serving(controller, name, "live") == ("v2", "green")
    started = time.monotonic()
    response = controller.api("POST", f"/api/v1/services/{name}/abort")
    assert response.status_code == 200, response.text
    assert response.json()["phase"] == "Aborted"
    assert time.monotonic() - started < 5
    assert serving(controller, name, "live") == ("v1", "blue")
    assert controller.api("GET", staged["url"]).json()["phase"] == "Aborted"


def test_abort_before_promotion_removes_the_idle_colour(
    controller: Controller,
) -> None:
    name = controller.live_service()
    staged = controller.ship(name, "v2")
    response = controller.api("POST", f"/api/v1/services/{name}/abort")
    assert response.json()["phase"] == "Aborted"
    assert containers_of(name, staged["id"]) == []
    assert serving(controller, name, "preview") == ("v1", "blue")


def test_a_repeated_request_with_an_idempotency_key_gets_the_same_release(
    controller: Controller,
) -> None:
    name = unique_name()
    controller.register(service_spec(name))
    path = f"/api/v1/services/{name}/releases"
    headers = {"Idempotency-Key": "build-42"}
    first = controller.api("POST", path, json={"image": "v1"}, headers=headers)
    again = controller.api("POST", path, json={"image": "v1"}, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    other = controller.api("POST", path, json={"image": "v2"}, headers=headers)
    assert other.status_code == 409


def test_a_dead_proxy_is_restarted_with_every_route(controller: Controller) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")
    controller.promote(name)
    live = controller.status(name)["endpoints"]["live"] + "/version"
    pid = int((controller.state_dir / "haproxy" / "haproxy.pid").read_text())
    import os
    import signal

    os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + 20
    answer = None
    while time.monotonic() < deadline:
        try:
            answer = get(live)
            break
        except httpx.HTTPError:
            time.sleep(0.3)
    assert answer is not None and answer.text.strip() == "v2"
    assert answer.headers["x-bgctl-color"] == "green"


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_a_failed_release_gives_the_standby_back(controller: Controller) -> None:
    name = controller.live_service()
    controller.ship(name, "v2")
    controller.promote(name)
    spec = controller.status(name)["spec"] | {"smoke": [{"path": "/no-such-page"}]}
    controller.register(spec)
    release = controller.release(name, "v1")
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})
    assert done["phase"] == "Failed"
    response = controller.api("POST", f"/api/v1/services/{name}/rollback")
    assert response.status_code == 200, response.text
    assert serving(controller, name, "live") == ("v1", "blue")


def test_r2_preview_moves_only_once_the_idle_colour_is_ready(
    controller: Controller,
) -> None:
    name = controller.live_service(deploy_timeout="20s")
    preview = controller.status(name)["endpoints"]["preview"] + "/version"
    with TrafficLoop(preview, seconds=60) as loop:
        release = controller.release(name, "slow")
        done = controller.wait_phase(release, {"AwaitingPromotion", "Failed"})
        time.sleep(0.3)
    assert done["phase"] == "AwaitingPromotion"
    assert loop.failures == {}, loop.answers
    assert loop.answers["200 v1"] > 0 and loop.answers["200 slow"] > 0


def test_releases_of_two_services_run_side_by_side(controller: Controller) -> None:
    first = controller.live_service()
    second = controller.live_service()
    releases = [controller.release(first, "slow"), controller.release(second, "v2")]
    done = [controller.wait_phase(r, {"AwaitingPromotion", "Failed"}) for r in releases]
    assert [d["phase"] for d in done] == ["AwaitingPromotion", "AwaitingPromotion"]
    assert serving(controller, second, "preview") == ("v2", "green")
