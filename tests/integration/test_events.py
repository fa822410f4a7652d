"""The event stream on a real controller: phases in order, one service only,
followed by the CLI, and ended promptly when the controller stops."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from tests.harness import Controller, service_spec, unique_name

LIFECYCLE = ["Pending", "Deploying", "Verifying", "AwaitingPromotion", "Promoting"]
# time, release (watch only), phase, reason
EVENT_LINE = re.compile(r"^  \S+ (?:[0-9a-f]{8} )?(\w+): ", re.MULTILINE)


class Follower:
    """Reads one event stream in a thread until ``until`` holds or time is up."""

    def __init__(self, controller: Controller, query: str, seconds: float) -> None:
        self.url = f"{controller.url}/api/v1/events?{query}"
        self.headers = controller.bearer("viewer")
        self.seconds = seconds
        self.events: list[dict[str, Any]] = []
        self.until = lambda event: event["type"].startswith("stream.")
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Follower:
        self._thread.start()
        assert self.connected.wait(10), "the stream did not open"
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(self.seconds)

    def _read(self) -> None:
        deadline = time.monotonic() + self.seconds
        timeout = httpx.Timeout(5, read=self.seconds)
        with httpx.stream("GET", self.url, headers=self.headers, timeout=timeout) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                self.connected.set()
                if line.startswith("data: "):
                    self.events.append(json.loads(line.removeprefix("data: ")))
                    if self.until(self.events[-1]):
                        return
                if time.monotonic() > deadline:
                    return


def test_a_release_s_phases_arrive_in_order_for_its_service_only(
    module_controller: Controller,
) -> None:
    name = module_controller.live_service()
    v1 = live_release(module_controller.status(name)["colors"])
    other = unique_name()
    module_controller.register(service_spec(other))
    follower = Follower(module_controller, f"service={name}", seconds=90)
    follower.until = lambda e: e.get("phase") == "Live" and e["release"] != v1
    with follower:
        module_controller.release(other, "v1")  # runs alongside; must not be seen
        release = module_controller.ship(name, "v2")
        module_controller.promote(name)

    events = follower.events
    assert {e["service"] for e in events} == {name}
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    phases = [
        e["phase"]
        for e in events
        if e["type"] == "release.phase" and e["release"] == release["id"]
    ]
    assert [p for p in phases if p != "PostVerifying"] == [*LIFECYCLE, "Live"]


def live_release(colors: list[dict[str, Any]]) -> str:
    """The release the live colour holds."""
    found: str = next(c["release"] for c in colors if c["role"] == "live")
    return found


def test_deploy_wait_prints_the_phases_from_the_stream_and_watch_follows(
    module_controller: Controller,
) -> None:
    name = unique_name()
    module_controller.register(service_spec(name))
    token = {"BGCTL_TOKEN": module_controller.tokens["admin"]}
    watch = watch_process(module_controller, name, token)
    try:
        result = module_controller.cli("deploy", name, "v1", "--wait", **token)
        time.sleep(0.5)  # the watch prints the last phase
        watch.send_signal(signal.SIGINT)
        watched, _ = watch.communicate(timeout=10)
    finally:
        watch.kill()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "polling" not in result.stderr  # the stream was followed
    shown = [m[1] for m in EVENT_LINE.finditer(result.stdout)]
    assert list(dict.fromkeys(shown)) == LIFECYCLE[:4]
    assert "is AwaitingPromotion" in result.stdout.splitlines()[-1]
    assert watch.returncode == 0
    assert [m[1] for m in EVENT_LINE.finditer(watched)][-1] == "AwaitingPromotion"


def watch_process(
    controller: Controller, service: str, env: dict[str, str]
) -> subprocess.Popen[str]:
    """``bgctl status SERVICE --watch`` running, once it printed its summary."""
    clean = dict(controller.env(), BGCTL_URL=controller.url, **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "status", service, "--watch"],
        env=clean,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(f"service {service}:")
    return process


def test_the_controller_stops_promptly_with_a_stream_open(
    controller: Controller,
) -> None:
    follower = Follower(controller, "types=release.phase", seconds=30)
    with follower:
        started = time.monotonic()
        controller.kill(signal.SIGTERM)
        stopped = time.monotonic() - started
    assert stopped < 5, f"stopping took {stopped:.1f}s"
    assert [e["type"] for e in follower.events] == ["stream.closed"]
