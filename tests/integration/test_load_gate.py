"""A release's Locust gate on a real controller, proxy and engine."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Controller, serving

# Short and light: two users, ten requests a second per target, three seconds.
GATE = {
    "users": 2,
    "rate": 10,
    "duration": "3s",
    "max_p95": "300ms",
    "max_failure_share": 0.05,
    "min_requests": 10,
}


@pytest.fixture
def controller(module_controller: Controller) -> Controller:
    """The module's controller: every test here makes services of its own."""
    return module_controller


def reasons(release: dict[str, Any]) -> list[str]:
    return [str(entry["reason"]) for entry in release["timeline"]]


def test_a_healthy_release_passes_the_gate_with_its_figures_noted(
    controller: Controller,
) -> None:
    name = controller.live_service(load_gate=GATE)
    release = controller.ship(name, "v2")
    assert release["phase"] == "AwaitingPromotion"
    notes = [r for r in reasons(release) if r.startswith("load gate:")]
    assert len(notes) == 1, reasons(release)
    assert notes[0].endswith(": passed"), notes[0]
    assert "; live " in notes[0]
    results = controller.state_dir / "loadtests" / release["id"]
    assert (results / "locust.json").stat().st_size > 0


def test_an_erring_release_fails_the_gate_and_live_stays(
    controller: Controller,
) -> None:
    # Smoke checks ask /healthz, so only the load finds the errors on /.
    name = controller.live_service(
        smoke=[{"path": "/healthz"}], load_gate=GATE | {"max_p95_ratio": 50}
    )
    release = controller.wait_phase(
        controller.release(name, "errors"), {"AwaitingPromotion", "Failed"}
    )
    assert release["phase"] == "Failed", release
    reason = reasons(release)[-1]
    assert reason.startswith("load gate: preview "), reason
    assert "; live " in reason and ", 0.0%, p95 " in reason
    assert "above max_failure_share 5.0%" in reason
    assert serving(controller, name, "live") == ("v1", "blue")


def test_an_abort_during_the_gate_kills_locust_at_once(
    controller: Controller,
) -> None:
    name, _, log = long_gate_started(controller)
    asked = time.monotonic()
    response = controller.api("POST", f"/api/v1/services/{name}/abort")
    assert response.status_code == 200, response.text
    assert response.json()["phase"] == "Aborted"
    assert time.monotonic() - asked < 5
    assert not locust_running(str(log.parent))
    assert serving(controller, name, "live") == ("v1", "blue")


def test_a_controller_killed_during_the_gate_leaves_no_locust_behind(
    controller: Controller,
) -> None:
    name, release, log = long_gate_started(controller)

    controller.kill(signal.SIGKILL)

    wait_for(lambda: not locust_running(str(log.parent)), 5)
    controller.start()
    ended = controller.api("GET", release["url"]).json()
    assert ended["phase"] == "Failed", ended
    assert serving(controller, name, "live") == ("v1", "blue")


def long_gate_started(controller: Controller) -> tuple[str, dict[str, Any], Path]:
    """A service whose v2 release is in a minute-long gate: Locust's log."""
    name = controller.live_service(load_gate=GATE | {"duration": "60s"})
    release = controller.release(name, "v2")
    log = controller.state_dir / "loadtests" / release["id"] / "locust.log"
    wait_for(log.exists, 30)
    return name, release, log


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds}s in vain"
        time.sleep(0.1)


def locust_running(out_dir: str) -> bool:
    """Whether a process whose command line names ``out_dir`` still runs."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if out_dir.encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False
