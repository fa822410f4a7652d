"""Verification hooks on a real controller: on preview before the flip, on live
after it, with their exit code and output in the release's timeline."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Controller, containers_of, service_spec, serving, unique_name

# Fetch /version from the target URL; fail unless it is the wanted version.
EXPECT_VERSION = """
import os, sys, urllib.request
url = os.environ["BGCTL_TARGET_URL"] + "/version"
got = urllib.request.urlopen(url, timeout=5).read().decode().strip()
print("GET", url, "->", got)
sys.exit(0 if got == sys.argv[1] else 1)
"""

# Append what the hook was given to a file, one JSON line per run.
RECORD_ENV = """
import json, os, sys
keys = ("BGCTL_TARGET_URL", "BGCTL_SERVICE", "BGCTL_RELEASE", "BGCTL_COLOR")
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({k: os.environ[k] for k in keys}) + "\\n")
"""


@pytest.fixture
def controller(module_controller: Controller) -> Controller:
    """The module's controller: every test here makes services of its own."""
    return module_controller


def expect_version(version: str) -> list[str]:
    return [sys.executable, "-c", EXPECT_VERSION, version]


def live_on_v1(controller: Controller) -> str:
    name = unique_name()
    controller.register(service_spec(name))
    controller.ship(name, "v1")
    controller.promote(name)
    return name


def with_hook(controller: Controller, name: str, **hook: Any) -> None:
    controller.register(controller.status(name)["spec"] | {"verify_hook": hook})


def notes(release: dict[str, Any], prefix: str) -> list[str]:
    return [e["reason"] for e in release["timeline"] if e["reason"].startswith(prefix)]


def test_a_hook_runs_on_preview_then_on_live_with_the_release_in_its_env(
    controller: Controller, tmp_path: Path
) -> None:
    name = live_on_v1(controller)
    record = tmp_path / "hook-env.jsonl"
    script = RECORD_ENV.replace("sys.argv[1]", repr(str(record))) + EXPECT_VERSION
    with_hook(controller, name, command=[sys.executable, "-c", script, "v2"])

    staged = controller.ship(name, "v2")
    done = controller.promote(name)

    assert done["phase"] == "Live"
    endpoints = controller.status(name)["endpoints"]
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    assert runs == [
        {
            "BGCTL_TARGET_URL": endpoints[endpoint],
            "BGCTL_SERVICE": name,
            "BGCTL_RELEASE": staged["id"],
            "BGCTL_COLOR": "green",
        }
        for endpoint in ("preview", "live")
    ]
    (preview,) = notes(staged, "verification hook on preview passed: exit code 0")
    assert f"GET {endpoints['preview']}/version -> v2" in preview
    (live,) = notes(done, "verification hook on live passed: exit code 0")
    assert f"GET {endpoints['live']}/version -> v2" in live


def test_a_failing_hook_on_preview_fails_the_release_with_its_output(
    controller: Controller,
) -> None:
    name = live_on_v1(controller)
    script = "echo checking $BGCTL_TARGET_URL; echo 'no such user' >&2; exit 3"
    with_hook(controller, name, command=["sh", "-c", script], phase="preview")

    release = controller.release(name, "v2")
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})

    assert done["phase"] == "Failed"
    assert done["reason"].startswith("verification hook on preview failed: exit code 3")
    preview = controller.status(name)["endpoints"]["preview"]
    note, last = notes(done, "verification hook on preview failed")
    assert last == done["reason"]
    assert note.endswith(f"last output:\nchecking {preview}\nno such user")
    assert containers_of(name, release["id"]) == []
    assert serving(controller, name, "live") == ("v1", "blue")


def test_a_hook_past_its_timeout_is_killed_and_fails_the_release(
    controller: Controller,
) -> None:
    name = live_on_v1(controller)
    with_hook(
        controller,
        name,
        command=["sh", "-c", "echo probing; sleep 60"],
        timeout="1s",
        phase="preview",
    )

    release = controller.release(name, "v2")
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})

    assert done["phase"] == "Failed"
    assert "timed out and was killed" in done["reason"]
    note, last = notes(done, "verification hook on preview failed")
    assert last == done["reason"]
    assert note.endswith("last output:\nprobing")
    took = [e["at"] for e in done["timeline"]]
    assert _seconds_between(took[0], took[-1]) < 20


def test_a_failing_hook_on_live_flips_back(controller: Controller) -> None:
    name = live_on_v1(controller)
    with_hook(controller, name, command=expect_version("v1"), phase="live")
    staged = controller.ship(name, "v2")
    assert notes(staged, "verification hook") == []  # it runs on live only

    controller.api("POST", f"/api/v1/services/{name}/promote")
    done = controller.wait_phase(staged, {"Live", "RolledBack"})

    assert done["phase"] == "RolledBack"
    assert done["reason"].startswith("verification hook on live failed: exit code 1")
    assert done["reason"].endswith("live back on blue")
    note, last = notes(done, "verification hook on live failed")
    assert last == done["reason"]
    assert note.endswith("/version -> v2")
    assert serving(controller, name, "live") == ("v1", "blue")


def test_an_abort_stops_a_hook_on_live_and_flips_back(
    controller: Controller,
) -> None:
    name = live_on_v1(controller)
    with_hook(controller, name, command=["sleep", "60"], timeout="2m", phase="live")
    staged = controller.ship(name, "v2")
    controller.api("POST", f"/api/v1/services/{name}/promote")
    assert serving(controller, name, "live") == ("v2", "green")

    started = time.monotonic()
    response = controller.api("POST", f"/api/v1/services/{name}/abort")

    assert response.json()["phase"] == "Aborted", response.text
    assert time.monotonic() - started < 10
    assert serving(controller, name, "live") == ("v1", "blue")
    assert notes(controller.api("GET", staged["url"]).json(), "verification hook")


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
