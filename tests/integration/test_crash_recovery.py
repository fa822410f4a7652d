"""A controller killed with SIGKILL in any phase restarts into a consistent
state: live stays on the last promoted colour throughout, interrupted
releases fail with a reason, orphans go, and waiting releases wait on."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from tests.harness import (
    Controller,
    TrafficLoop,
    containers_of,
    serving,
)

SLOW_GATE = {"duration": "20s", "interval": "200ms"}


def wait_for_phase(controller: Controller, release: dict[str, Any], phase: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if controller.api("GET", release["url"]).json()["phase"] == phase:
            return
        time.sleep(0.05)
    pytest.fail(f"release never reached {phase}")


@pytest.mark.parametrize(
    ("phase", "image", "spec"),
    [
        ("Deploying", "slow", {"deploy_timeout": "30s"}),
        ("Verifying", "v2", {"analysis": SLOW_GATE}),
    ],
)
def test_a_release_killed_mid_step_fails_and_leaves_no_orphans(
    controller: Controller, phase: str, image: str, spec: dict[str, Any]
) -> None:
    name = controller.live_service(**spec)
    live = controller.status(name)["endpoints"]["live"] + "/version"

    with TrafficLoop(live, seconds=60) as loop:
        release = controller.release(name, image)
        wait_for_phase(controller, release, phase)
        time.sleep(0.5)
        controller.kill()
        controller.start()
        done = controller.api("GET", release["url"]).json()

    assert done["phase"] == "Failed"
    assert done["reason"] == f"controller restarted during {phase}"
    assert loop.failures == {}
    assert set(loop.answers) == {"200 v1"}
    assert containers_of(name, release["id"]) == []
    assert serving(controller, name, "preview") == ("v1", "blue")


def test_a_release_awaiting_promotion_waits_on_after_a_restart(
    controller: Controller,
) -> None:
    name = controller.live_service()
    staged = controller.ship(name, "v2")
    controller.kill()
    controller.start()
    assert controller.api("GET", staged["url"]).json()["phase"] == "AwaitingPromotion"
    assert serving(controller, name, "preview") == ("v2", "green")
    controller.promote(name)
    assert serving(controller, name, "live") == ("v2", "green")


def test_a_release_killed_while_watched_keeps_live_and_is_watched_again(
    controller: Controller,
) -> None:
    name = controller.live_service(post_verify={"duration": "4s", "interval": "200ms"})
    staged = controller.ship(name, "v2")
    live = controller.status(name)["endpoints"]["live"] + "/version"

    with TrafficLoop(live, seconds=60) as loop:
        controller.api("POST", f"/api/v1/services/{name}/promote")
        wait_for_phase(controller, staged, "PostVerifying")
        controller.kill()
        controller.start()
        done = controller.wait_phase(staged, {"Live", "RolledBack", "Failed"})

    assert done["phase"] == "Live", done["timeline"]
    assert any("restarted" in e["reason"] for e in done["timeline"])
    assert loop.failures == {}
    assert serving(controller, name, "live") == ("v2", "green")


def test_orphans_of_this_controller_are_removed_at_start(
    controller: Controller,
) -> None:
    name = controller.live_service()
    release = controller.release(name, "slow")
    wait_for_phase(controller, release, "Deploying")
    time.sleep(1.5)
    assert containers_of(name, release["id"])
    controller.kill()
    controller.start()
    assert containers_of(name, release["id"]) == []
    assert len(containers_of(name)) == 2


def test_a_flip_stored_before_the_crash_is_finished_not_undone(
    controller: Controller,
) -> None:
    name = controller.live_service()
    staged = controller.ship(name, "v2")
    controller.kill()
    # The store as a kill leaves it between recording the new live colour
    # and marking the release live.
    with sqlite3.connect(controller.state_dir / "bgctl.db") as db:
        db.execute("UPDATE services SET live_color = 'green' WHERE name = ?", (name,))
        db.execute(
            "UPDATE releases SET phase = 'Promoting' WHERE id = ?", (staged["id"],)
        )
    controller.start()
    done = controller.api("GET", staged["url"]).json()
    assert done["phase"] == "Live", done["reason"]
    assert serving(controller, name, "live") == ("v2", "green")
